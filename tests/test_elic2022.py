"""elic2022, the space-channel context model (fastcodec.latent.space_channel): it starts as the
mean-scale hyperprior it is warm-started from, no entropy parameter ever sees its own symbol or a
later one, the decoder rebuilds the encoder's latent, and the context stage of training
(fastcodec.train.fit_context) trains the context networks alone and resumes."""
import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fastcodec.layers import anchor_mask  # noqa: E402
from fastcodec.latent.space_channel import default_groups  # noqa: E402
from fastcodec.models import build  # noqa: E402

CONTEXT = ("hyper_embedding", "channel_context", "spatial_context", "param_aggregation")


def _pair(seed=0):
    """(elic2022, mbt2018-mean) of N=16, M=24 with the same transforms and hyperprior."""
    torch.manual_seed(seed)
    base = build("mbt2018-mean", N=16, M=24)
    with torch.no_grad():
        base.gains.log_gain.add_(2.0)       # non-trivial latents from random weights
        base.gains.log_inv_gain.sub_(2.0)
    elic = build("elic2022", N=16, M=24)
    missing, unexpected = elic.load_state_dict(base.state_dict(), strict=False)
    assert not unexpected and all(k.split(".")[0] in CONTEXT
                                  for k in missing)
    return elic.eval(), base.eval()


def _randomize_context(model, seed=1, std=0.05):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.split(".")[0] in CONTEXT:
                p.copy_(torch.randn(p.shape, generator=g) * std)


def _coded(model, x, q):
    """(quality tensor, y, z, the coded streams, latent size) of image x at quality q."""
    qt = model._q(q)
    with torch.no_grad():
        xp, _, latent = model.prepare(x, q)
        y, z = model.encode_latents(xp, qt)
    return qt, y, z, model.code_latents(y, z, qt), latent


def test_default_groups():
    assert default_groups(192) == (16, 16, 32, 64, 64)
    assert default_groups(320) == (16, 16, 32, 64, 192)
    assert sum(default_groups(24)) == 24 and len(default_groups(24)) == 5
    with pytest.raises(ValueError, match="groups"):
        build("elic2022", N=16, M=24, groups=(8, 8, 4))


def test_config_rebuilds_the_model():
    m = build("elic2022", N=16, M=24, groups=(4, 4, 16), context_hidden=8)
    cfg = m.config()
    assert cfg["groups"] == [4, 4, 16] and cfg["context_hidden"] == 8
    twin = build("elic2022", **json.loads(json.dumps(cfg)))
    assert [(k, v.shape) for k, v in twin.state_dict().items()] == [(k, v.shape) for k, v in m.state_dict().items()]


def test_a_fresh_model_codes_as_its_mean_scale_hyperprior():
    """The aggregation's last layers start at zero: the same likelihoods and the same decoded image
    as mbt2018-mean on the same transforms (the symbols are coded in another order)."""
    elic, base = _pair()
    x = torch.rand(1, 3, 128, 192, generator=torch.Generator().manual_seed(2))  # a multiple of 64: the training pass does not pad
    q = torch.tensor([3])
    with torch.no_grad():
        a, b = elic(x, q), base(x, q)
    for name in ("y", "z"):
        assert torch.allclose(a["likelihoods"][name], b["likelihoods"][name], rtol=1e-5, atol=1e-7)
    ca, cb = elic.compress(x, 3), base.compress(x, 3)
    assert ca["strings"][0] == cb["strings"][0]                       # the same side stream
    assert abs(len(ca["strings"][1]) - len(cb["strings"][1])) <= 8    # y: the same symbols and tables
    assert torch.equal(elic.decompress(ca["strings"], ca["latent"], ca["size"], 3),
                       base.decompress(cb["strings"], cb["latent"], cb["size"], 3))


@pytest.mark.parametrize("size", [(1, 1), (64, 64), (70, 129)])
def test_the_decoder_rebuilds_the_encoders_latent(size):
    elic, _ = _pair()
    _randomize_context(elic)
    x = torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(3))
    for q in (0, 7):
        qt, y, z, strings, latent = _coded(elic, x, q)
        y_hat = elic.latent_codec.decompress(strings, latent)
        # each element decoded to its own symbol around the mean the encoder used
        assert float((y_hat - y).abs().max()) <= 0.5 + 1e-4
        # and the training pass (eval mode: rounding) predicts the same latent
        with torch.no_grad():
            trained, _ = elic.latent_codec.forward(y, qt)
        assert float((trained - y_hat).abs().max()) < 1e-3
        x_hat = elic.decompress(strings, latent, size, q)
        assert x_hat.shape == x.shape


@pytest.mark.parametrize("k", [0, 1, 2, 4])
def test_no_entropy_parameter_sees_its_own_symbol_or_a_later_one(k):
    """Gradients of group k's (scale, mean) at one position with respect to y: zero for every later
    group, for the group's own non-anchors, and for its own anchors where the position is itself an
    anchor; not zero for what it may see (earlier groups; the group's anchors around a non-anchor)."""
    elic, _ = _pair()
    _randomize_context(elic, std=0.2)
    codec = elic.latent_codec
    H, W = 8, 9
    y = (torch.randn(1, 24, H, W, generator=torch.Generator().manual_seed(4)) * 3).requires_grad_()
    hyper = torch.randn(1, 48, H, W, generator=torch.Generator().manual_seed(5))
    start, stop = codec.starts[k], codec.starts[k] + codec.groups[k]
    anchors = anchor_mask(H, W)[0, 0]
    for (r, c) in ((4, 4), (4, 5)):                          # an anchor, a non-anchor
        scales, means, _ = codec._train_passes(y, hyper, lambda t: t, autocast=False)
        out = scales[0, start:stop, r, c].sum() + means[0, start:stop, r, c].sum()
        (grad,) = torch.autograd.grad(out, y)
        g = grad[0].abs()
        assert float(g[stop:].sum()) == 0.0                   # later groups
        own = g[start:stop]
        assert float(own[:, ~anchors].sum()) == 0.0           # the group's non-anchors, itself included
        if anchors[r, c]:
            assert float(own.sum()) == 0.0                    # an anchor sees none of its group
        else:
            assert float(own[:, anchors].sum()) > 0.0        # a non-anchor sees the anchors around it
        if k > 0:
            assert float(g[:start].sum()) > 0.0               # the earlier groups


def test_training_forward_and_backward_reach_every_context_network():
    elic, _ = _pair()
    _randomize_context(elic)
    elic.train()
    x = torch.rand(2, 3, 64, 64)
    out = elic(x, torch.tensor([0, 7]))
    loss = sum(-torch.log2(v).sum() for v in out["likelihoods"].values()) + out["x_hat"].square().mean()
    loss.backward()
    for name, p in elic.named_parameters():
        if name.split(".")[0] in CONTEXT:
            assert p.grad is not None and float(p.grad.abs().sum()) > 0, name


def test_fit_context_trains_the_context_networks_alone_and_resumes(tmp_path):
    from fastcodec.train.fit_context import context_parameters, fit_context

    elic, _ = _pair()
    elic.rate_quantization = "round"
    g = torch.Generator().manual_seed(6)
    y_cache = torch.randn(16, 24, 4, 4, generator=g) * 4
    y_cache[:, 12:] += y_cache[:, :12] * 0.8                 # channel correlation to learn
    q_cache = torch.arange(16) % 8
    frozen = {k: v.clone() for k, v in elic.state_dict().items()
              if k.split(".")[0] not in CONTEXT}
    before = {k: p.detach().clone() for k, p in context_parameters(elic).items()}
    logs = []
    assert fit_context(elic, y_cache, q_cache, tmp_path, steps=30, batch=4, lr=1e-3, log=logs.append,
                       log_every=10) == 30
    state = elic.state_dict()
    assert all(torch.equal(state[k], v) for k, v in frozen.items())
    assert any(not torch.equal(state[k], v) for k, v in before.items())
    ckpt = torch.load(tmp_path / "ckpt.pt", weights_only=True)
    assert ckpt["step"] == 30 and "ema" in ckpt and json.loads(ckpt["config"])["M"] == 24
    twin, _ = _pair()
    assert fit_context(twin, y_cache, q_cache, tmp_path, steps=40, batch=4, lr=1e-3, log=logs.append,
                       log_every=10) == 40
    assert any("resumed" in line for line in logs)
    assert torch.equal(twin.state_dict()["param_aggregation.0.0.weight"],
                       torch.load(tmp_path / "ckpt.pt", weights_only=True)["model"]["param_aggregation.0.0.weight"])
    lines = [json.loads(l) for l in (tmp_path / "log.jsonl").read_text().splitlines()]
    assert [rec["step"] for rec in lines] == [10, 20, 30, 40]
    assert all(np.isfinite(v) for rec in lines for v in rec["bpp"])


def test_fit_context_validates_against_its_start_across_a_resume(tmp_path):
    from fastcodec.train.fit_context import fit_context

    elic, _ = _pair()
    elic.rate_quantization = "round"
    g = torch.Generator().manual_seed(8)
    y_cache = torch.randn(8, 24, 4, 4, generator=g) * 4
    q_cache = torch.arange(8) % 8
    val = [(torch.randn(1, 24, 4, 4, generator=g) * 4, torch.tensor([q]), 64 * 64) for q in (0, 7)]
    logs = []
    fit_context(elic, y_cache, q_cache, tmp_path, steps=4, batch=4, val=val, val_every=2, log=logs.append)
    start = json.loads(logs[0])["val_bpp_start"]
    assert set(start) == {"1", "8"}
    twin, _ = _pair()
    fit_context(twin, y_cache, q_cache, tmp_path, steps=6, batch=4, val=val, val_every=2, log=logs.append)
    recs = [json.loads(l) for l in (tmp_path / "log.jsonl").read_text().splitlines() if "vs_start_pct" in l]
    assert [r["step"] for r in recs] == [2, 4, 6]
    # the resumed run compares with the rates of the first start, not of its own
    last = recs[-1]
    assert all(abs(last["vs_start_pct"][k] - 100 * (last["val_bpp_ema"][k] / start[k] - 1)) < 1e-3 for k in start)


# -- the integer path ----------------------------------------------------------------------------
def _frozen(seed=0):
    """A small elic2022 with non-trivial context networks and a frozen integer prior path."""
    elic, _ = _pair(seed)
    _randomize_context(elic, std=0.05)
    g = torch.Generator().manual_seed(7)
    calibration = []
    for q in (0, 7):
        x = torch.rand(1, 3, 128, 128, generator=g)
        with torch.no_grad():
            xp, qt, _ = elic.prepare(x, q)
            calibration.append(elic.encode_latents(xp, qt))
    elic.freeze_prior(calibration)
    assert elic.int_context is not None and elic.int_h_s is not None
    return elic


@pytest.fixture(scope="module")
def frozen():
    return _frozen()


def _image(seed=8, size=(70, 129)):
    return torch.rand(1, 3, *size, generator=torch.Generator().manual_seed(seed))


def test_integer_path_reference_and_core_code_the_same_bits(frozen):
    x = _image()
    for q in (0, 7):
        frozen.context_backend = "core"
        core = frozen.compress(x, q)
        x_core = frozen.decompress(core["strings"], core["latent"], core["size"], q)
        frozen.context_backend = "reference"
        try:
            ref = frozen.compress(x, q)
            x_ref = frozen.decompress(core["strings"], core["latent"], core["size"], q)
        finally:
            frozen.context_backend = "core"
        assert ref["strings"] == core["strings"]
        assert torch.equal(x_ref, x_core)


def test_integer_path_decodes_the_encoders_latent_and_codes_like_the_float_path(frozen):
    x = _image(9, (128, 192))
    qt, y, z, strings, latent = _coded(frozen, x, 5)
    y_hat = frozen.latent_codec.decompress(strings, latent)
    assert float((y_hat - y).abs().max()) <= 0.5 + 1e-4
    # exactly the encoder's latent: its own passes' symbols and means
    codec = frozen.latent_codec
    net = codec.int_context
    y64 = y[0].double()

    def encoder_code(k, mask, index, mean):
        st = codec.starts[k]
        mu = mean.double() * torch.pow(2.0, -net.mean_frac(k).double())[:, None]
        return torch.round(y64[st:st + codec.groups[k]][:, mask] - mu).to(torch.int64)

    symbols, means = net.passes(codec._hyper_int(torch.round(z)), encoder_code)
    assert torch.equal(net.latent(symbols, means), y_hat)
    saved, codec.int_context = codec.int_context, None
    try:
        float_strings = codec.compress(y, z)
    finally:
        codec.int_context = saved
    # fixed point with a format per channel: within a few percent of the float networks' bits
    assert abs(len(strings[1]) / len(float_strings[1]) - 1) < 0.05


def test_the_integer_path_ships_with_the_weights_and_is_checked_at_load(frozen):
    x = _image(10)
    blob = frozen.compress(x, 3)["strings"]
    tensors = frozen.extra_state()
    assert any(k.startswith("int_sc.") for k in tensors) and not any(k.endswith("weight_q") for k in tensors)
    twin = build("elic2022", **frozen.config())
    twin.load_state_dict(frozen.state_dict())
    twin.load_extra_state(tensors)
    assert twin.int_context is not None
    assert twin.eval().compress(x, 3)["strings"] == blob
    # float weights that do not match the shipped integers are refused
    twin = build("elic2022", **frozen.config())
    state = frozen.state_dict()
    state["param_aggregation.0.0.weight"] = state["param_aggregation.0.0.weight"] * 1.5
    twin.load_state_dict(state)
    with pytest.raises(ValueError, match="digest"):
        twin.load_extra_state(tensors)


def test_a_damaged_stream_raises_a_bitstream_error(frozen):
    from fastcodec import BitstreamError

    c = frozen.compress(_image(11), 7)
    y_stream = c["strings"][1]
    for bad in (y_stream[: len(y_stream) // 2], b"", bytes(len(y_stream))):
        with pytest.raises(BitstreamError):
            frozen.decompress([c["strings"][0], bad], c["latent"], c["size"], 7)


def test_the_integer_path_codes_the_same_bits_on_any_thread_count(frozen, monkeypatch):
    import fastcodec.integer.space_channel as space_channel

    x = _image(12, (96, 160))
    blobs = []
    for small, threads in ((0, 1), (0, 2), (10 ** 9, 2)):   # every network on 1 or 2 threads
        monkeypatch.setattr(space_channel, "SMALL_POSITIONS", small)
        before = torch.get_num_threads()
        torch.set_num_threads(threads)
        try:
            blobs.append(frozen.compress(x, 6)["strings"])
        finally:
            torch.set_num_threads(before)
    assert blobs[0] == blobs[1] == blobs[2]


def test_corrupted_files_decode_or_raise_a_bitstream_error(frozen, tmp_path):
    """Every byte flip, truncation and length change of a small elic2022 file through the API:
    an image of the announced size or a BitstreamError, nothing else."""
    import fastcodec
    from fastcodec.train.export import export

    export(frozen, "elic-test", 0, zoo_dir=tmp_path)
    path = str(tmp_path / "weights" / "elic-test.safetensors")
    im = (np.random.default_rng(13).random((40, 56, 3)) * 255).astype(np.uint8)
    blob = fastcodec.load(path, 5).encode(im)
    header = fastcodec.bitstream.read_header(blob)
    rng = np.random.default_rng(14)
    outcomes = {"image": 0, "error": 0}
    for trial in range(150):
        data = bytearray(blob)
        if trial % 3 == 0:
            data = data[: rng.integers(1, len(data))]
        else:   # payload bytes only, CRCs recomputed: the mutation reaches the stream decoders
            _, streams = fastcodec.bitstream.unpack(blob)
            s = rng.integers(len(streams))
            st = bytearray(streams[s])
            for _ in range(rng.integers(1, 4)):
                st[rng.integers(len(st))] ^= 1 << int(rng.integers(8))
            streams = list(streams)
            streams[s] = bytes(st)
            data = fastcodec.bitstream.pack(header.model_id, header.rate, header.height, header.width,
                                            header.color, streams)
        try:
            out = fastcodec.decode(bytes(data), model=path)
            assert out.shape == im.shape and out.dtype == np.uint8
            outcomes["image"] += 1
        except fastcodec.BitstreamError:
            outcomes["error"] += 1
    assert outcomes["error"] > 0          # (the rANS streams' end checks catch nearly every flip)
    assert fastcodec.decode(blob, model=path).shape == im.shape


def test_fit_context_resumed_from_the_command_line_validates_on_the_same_transforms(tmp_path, capsys):
    """A resumed run rebuilds its model from the checkpoint: the validation latents must come from
    the checkpoint's (frozen, trained) transforms, not from a fresh model's random ones."""
    from PIL import Image

    from fastcodec.train.fit_context import main

    rng = np.random.default_rng(30)
    for d in ("train", "val"):
        (tmp_path / d).mkdir()
        Image.fromarray(rng.integers(0, 256, (96, 128, 3), dtype=np.uint8)).save(tmp_path / d / "a.png")
    args = ["--init", "mbt2018-mean", "--data", str(tmp_path / "train"), "--val", str(tmp_path / "val"),
            "--out", str(tmp_path / "run"), "--crops", "8", "--crop", "64", "--batch", "4", "--val-every", "2",
            "--threads", "1"]
    main(args + ["--steps", "2"])
    main(args + ["--steps", "4"])
    recs = [json.loads(l) for l in (tmp_path / "run" / "log.jsonl").read_text().splitlines() if "vs_start_pct" in l]
    assert [r["step"] for r in recs] == [2, 4]
    assert all(abs(v) < 1.0 for r in recs for v in r["vs_start_pct"].values())   # percent: same latents
