"""The fused C++ GDN against the plain reference, and the C++ path of the bf16 transforms
(fastcodec.models.fast_layers: Winograd stride-2 layers and fused GDN) in coding. Run on CPUs with
AVX-512 BF16; the references themselves are tested everywhere (test_layers.py, test_winograd.py)."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fastcodec.functional import gdn as gdn_reference  # noqa: E402
from fastcodec.functional import gdn_fused  # noqa: E402
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


def test_coding_with_and_without_the_fast_layers_agrees(monkeypatch):
    """The shipped hyperprior on the shipped sample: the C++ layers move PSNR by hundredths of a dB
    at most, the switches turn them off, and a blob from either encoder decodes with either decoder."""
    import fastcodec
    from fastcodec.cli.demo import SAMPLE
    from fastcodec.train.data import load_rgb
    from fastcodec.train.metrics import psnr

    img = load_rgb(SAMPLE)
    codec = fastcodec.load("bmshj2018-hyperprior", quality=6)
    if not codec.model._bf16():
        pytest.skip("bf16 transforms are off on this CPU")
    calls = []
    conv, fused = winograd.winograd_s2, gdn_fused.gdn_bf16_cpu
    monkeypatch.setattr(winograd, "winograd_s2", lambda *a, **k: calls.append("conv") or conv(*a, **k))
    monkeypatch.setattr(gdn_fused, "gdn_bf16_cpu", lambda *a, **k: calls.append("gdn") or fused(*a, **k))
    results = {}
    for flag in ("0", "1"):
        monkeypatch.setenv("FASTCODEC_WINOGRAD", flag)
        monkeypatch.setenv("FASTCODEC_FUSED_GDN", flag)
        calls.clear()
        blob = codec.encode(img)
        results[flag] = (blob, fastcodec.decode(blob))
        # 512x384: g_a's 2nd and 3rd layers and 3 GDNs; g_s's first three layers and 3 inverse GDNs
        assert sorted(calls) == ([] if flag == "0" else ["conv"] * 5 + ["gdn"] * 6)
    assert abs(len(results["0"][0]) - len(results["1"][0])) <= 0.002 * len(results["0"][0])
    p0, p1 = psnr(img, results["0"][1]), psnr(img, results["1"][1])
    assert abs(p0 - p1) < 0.05
    monkeypatch.setenv("FASTCODEC_WINOGRAD", "0")
    monkeypatch.setenv("FASTCODEC_FUSED_GDN", "0")
    assert psnr(img, fastcodec.decode(results["1"][0])) > p1 - 0.05


def test_fast_layers_follow_in_place_weight_changes():
    from fastcodec.models.fast_layers import FastLayers

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
