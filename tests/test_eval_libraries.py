"""fastcodec's own MS-SSIM (fastcodec/eval/metrics.py) and BD-rate (fastcodec/eval/bdrate.py) agree
with the well-kept libraries: pytorch-msssim and bjontegaard (both in the test extra).

Why keep ours. MS-SSIM: the runtime needs no package beyond torch, the MS-SSIM training objective
uses its batched, differentiable form, and it takes images under 161 px a side (training crops;
pytorch-msssim refuses them). Ours halves an odd side by dropping its last row or column where
pytorch-msssim pads it with zeros and averages them in, so the two agree where every scale has even
sides (the sizes below, Kodak's 768x512) and differ slightly elsewhere. BD-rate: importing
bjontegaard imports matplotlib.pyplot and scipy, neither a dependency of fastcodec."""
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from fastcodec.eval import codecs
from fastcodec.eval.bdrate import bd_rate, bd_rate_pchip
from fastcodec.eval.metrics import ms_ssim, ms_ssim_batch

SAMPLE = Path(__file__).resolve().parent.parent / "fastcodec" / "data" / "sample.png"


def _nchw(a):
    return torch.from_numpy(np.asarray(a, dtype=np.float32)).permute(2, 0, 1)[None]


@pytest.mark.parametrize("size", [(384, 512), (192, 256), (176, 176)])
def test_ms_ssim_agrees_with_pytorch_msssim(size):
    pytorch_msssim = pytest.importorskip("pytorch_msssim")
    im = np.asarray(Image.open(SAMPLE).convert("RGB"))
    a = np.ascontiguousarray(im[: size[0], : size[1]])
    rng = np.random.default_rng(0)
    noisy = np.clip(a + rng.normal(0, 12, a.shape), 0, 255).astype(np.uint8)
    for b in [codecs.decode("jpeg", codecs.encode("jpeg", a, q)) for q in (5, 30, 90)] + [noisy]:
        ref = float(pytorch_msssim.ms_ssim(_nchw(a), _nchw(b), data_range=255))
        assert ms_ssim(a, b) == pytest.approx(ref, abs=5e-6)


def test_ms_ssim_batch_agrees_with_pytorch_msssim():
    pytorch_msssim = pytest.importorskip("pytorch_msssim")
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(3, 3, 192, 224, generator=gen)
    y = (x + 0.1 * torch.randn(x.shape, generator=gen)).clamp(0, 1)
    ref = pytorch_msssim.ms_ssim(x, y, data_range=1.0, size_average=False)
    torch.testing.assert_close(ms_ssim_batch(x, y), ref, atol=5e-6, rtol=0)


def _curve(rng, n, offset, lo=0.08, hi=2.2):
    """A photo-codec-like RD curve: PSNR a concave function of log-rate, points not evenly spaced."""
    bpp = np.exp(np.sort(rng.uniform(np.log(lo), np.log(hi), n)))
    lr = np.log(bpp)
    return bpp, offset + 33 + 4.3 * lr - 0.35 * lr ** 2 + rng.normal(0, 0.01, n)


@pytest.mark.parametrize("seed", range(6))
def test_bd_rate_agrees_with_bjontegaard(seed):
    bjontegaard = pytest.importorskip("bjontegaard")
    rng = np.random.default_rng(seed)
    r_ref, q_ref = _curve(rng, 12, 0.0)
    r_test, q_test = _curve(rng, 8, rng.choice([-1, 1]) * rng.uniform(0.5, 2), lo=0.15, hi=1.8)
    kw = {"require_matching_points": False, "min_overlap": 0}
    lib_cubic = bjontegaard.bd_rate(r_ref, q_ref, r_test, q_test, method="cubic", **kw)
    lib_pchip = bjontegaard.bd_rate(r_ref, q_ref, r_test, q_test, method="pchip", **kw)
    assert abs(lib_pchip) > 1  # curves that differ: a real comparison
    assert bd_rate(r_ref, q_ref, r_test, q_test) == pytest.approx(lib_cubic, abs=1e-8)
    # ours integrates the PCHIP on 2,000 samples where the library integrates it exactly; ours also
    # takes the points in any order
    order = rng.permutation(len(r_test))
    assert bd_rate_pchip(r_ref, q_ref, r_test[order], q_test[order]) == pytest.approx(lib_pchip, abs=1e-3)
