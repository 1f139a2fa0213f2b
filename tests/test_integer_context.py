"""Integer context path (fastcodec.integer.context): exact int32 layers, the fused C++ coding loops
against the torch reference, bitstreams independent of threads / backend / transform precision,
and corrupt input -> BitstreamError."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

import fastcodec  # noqa: E402
from fastcodec import coding  # noqa: E402
from fastcodec.entropy.coders import GaussianCoder  # noqa: E402
from fastcodec.integer import freeze_sequential  # noqa: E402
from fastcodec.integer.context import (ACT_AMAX, CHECKERBOARD, WAVEFRONT, Int32Layer,  # noqa: E402
                                       freeze_context)
from fastcodec.entropy.coders import table_scales  # noqa: E402
from fastcodec.models import build  # noqa: E402

ARCHS = [("mbt2018", WAVEFRONT), ("he2021-checkerboard", CHECKERBOARD)]


def naive_layer(layer, a):
    """Python-int evaluation of an Int32Layer (no float, no numpy integer overflow)."""
    w = layer.weight_q.numpy().astype(object)
    out = []
    for row in a.tolist():
        vals = []
        for o in range(w.shape[0]):
            acc = sum(int(wk) * int(xk) for wk, xk in zip(w[o], row)) + int(layer.bias_q[o])
            sh = int(layer.shift[o])
            v = (acc + (1 << (sh - 1) if sh > 0 else 0)) >> sh
            v = max(-layer.amax, min(layer.amax, v))
            if layer.leaky >= 0 and v < 0:
                v = (v * layer.leaky + 2048) >> 12
            vals.append(v)
        out.append(vals)
    return np.array(out, dtype=np.int64)


def test_int32_layer_is_exact_and_cannot_overflow():
    torch.manual_seed(0)
    w = torch.randn(7, 40) * torch.rand(7, 1) * 3
    b = torch.randn(7)
    layer, _ = Int32Layer.freeze(w, b, in_frac=6, out_frac=2, leaky=41)
    q = layer.weight_q.to(torch.int64)
    bound = q.abs().sum(1) * layer.in_amax + layer.bias_q.abs().to(torch.int64) + (1 << (layer.shift.to(torch.int64) - 1))
    assert int(bound.max()) < 2 ** 31
    # worst cases: inputs at +-in_amax aligned with the weight signs, plus random ones
    worst = torch.sign(q).to(torch.int64) * layer.in_amax
    x = torch.cat([worst, -worst, torch.randint(-layer.in_amax, layer.in_amax + 1, (5, 40))])
    assert np.array_equal(layer(x).numpy(), naive_layer(layer, x))
    # and it approximates the float layer
    xf = torch.randint(-3000, 3000, (9, 40))
    ref = torch.nn.functional.leaky_relu(xf.double() * 2.0 ** -6 @ w.double().t() + b.double(), 41 / 4096)
    assert float((layer(xf).double() * 2.0 ** -2 - ref).abs().max()) < 0.02 * float(ref.abs().max())


def frozen(arch, order, seed=0, M=24):
    torch.manual_seed(seed)
    m = build(arch, N=16, M=M).eval()
    with torch.no_grad():
        x = torch.rand(1, 3, 128, 192)
        y = m.g_a(x) * 3
        z = torch.round(m.h_a(y))
        ihs = freeze_sequential(m.h_s.float(), [z])
        net = freeze_context(m, ihs, [(y, z)], order, table_scales())
        h_int = torch.round(ihs(z).double() * 2.0 ** ihs.out_frac).to(torch.int64)
    return m, net, net.hyper_input(h_int), np.ascontiguousarray(y[0].permute(1, 2, 0).numpy())


@pytest.mark.parametrize("arch,order", ARCHS)
def test_core_matches_reference(arch, order):
    _, net, hyper, y = frozen(arch, order)
    ref = net.encode_reference(hyper, y)
    core = net.encode(hyper, y)
    for a, b in zip(ref, core):
        assert np.array_equal(a, b)
    table = GaussianCoder.table()
    data = coding.encode(core[0], core[1], table)
    sym_c, mean_c = net.decode(hyper, table, data)
    sym_r, mean_r = net.decode_reference(hyper, table, data)
    assert np.array_equal(sym_c, sym_r) and np.array_equal(mean_c, mean_r)
    assert np.array_equal(mean_c, core[2])
    # the decoded latent is what the encoder rounded: |y_hat - y| <= 1/2 (no escapes here)
    assert float((net.latent(sym_c, mean_c)[0].permute(1, 2, 0) - torch.from_numpy(y)).abs().max()) <= 0.5 + 1e-6


@pytest.mark.parametrize("arch,order", ARCHS)
def test_integer_predictions_follow_the_float_network(arch, order):
    """The integer means equal the float networks' means of the same decoded latent (same hyper
    input) up to the fixed-point resolution: a few hundredths of the quantization step (1)."""
    m, net, hyper, y = frozen(arch, order)
    H, W, M = y.shape
    table = GaussianCoder.table()
    syms, idx, means = net.encode(hyper, y)
    y_hat = net.latent(*net.decode(hyper, table, coding.encode(syms, idx, table)))
    with torch.no_grad():
        hyp = torch.from_numpy(hyper.astype(np.float64)).permute(2, 0, 1)[None] * torch.pow(
            2.0, -net.in_fracs[:2 * M].double())[None, :, None, None]
        if order == CHECKERBOARD:
            from fastcodec.layers import anchor_mask

            a = anchor_mask(H, W)
            ctx = m.context_prediction.double()(y_hat.double() * a) * (~a)
        else:
            ctx = m.context_prediction.double()(y_hat.double())
        scales_f, means_f = m.entropy_parameters.double()(torch.cat([hyp, ctx], 1)).chunk(2, 1)
    means_i = torch.from_numpy(means.astype(np.float64)).permute(2, 0, 1)[None] * torch.pow(
        2.0, -net.mean_frac.double())[None, :, None, None]
    err = float((means_i - means_f).abs().max())
    assert err < 0.02 + 0.02 * float(means_f.abs().max()), err
    # table indexes: the float scale's index, off by at most one near a threshold
    from fastcodec.entropy.coders import scale_indexes

    idx_f = scale_indexes(scales_f.float())[0].transpose(1, 2, 0)
    pos_idx = idx.reshape(-1, M)
    order_pos = [p for ps, _ in net.passes(H, W) for p in ps.tolist()]
    idx_i = np.zeros((H * W, M), np.int32)
    idx_i[order_pos] = pos_idx
    diff = np.abs(idx_i.reshape(H, W, M) - idx_f)
    assert diff.max() <= 1 and diff.mean() < 0.05


def _hyper_only_means_error(m, scale_down=None):
    """Largest |integer - float| mean of the entropy parameters on the hyper input alone (zero
    context), after freezing m; scale_down: hyper mean channels whose h_s output is divided by 128
    and whose entropy-parameter input weights are multiplied by 128 (the same float function)."""
    M = m.M
    with torch.no_grad():
        if scale_down is not None:
            last = [c for c in m.h_s if isinstance(c, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))][-1]
            rows = [M + c for c in scale_down]
            if isinstance(last, torch.nn.ConvTranspose2d):
                last.weight[:, rows] /= 128
            else:
                last.weight[rows] /= 128
            last.bias[rows] /= 128
            m.entropy_parameters[0].weight[:, rows] *= 128
        x = torch.rand(1, 3, 128, 192, generator=torch.Generator().manual_seed(1))
        y = m.g_a(x) * 3
        z = torch.round(m.h_a(y))
        ihs = freeze_sequential(m.h_s.float(), [z])
        net = freeze_context(m, ihs, [(y, z)], m.context_order, table_scales())
        hyper = net.hyper_input(torch.round(ihs(z).double() * 2.0 ** ihs.out_frac).to(torch.int64))
        H, W = hyper.shape[:2]
        _, mean = net.predict(torch.zeros(H, W, M, dtype=torch.int64), hyper, torch.arange(H * W), W, False)
        mean_i = mean.double() * torch.pow(2.0, -net.mean_frac.double())
        p = ihs(z).double()
        _, mean_f = m.entropy_parameters.double()(torch.cat([p, torch.zeros_like(p)], 1)).chunk(2, 1)
        m.float()
    return float((mean_i - mean_f[0].permute(1, 2, 0).reshape(H * W, M)).abs().max())


@pytest.mark.parametrize("arch,order", ARCHS)
def test_each_input_channel_keeps_its_own_precision(arch, order):
    """Hyper channels 128x smaller than the others (the low qualities' means beside the top ones')
    are resolved in their own format, not in the largest channel's: the integer means follow the
    float network as closely as when every channel had the same range."""
    torch.manual_seed(0)
    base = build(arch, N=16, M=24).eval()
    scaled = build(arch, N=16, M=24).eval()
    scaled.load_state_dict(base.state_dict())
    err = _hyper_only_means_error(base)
    err_scaled = _hyper_only_means_error(scaled, scale_down=range(0, 24, 2))
    assert err_scaled < 1.5 * err, (err, err_scaled)   # one format per layer: 3.8x


@pytest.mark.parametrize("arch,order", ARCHS)
def test_corrupt_and_truncated_streams_raise(arch, order):
    _, net, hyper, y = frozen(arch, order)
    table = GaussianCoder.table()
    syms, idx, _ = net.encode(hyper, y)
    data = coding.encode(syms, idx, table)
    for cut in range(0, len(data), max(1, len(data) // 40)):
        with pytest.raises(fastcodec.BitstreamError):
            net.decode(hyper, table, data[:cut])
    rng = np.random.default_rng(0)
    for _ in range(30):
        bad = bytearray(data)
        bad[rng.integers(len(bad))] ^= 1 << int(rng.integers(8))
        try:
            net.decode(hyper, table, bytes(bad))
        except fastcodec.BitstreamError:
            pass
    with pytest.raises(ValueError, match="hyper"):
        net.decode(hyper[:, :, :5].copy(), table, data)
    with pytest.raises(ValueError, match="hyper value out of range"):
        net.decode(np.full_like(hyper, 32767), table, data)


def test_core_rejects_layers_that_could_overflow():
    from fastcodec import _core

    _, net, _, _ = frozen("mbt2018", WAVEFRONT)
    layers = [l.core_tuple() for l in net.layers]
    w = layers[1][0].copy()
    w[0, :] = 32767  # sum |w| * in_amax far beyond 2^31
    layers[1] = (w,) + layers[1][1:]
    with pytest.raises(ValueError, match="overflow"):
        _core.IntContextModel(net.M, net.order, net.taps.numpy(), layers, net.y_frac, net.mean_frac.numpy(),
                              net.thresholds.numpy())
    taps = net.taps.numpy().copy()
    taps[0] = (0, 1)  # reads a position not decoded yet
    with pytest.raises(ValueError, match="not yet decoded"):
        _core.IntContextModel(net.M, net.order, taps, [l.core_tuple() for l in net.layers], net.y_frac,
                              net.mean_frac.numpy(), net.thresholds.numpy())


@pytest.fixture(scope="module", params=[a for a, _ in ARCHS])
def shipped_context_model(request, tmp_path_factory):
    """A context model exported with its integer prior (as the zoo ships them), reloaded."""
    from fastcodec import zoo
    from fastcodec.train.export import export

    torch.manual_seed(3)
    m = build(request.param, N=16, M=24).eval()
    with torch.no_grad():
        m.gains.log_gain.add_(2.0)
        m.gains.log_inv_gain.sub_(2.0)
    x = torch.rand(1, 3, 96, 96)
    cal = []
    for q in (0, 7):
        y = m.analyze(m.pad(x), torch.tensor([q])).float()
        cal.append((y, torch.round(m.h_a(y))))
    d = tmp_path_factory.mktemp(request.param)
    export(m, "ctx", 1, zoo_dir=d, calibration=cal)
    path = d / "weights" / "ctx.safetensors"
    return path, zoo.load_model(path)


def test_shipped_context_model_codes_through_the_integer_path(shipped_context_model):
    path, model = shipped_context_model
    assert model.int_context is not None and model.int_h_s is not None
    rng = np.random.default_rng(0)
    image = (rng.random((70, 90, 3)) * 255).astype(np.uint8)
    codec = fastcodec.load(str(path), 5)
    blob = codec.encode(image)
    cls = type(model)
    before = torch.get_num_threads()
    try:
        cls.context_backend = "reference"
        assert fastcodec.load(str(path), 5).encode(image) == blob
        ref_pixels = fastcodec.decode(blob, model=str(path))
        cls.context_backend = "core"
        torch.set_num_threads(1)
        assert fastcodec.load(str(path), 5).encode(image) == blob
        one = fastcodec.decode(blob, model=str(path))
    finally:
        cls.context_backend = "core"
        torch.set_num_threads(before)
    assert np.array_equal(one, ref_pixels)
    batch = codec.encode_batch([image, image[:40, :50].copy(), image], workers=2)
    assert batch[0] == blob and batch[2] == blob
    assert np.array_equal(fastcodec.decode_batch(batch, workers=2, model=str(path))[0], ref_pixels)


def test_bf16_and_float32_encoders_both_decode_exactly(shipped_context_model):
    """The transforms' precision changes y (so the bytes), never the decoder's agreement: the
    decoder reproduces exactly the latent the encoder's integer loop rounded."""
    _, model = shipped_context_model
    x = torch.rand(1, 3, 64, 80)
    cls = type(model)
    try:
        for bf16 in (False, True):
            cls.bf16_transforms = bf16
            out = model.compress(x, 3)
            with torch.no_grad():
                y = model.analyze(model.pad(x), model._q(3))
            z_hat = model.factorized_coder().decode(out["strings"][0], (1, model.N, 1, 2))
            hyper = model.int_context.hyper_input(model.prior_int(z_hat))
            y_hwc = np.ascontiguousarray(y[0].float().permute(1, 2, 0).numpy())
            sym_e, _, means_e = model.int_context.encode(hyper, y_hwc)
            sym_d, means_d = model.int_context.decode(hyper, GaussianCoder.table(), out["strings"][1])
            assert np.array_equal(means_d, means_e)
            assert np.array_equal(np.sort(sym_d.reshape(-1)), np.sort(sym_e))
    finally:
        cls.bf16_transforms = None


@pytest.mark.parametrize("name", ["mbt2018", "bmshj2018-hyperprior"])
def test_channel_last_core_output_gives_the_same_prior(name):
    """The C++ h_s output used as it comes (int16 channel-last) gives exactly what the int64 NCHW
    route gives: the context loops' hyper input, and the float scales of the hyperprior."""
    from fastcodec.zoo import load_model

    m = load_model(name).eval()
    g = torch.Generator().manual_seed(5)
    z = torch.randint(-6, 7, (1, m.N, 3, 5), generator=g).float()
    hwc = m.prior_hwc(z, "core")
    assert hwc is not None and hwc.dtype == np.int16 and hwc.shape[:2] == (12, 20)
    ref = m.prior_int(z, "reference")
    assert np.array_equal(hwc, ref[0].permute(1, 2, 0).numpy())
    if hasattr(m, "int_context"):
        assert np.array_equal(m.int_context.hyper_input(hwc), m.int_context.hyper_input(ref))
    else:
        frac = torch.as_tensor(m.int_h_s.out_frac).double()
        expected = (ref.double() * torch.pow(2.0, -frac).reshape(1, -1, 1, 1)).float()
        assert torch.equal(m.prior(z), expected)
    assert m.prior_hwc(z, "reference") is None
