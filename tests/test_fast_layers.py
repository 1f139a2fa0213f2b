"""The fused C++ GDN and the sub-pixel last layer against the plain references, and the C++ path of
the bf16 transforms (fastcodec.layers.fast: Winograd stride-2 layers, fused GDN, sub-pixel
last layer) in coding. Run on CPUs with
AVX-512 BF16; the references themselves are tested everywhere (test_layers.py, test_winograd.py)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fastcodec.functional import gdn as gdn_reference  # noqa: E402
from fastcodec.functional import gdn_fused  # noqa: E402
from fastcodec.functional import subpixel  # noqa: E402
from fastcodec.functional import winograd  # noqa: E402
from fastcodec.layers import GDN  # noqa: E402

pytestmark = pytest.mark.skipif(not winograd.supported(), reason="the C++ bf16 kernels need AVX-512 BF16")


def gdn_layer(c, inverse, simplified, seed=0):
    g = torch.Generator().manual_seed(seed)
    layer = GDN(c, inverse=inverse, simplified=simplified)
    with torch.no_grad():
        layer.gamma.add_(torch.rand(c, c, generator=g) * 0.01)
        layer.beta.add_(torch.rand(c, generator=g) * 0.1)
    return layer


@pytest.mark.parametrize("inverse", [False, True])
@pytest.mark.parametrize("simplified", [False, True])
@pytest.mark.parametrize("c,hw", [(64, (1, 1)), (128, (37, 29)), (192, (5, 11))])
def test_fused_gdn_matches_the_reference(inverse, simplified, c, hw):
    layer = gdn_layer(c, inverse, simplified, seed=c)
    beta, gamma = layer.effective_params()
    x = (torch.randn(1, c, *hw) * 2).to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
    ref = gdn_reference(x.double(), beta.double(), gamma.double(), inverse, simplified)
    with torch.no_grad():
        y = gdn_fused.gdn_bf16_cpu(x, gdn_fused.pack_gamma(gamma), beta.detach().float().numpy(),
                                        inverse, simplified).double()
    assert y.shape == ref.shape
    # roundings: f(x) and gamma to bf16 (2^-9 each, relative to the norm's terms), y to bf16 (2^-9)
    assert bool(((y - ref).abs() <= ref.abs() * 0.008 + 1e-3).all())


def test_fused_gdn_is_the_same_for_any_thread_count():
    layer = gdn_layer(128, False, False)
    beta, gamma = layer.effective_params()
    packed, b = gdn_fused.pack_gamma(gamma), beta.detach().float().numpy()
    x = torch.randn(1, 128, 50, 41).to(torch.bfloat16)
    outs = [gdn_fused.gdn_bf16_cpu(x, packed, b, threads=t) for t in (1, 2, 3)]
    assert torch.equal(outs[0], outs[1]) and torch.equal(outs[0], outs[2])


def test_fused_gdn_rejects_bad_arguments():
    from fastcodec import _core

    g = np.zeros((32, 64, 2), np.int16)
    x, y = np.zeros((5, 64), np.int16), np.zeros((5, 64), np.int16)
    beta = np.ones(64, np.float32)
    with pytest.raises(ValueError, match="multiple of 64"):
        _core.gdn_bf16(np.zeros((5, 32), np.int16), g, beta, False, False, np.zeros((5, 32), np.int16))
    with pytest.raises(ValueError, match="gamma_t"):
        _core.gdn_bf16(x, np.zeros((64, 64, 2), np.int16), beta, False, False, y)
    with pytest.raises(ValueError, match="y must"):
        _core.gdn_bf16(x, g, beta, False, False, np.zeros((4, 64), np.int16))
    with pytest.raises(TypeError, match="beta must be"):
        _core.gdn_bf16(x, g, beta.astype(np.float64), False, False, y)


def tail_reference(x, layer):
    """The layer in float64 on the bf16 values the kernel multiplies (x and weight rounded to bf16)."""
    w = layer.weight.detach().to(torch.bfloat16).double()
    b = None if layer.bias is None else layer.bias.detach().double()
    return torch.nn.functional.conv_transpose2d(x.double(), w, b, 2, 2, 1)


@pytest.mark.parametrize("cin,cout,hw,bias", [(128, 3, (19, 37), True), (2, 1, (1, 1), True),
                                              (64, 4, (3, 16), False), (34, 2, (8, 33), True)])
def test_subpixel_tail_matches_the_reference(cin, cout, hw, bias):
    torch.manual_seed(cin + cout)
    layer = torch.nn.ConvTranspose2d(cin, cout, 5, 2, 2, 1, bias=bias)
    x = torch.randn(1, cin, *hw).to(torch.bfloat16).contiguous(memory_format=torch.channels_last)
    b = None if layer.bias is None else layer.bias.detach().float().numpy()
    y = subpixel.conv_transpose_tail_bf16_cpu(x, subpixel.pack_tail_weights(layer.weight), b)
    ref = tail_reference(x, layer)
    assert y.dtype == torch.float32 and y.shape == ref.shape and y.is_contiguous()
    # exact products of bf16 values, float32 sums: float32 rounding only
    assert (y.double() - ref).abs().max() <= 1e-5 * (ref.abs().max() + 1)


def test_subpixel_tail_is_the_same_for_any_thread_count():
    torch.manual_seed(1)
    layer = torch.nn.ConvTranspose2d(128, 3, 5, 2, 2, 1)
    packed, b = subpixel.pack_tail_weights(layer.weight), layer.bias.detach().float().numpy()
    x = torch.randn(1, 128, 23, 50).to(torch.bfloat16)
    outs = [subpixel.conv_transpose_tail_bf16_cpu(x, packed, b, threads=t) for t in (1, 2, 3)]
    assert torch.equal(outs[0], outs[1]) and torch.equal(outs[0], outs[2])


def test_subpixel_tail_rejects_bad_arguments():
    from fastcodec import _core

    x = np.zeros((4, 5, 8), np.int16)
    wp = np.zeros((4, 3, 3, 2, 2, 3), np.uint32)
    y = np.zeros((3, 8, 10), np.float32)
    with pytest.raises(ValueError, match="wp must be"):
        _core.subpixel_s2(x, np.zeros((3, 3, 3, 2, 2, 3), np.uint32), None, y)
    with pytest.raises(ValueError, match="1 to 4 output channels"):
        _core.subpixel_s2(x, np.zeros((4, 3, 3, 2, 2, 5), np.uint32), None, np.zeros((5, 8, 10), np.float32))
    with pytest.raises(ValueError, match="wrong shape"):
        _core.subpixel_s2(x, wp, None, np.zeros((3, 8, 9), np.float32))
    with pytest.raises(ValueError, match="even cin"):
        _core.subpixel_s2(np.zeros((4, 5, 7), np.int16), wp, None, y)
    with pytest.raises(ValueError, match="bias must be"):
        _core.subpixel_s2(x, wp, np.zeros(2, np.float32), y)
    with pytest.raises(TypeError, match="y must be"):
        _core.subpixel_s2(x, wp, None, y.astype(np.float64))
    assert not subpixel.tail_supported(torch.zeros(128, 3, 5, 5), 2, 2, 0)
    assert not subpixel.tail_supported(torch.zeros(128, 8, 5, 5), 2, 2, 1)
    assert subpixel.tail_supported(torch.zeros(128, 3, 5, 5), 2, 2, 1)


def test_coding_with_and_without_the_fast_layers_agrees(monkeypatch):
    """The shipped hyperprior on the shipped sample: the C++ layers cost no PSNR (they gain a few
    hundredths of a dB), the switches turn them off, and a blob from either encoder decodes with
    either decoder."""
    import fastcodec
    from fastcodec.cli.demo import SAMPLE
    from fastcodec.train.data import load_rgb
    from fastcodec.eval.metrics import psnr

    img = load_rgb(SAMPLE)
    codec = fastcodec.load("bmshj2018-hyperprior", quality=6)
    if not codec.model._bf16():
        pytest.skip("bf16 transforms are off on this CPU")
    calls = []
    conv, fused, tail = winograd.winograd_s2, gdn_fused.gdn_bf16_cpu, subpixel.conv_transpose_tail_bf16_cpu
    monkeypatch.setattr(winograd, "winograd_s2", lambda *a, **k: calls.append("conv") or conv(*a, **k))
    monkeypatch.setattr(gdn_fused, "gdn_bf16_cpu", lambda *a, **k: calls.append("gdn") or fused(*a, **k))
    monkeypatch.setattr(subpixel, "conv_transpose_tail_bf16_cpu", lambda *a, **k: calls.append("tail") or tail(*a, **k))
    results = {}
    for flag in ("0", "1"):
        for switch in ("FASTCODEC_WINOGRAD", "FASTCODEC_FUSED_GDN", "FASTCODEC_SUBPIXEL"):
            monkeypatch.setenv(switch, flag)
        calls.clear()
        blob = codec.encode(img)
        results[flag] = (blob, fastcodec.decode(blob))
        # 512x384: g_a's 2nd and 3rd layers and 3 GDNs; g_s's first three layers, 3 inverse GDNs
        # and its last layer
        assert sorted(calls) == ([] if flag == "0" else ["conv"] * 5 + ["gdn"] * 6 + ["tail"])
    assert abs(len(results["0"][0]) - len(results["1"][0])) <= 0.002 * len(results["0"][0])
    p0, p1 = psnr(img, results["0"][1]), psnr(img, results["1"][1])
    # never worse by more than 0.05 dB; better by up to ~0.1: torch's path rounds the fused GDN's
    # norm and the last layer's output to bf16 (measured with earlier weights: +0.04 and +0.036 dB,
    # later ones +0.07)
    assert -0.05 < p1 - p0 < 0.15
    # the decoder sets the quality: each blob, decoded by the other path, scores what that path
    # scores on its own blob (measured: within 0.002 dB)
    for flag, other in (("1", "0"), ("0", "1")):
        for switch in ("FASTCODEC_WINOGRAD", "FASTCODEC_FUSED_GDN", "FASTCODEC_SUBPIXEL"):
            monkeypatch.setenv(switch, other)
        own = psnr(img, results[other][1])
        assert abs(psnr(img, fastcodec.decode(results[flag][0])) - own) < 0.05


def test_fast_layers_follow_in_place_weight_changes():
    from fastcodec.layers.fast import FastLayers

    torch.manual_seed(0)
    seq = torch.nn.Sequential(torch.nn.Conv2d(8, 64, 5, 2, 2), GDN(64))
    fast, x = FastLayers(), torch.randn(1, 8, 20, 24)
    for step in range(2):
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
            got = fast.run(seq, x).float()
        with torch.no_grad():
            want = seq.double()(x.double()).float()
            seq.float()
        assert (got - want).abs().max() <= 0.02 * want.abs().max()
        with torch.no_grad():  # in place: same storage, new version
            seq[0].weight.mul_(1.5)
            seq[0].bias.add_(0.5)
            seq[1].beta.add_(0.3)


def test_last_layer_follows_in_place_weight_changes():
    from fastcodec.layers.fast import FastLayers

    torch.manual_seed(2)
    layer, fast = torch.nn.ConvTranspose2d(16, 3, 5, 2, 2, 1), FastLayers()
    x = torch.randn(1, 16, 6, 9).to(torch.bfloat16)
    for step in range(2):
        with torch.no_grad():
            got = fast.last_layer(layer, x)
            assert (got.double() - tail_reference(x, layer)).abs().max() <= 1e-5 * 10
            layer.weight.mul_(1.5)  # in place: same storage, new version
            layer.bias.add_(0.5)
    assert fast.last_layer(torch.nn.ConvTranspose2d(16, 3, 5, 2, 2, 0), x) is None


def test_packed_weights_belong_to_their_layer_object():
    """A layer allocated at a freed layer's id() and tensor addresses (FiLM's folded copies are
    rebuilt so) must not be handed the freed layer's packed weights."""
    import weakref

    from fastcodec.layers.fast import FastLayers

    fl = FastLayers()
    old, new = torch.nn.Conv2d(2, 2, 3), torch.nn.Conv2d(2, 2, 3)
    key = tuple((t.data_ptr(), t._version) for t in (new.weight, new.bias))
    fl._packed[id(new)] = (key, "packed for the old layer", weakref.ref(old))  # what reuse would leave
    assert fl._cached(new, (new.weight, new.bias), lambda: "packed for the new layer") == "packed for the new layer"
