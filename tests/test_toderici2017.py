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
