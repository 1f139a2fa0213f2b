"""Triton kernels against their plain-torch references. On a machine without a GPU they run under
TRITON_INTERPRET=1 (set here before Triton is imported), on small odd shapes; tests that need a
real GPU are skipped without one."""
import os

import pytest

torch = pytest.importorskip("torch")
if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")
pytest.importorskip("triton")

from fastcodec.functional import gdn as reference_gdn  # noqa: E402
from fastcodec.kernels import gdn as kernel  # noqa: E402
from fastcodec.layers import GDN  # noqa: E402

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
SHAPES = [(1, 5, 7, 3), (3, 37, 11, 13), (1, 192, 5, 7), (2, 17, 1, 1)]
TOL = {torch.float32: 1e-5 if DEVICE == "cpu" else 2e-3, torch.bfloat16: 2e-2}  # relative RMS error


def rel_rms(a, b):
    return float((a.float() - b.float()).norm() / b.float().norm().clamp_min(1e-30))


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("inverse", [False, True])
@pytest.mark.parametrize("simplified", [False, True])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("channels_last", [False, True])
def test_gdn_kernel_matches_reference(shape, inverse, simplified, dtype, channels_last):
    torch.manual_seed(hash((shape, inverse, simplified)) % 2**31)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    x = torch.randn(shape, device=DEVICE).to(dtype).contiguous(memory_format=fmt).requires_grad_()
    c = shape[1]
    beta = (torch.rand(c, device=DEVICE) + 0.5).requires_grad_()
    gamma = (torch.rand(c, c, device=DEVICE) * 0.1).requires_grad_()
    y = kernel.gdn(x, beta, gamma, inverse, simplified)
    assert y.dtype == dtype and y.shape == x.shape
    assert y.is_contiguous(memory_format=fmt)
    dy = torch.randn_like(y)
    grads = torch.autograd.grad(y, (x, beta, gamma), dy)
    # the reference in float32 on the same (rounded) inputs
    x32 = x.detach().float().requires_grad_()
    y_ref = reference_gdn(x32, beta, gamma, inverse, simplified)
    grads_ref = torch.autograd.grad(y_ref, (x32, beta, gamma), dy.float())
    tol = TOL[dtype]
    assert rel_rms(y, y_ref) < tol
    for g, g_ref in zip(grads, grads_ref):
        assert rel_rms(g, g_ref) < 10 * tol


def test_layer_dispatch():
    x = torch.randn(2, 6, 5, 5, device=DEVICE)
    auto, ref, fused = GDN(6), GDN(6, backend="torch"), GDN(6, backend="triton")
    fused.load_state_dict(ref.state_dict())
    auto.load_state_dict(ref.state_dict())
    assert auto._use_kernel(x) == (DEVICE == "cuda")
    assert rel_rms(fused(x), ref(x)) < TOL[torch.float32]
    with pytest.raises(ValueError, match="backend must be"):
        GDN(4, backend="cuda")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_gdn_kernel_on_gpu_large():
    x = torch.randn(16, 192, 64, 64, device="cuda")
    beta, gamma = torch.rand(192, device="cuda") + 0.5, torch.rand(192, 192, device="cuda") * 0.1
    assert rel_rms(kernel.gdn(x, beta, gamma), reference_gdn(x, beta, gamma)) < 2e-3


from fastcodec.functional.masked_conv import masked_conv2d, masked_conv2d_at  # noqa: E402
from fastcodec.kernels import masked_conv as mc_kernel  # noqa: E402
from fastcodec.layers import CheckerboardConv2d, MaskedConv2d, anchor_mask  # noqa: E402
from fastcodec.layers.masked_conv import checkerboard_mask, raster_mask  # noqa: E402

MASKS = {"A": raster_mask(5), "checkerboard": checkerboard_mask(5)}


@pytest.mark.parametrize("mask_name", sorted(MASKS))
@pytest.mark.parametrize("shape", [(1, 5, 7, 3, 10), (3, 19, 11, 13, 38), (1, 64, 2, 5, 17)])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("channels_last", [False, True])
def test_masked_conv_kernel_matches_reference(mask_name, shape, dtype, channels_last):
    b, cin, h, w, cout = shape
    torch.manual_seed(cin * 7 + cout)
    mask = MASKS[mask_name].to(DEVICE)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    x = torch.randn(b, cin, h, w, device=DEVICE).to(dtype).contiguous(memory_format=fmt)
    weight, bias = torch.randn(cout, cin, 5, 5, device=DEVICE) * 0.1, torch.randn(cout, device=DEVICE)
    ref = masked_conv2d(x.float(), weight, bias, mask)
    out = mc_kernel.masked_conv2d(x, weight, bias, mask)
    assert out.dtype == dtype and out.shape == ref.shape
    assert rel_rms(out, ref) < TOL[dtype]
    # incremental form: the non-anchor half of the last image, in a scrambled order
    hw = torch.nonzero(~anchor_mask(h, w, DEVICE)[0, 0])
    pos = torch.cat([torch.full((len(hw), 1), b - 1, device=DEVICE), hw], 1)[torch.randperm(len(hw))]
    at = mc_kernel.masked_conv2d_at(x, weight, bias, mask, pos)
    at_ref = masked_conv2d_at(x.float(), weight, bias, mask, pos)
    torch.testing.assert_close(at_ref, ref[b - 1][:, pos[:, 1], pos[:, 2]].t(), atol=1e-4, rtol=1e-4)
    assert at.shape == (len(pos), cout) and rel_rms(at, at_ref) < TOL[dtype]


@pytest.mark.parametrize("cls", [MaskedConv2d, CheckerboardConv2d])
def test_masked_layer_dispatch_and_incremental_form(cls):
    torch.manual_seed(0)
    ref, fused = cls(6, 12, backend="torch").to(DEVICE), cls(6, 12, backend="triton").to(DEVICE)
    fused.load_state_dict(ref.state_dict())
    x = torch.randn(2, 6, 9, 8, device=DEVICE)
    with torch.no_grad():
        assert rel_rms(fused(x), ref(x)) < TOL[torch.float32]
        pos = torch.tensor([[0, 0, 0], [1, 8, 7], [1, 4, 3]], device=DEVICE)
        full = ref(x)
        expected = torch.stack([full[b, :, h, w] for b, h, w in pos.tolist()])
        assert rel_rms(fused.forward_at(x, pos), expected) < TOL[torch.float32]
        assert rel_rms(ref.forward_at(x, pos), expected) < 1e-6
