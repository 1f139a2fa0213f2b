"""toderici2017, the progressive recurrent coder: its bits as streams (fastcodec.models.recurrent_bits),
every prefix of a file decoding to the encoder's own reconstruction after that many iterations,
training through `fastcodec train`'s loop, and the container's progressive cuts through the API."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import fastcodec  # noqa: E402
from fastcodec.errors import BitstreamError  # noqa: E402
from fastcodec.models import build  # noqa: E402
from fastcodec.models.recurrent_bits import decode_bits, encode_bits  # noqa: E402


def _model(seed=0, iterations=6):
    torch.manual_seed(seed)
    return build("toderici2017", width=0.125, iterations=iterations).eval()


def test_widths_follow_the_paper():
    full = build("toderici2017", width=1.0)
    assert [c.hidden for c in full.encoder.rnn] == [256, 512, 512]
    assert [c.hidden for c in full.decoder.rnn] == [512, 512, 256, 128]
    assert full.binarizer.out_channels == 32
    assert build("toderici2017").config() == {} and _model().config() == {"iterations": 6, "width": 0.125}
    assert build("toderici2017").rate_spec.progressive_steps == 16


def test_bits_round_trip_and_cost_less_than_raw_when_skewed():
    rng = np.random.default_rng(0)
    p = np.linspace(0.02, 0.5, 32)[:, None, None]
    bits = (rng.random((32, 9, 13)) < p).astype(np.uint8)
    data = encode_bits(bits)
    assert np.array_equal(decode_bits(data, bits.shape), bits)
    assert len(data) < bits.size / 8
    for bad in (data[:10], bytes(32) + data[32:], data[:-1]):
        with pytest.raises(BitstreamError):
            decode_bits(bad, bits.shape)
    with pytest.raises(ValueError, match="bits"):
        encode_bits(np.full((2, 2, 2), 2, np.uint8))


def test_stochastic_binarization_is_unbiased_with_a_straight_through_gradient():
    from fastcodec.models.toderici2017 import stochastic_sign

    torch.manual_seed(1)
    t = torch.full((200000,), 0.3, requires_grad=True)
    b = stochastic_sign(t)
    assert set(b.detach().unique().tolist()) == {-1.0, 1.0}
    assert abs(float(b.detach().mean()) - 0.3) < 0.01
    b.sum().backward()
    assert torch.equal(t.grad, torch.ones_like(t))


@pytest.mark.parametrize("size", [(1, 1), (16, 16), (37, 50)])
def test_every_prefix_decodes_to_the_encoders_reconstruction(size):
    model = _model()
    x = torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(2))
    streams = model.encode_image(x, 6)
    assert len(streams) == 6
    xp = model._pad(x)
    with torch.no_grad():
        encoder_side = [x_hat for _, x_hat in model.iterate(xp, 6)]
    for k in range(1, 7):
        decoded = model.decode_image(streams[:k], size, 6)
        assert torch.equal(decoded, encoder_side[k - 1][:, :, : size[0], : size[1]].clamp(0, 1))
    # fewer iterations at encode time: the same streams as the prefix
    assert model.encode_image(x, 3) == streams[:3]
    with pytest.raises(ValueError):
        model.decode_image([], size, 6)


def test_training_reaches_every_parameter_and_the_loop_validates_step_counts(tmp_path):
    from fastcodec.train.loop import train, validate

    model = _model(iterations=4).train()
    x = torch.rand(2, 3, 32, 32)
    out = model(x)
    assert out["l1"].shape == (2,) and len(out["reconstructions"]) == 4
    out["l1"].mean().backward()
    assert all(p.grad is not None and float(p.grad.abs().sum()) > 0 for p in model.parameters())

    class Sampler:
        def batch(self, rng, batch_size, crop):
            return torch.from_numpy(rng.random((batch_size, 3, crop, crop), dtype=np.float32))

    model = _model(iterations=4)
    train(model, Sampler(), tmp_path / "run", 2, batch_size=2, crop=32, log_every=1, autocast=False)
    assert (tmp_path / "run" / "ckpt.pt").exists()
    images = [np.random.default_rng(3).integers(0, 256, (48, 64, 3), dtype=np.uint8)]   # no padding
    result = validate(model, images, qualities=(0, 3, 7))
    assert set(result) == {"q1", "q4"}                     # step counts beyond the model's 4 left out
    assert result["q4"]["bpp"] == pytest.approx(4 / 8)


def test_the_container_cuts_between_iterations(tmp_path):
    from fastcodec.train.export import export

    export(_model(), "toderici2017", 0, zoo_dir=tmp_path)
    path = str(tmp_path / "weights" / "toderici2017.safetensors")
    im = np.random.default_rng(4).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    blob = fastcodec.load(path, 6).encode(im)
    from fastcodec.zoo import load_model

    model = load_model(path)          # the fp16-stored weights, as the API runs them
    x = torch.from_numpy(im).permute(2, 0, 1)[None].float() / 255
    for k in (1, 3, 6):
        cut = fastcodec.truncate(blob, k)
        decoded = fastcodec.decode(cut, model=path).astype(np.int16)
        expected = model.decode_image(model.encode_image(x, k), im.shape[:2], k)[0].permute(1, 2, 0).numpy() * 255
        assert np.abs(decoded - expected).max() <= 0.5 + 1e-3          # the same image, rounded to 8 bits
        assert np.array_equal(fastcodec.decode(fastcodec.load(path, k).encode(im), model=path), decoded)
        assert len(cut) < len(blob) or k == 6


def test_corrupted_files_decode_or_raise_a_bitstream_error(tmp_path):
    from fastcodec.train.export import export

    export(_model(), "toderici-test", 0, zoo_dir=tmp_path)
    path = str(tmp_path / "weights" / "toderici-test.safetensors")
    im = np.random.default_rng(15).integers(0, 256, (40, 56, 3), dtype=np.uint8)
    blob = fastcodec.load(path, 4).encode(im)
    header = fastcodec.bitstream.read_header(blob)
    rng = np.random.default_rng(16)
    outcomes = {"image": 0, "error": 0}
    for trial in range(150):
        if trial % 3 == 0:
            data = blob[: rng.integers(1, len(blob))]
            kwargs = {"allow_truncated": bool(trial % 2)}
        else:
            _, streams = fastcodec.bitstream.unpack(blob)
            streams = list(streams)
            s = rng.integers(len(streams))
            st = bytearray(streams[s])
            st[rng.integers(len(st))] ^= 1 << int(rng.integers(8))
            streams[s] = bytes(st)
            data = fastcodec.bitstream.pack(header.model_id, header.rate, header.height, header.width,
                                            header.color, streams, progressive=True)
            kwargs = {}
        try:
            out = fastcodec.decode(data, model=path, **kwargs)
            assert out.shape == im.shape and out.dtype == np.uint8
            outcomes["image"] += 1
        except BitstreamError:
            outcomes["error"] += 1
    assert outcomes["error"] > 0 and outcomes["image"] > 0


# -- the learned bit context (fastcodec.models.bit_context) ----------------------------------------
def _copy_sequences(n, iterations=4, flip=0.1, seed=20, shape=(32, 6, 8)):
    """Bits whose iteration t repeats iteration t - 1 but for a few flips: what a context that sees
    the previous iteration predicts and a per-channel count cannot."""
    g = torch.Generator().manual_seed(seed)
    seqs = []
    for _ in range(n):
        b = torch.where(torch.rand(1, *shape, generator=g) < 0.5, 1.0, -1.0)
        seq = [b]
        for _ in range(iterations - 1):
            b = torch.where(torch.rand(1, *shape, generator=g) < flip, -b, b)
            seq.append(b)
        seqs.append(seq)
    return seqs


def test_the_bit_context_learns_and_codes_fewer_bytes_than_the_semi_static_coder():
    from fastcodec.models.bit_context import BitContext
    from fastcodec.models.recurrent_bits import encode_bits
    from fastcodec.train.fit_bits import fit_bits

    torch.manual_seed(21)
    ctx = BitContext()
    seqs = _copy_sequences(128, shape=(32, 8, 8))     # enough that a 3x3 context cannot memorize them
    test = _copy_sequences(4, seed=22, shape=(32, 8, 8))
    held_out = lambda: float(ctx.bits_of([torch.cat([s[t] for s in test]) for t in range(4)]).detach())
    before = held_out()
    fit_bits(ctx, seqs, steps=150, batch=8, lr=3e-3, log=lambda s: None)
    # the floor: iteration 1 is random (1 bit), each later one 10 % flips (0.47 bits): 0.60
    assert before > 0.9 and held_out() < 0.8
    ctx.freeze(seqs[:4])
    for seq in test:
        streams = ctx.encode(seq)
        decoded = ctx.decode(streams, seq[0].shape[1:])
        assert all(torch.equal(a, b) for a, b in zip(decoded, seq))
        assert all(torch.equal(a, b) for a, b in zip(ctx.decode(streams[:2], seq[0].shape[1:]), seq[:2]))
        semi = sum(len(encode_bits((b[0] > 0).to(torch.uint8).numpy())) for b in seq[1:])
        assert sum(len(s) for s in streams[1:]) < 0.8 * semi


def test_a_coder_with_a_frozen_bit_context_ships_it_and_decodes_every_prefix(tmp_path):
    from fastcodec.train.export import export

    torch.manual_seed(23)
    model = build("toderici2017", width=0.125, iterations=4, bit_context=True).eval()
    model.freeze_bit_context([torch.rand(1, 3, 48, 64) for _ in range(2)])
    x = torch.rand(1, 3, 37, 50, generator=torch.Generator().manual_seed(24))
    streams = model.encode_image(x, 4)
    with torch.no_grad():
        encoder_side = [x_hat for _, x_hat in model.iterate(model._pad(x), 4)]
    for k in range(1, 5):
        assert torch.equal(model.decode_image(streams[:k], (37, 50), 4),
                           encoder_side[k - 1][:, :, :37, :50].clamp(0, 1))
    export(model, "tod-bits", 0, zoo_dir=tmp_path, calibration=[torch.rand(1, 3, 48, 64) for _ in range(2)])
    path = str(tmp_path / "weights" / "tod-bits.safetensors")
    from fastcodec.zoo import load_model

    shipped = load_model(path)
    assert shipped.bit_context.int_net is not None
    im = (x[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    blob = fastcodec.load(path, 4).encode(im)
    assert fastcodec.decode(blob, model=path).shape == im.shape
    with pytest.raises(BitstreamError):
        _, st = fastcodec.bitstream.unpack(blob)
        model.decode_image([st[0][: len(st[0]) // 2]], (37, 50), 4)
