"""GDN and masked convolutions against plain formulas."""
import pytest

torch = pytest.importorskip("torch")

from fastcodec.functional import gdn  # noqa: E402
from fastcodec.layers import GDN, CheckerboardConv2d, MaskedConv2d, anchor_mask  # noqa: E402


def naive_gdn(x, beta, gamma, inverse, simplified):
    out = torch.empty_like(x)
    for i in range(x.shape[1]):
        if simplified:
            norm = beta[i] + sum(gamma[i, j] * x[:, j].abs() for j in range(x.shape[1]))
        else:
            norm = torch.sqrt(beta[i] + sum(gamma[i, j] * x[:, j] ** 2 for j in range(x.shape[1])))
        out[:, i] = x[:, i] * norm if inverse else x[:, i] / norm
    return out


@pytest.mark.parametrize("inverse", [False, True])
@pytest.mark.parametrize("simplified", [False, True])
def test_gdn_matches_formula(inverse, simplified):
    torch.manual_seed(0)
    x = torch.randn(2, 5, 7, 3, dtype=torch.float64)
    beta = torch.rand(5, dtype=torch.float64) + 0.1
    gamma = torch.rand(5, 5, dtype=torch.float64) * 0.2
    torch.testing.assert_close(gdn(x, beta, gamma, inverse, simplified), naive_gdn(x, beta, gamma, inverse, simplified))


def test_gdn_module_reparameterization_and_gradients():
    layer = GDN(4)
    beta, gamma = layer.effective_params()
    torch.testing.assert_close(beta, torch.ones(4), atol=1e-6, rtol=0)
    torch.testing.assert_close(gamma, 0.1 * torch.eye(4), atol=1e-6, rtol=0)
    x = torch.randn(1, 4, 5, 5, requires_grad=True)
    layer(x).sum().backward()
    assert layer.beta.grad is not None and layer.gamma.grad is not None
    with torch.no_grad():
        layer.gamma.fill_(-1.0)  # pinned at the bound: effective gamma stays >= 0
    assert (layer.effective_params()[1] >= 0).all()


def test_gdn_compiled_for_training_matches_the_plain_form():
    """compile_for_training (fastcodec train --compile-gdn): same outputs and gradients as the plain
    layer in float32; inference keeps the plain path."""
    from fastcodec.layers import gdn as gdn_module

    torch.manual_seed(0)
    layer = GDN(8, inverse=True)
    with torch.no_grad():
        layer.gamma.add_(torch.rand(8, 8) * 0.05)
    x = torch.randn(2, 8, 6, 5)

    def run():
        xi = x.clone().requires_grad_()
        layer.zero_grad()
        y = layer(xi)
        (y * torch.linspace(-1, 1, y.numel()).reshape(y.shape)).sum().backward()
        return y.detach(), xi.grad, layer.gamma.grad.clone(), layer.beta.grad.clone()

    plain = run()
    try:
        gdn_module.compile_for_training()
        fused = run()
        with torch.no_grad():
            assert gdn_module._compiled_gdn is not None
            torch.testing.assert_close(layer(x), plain[0])
    finally:
        gdn_module.compile_for_training(False)
    for a, b in zip(plain, fused):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_masked_conv_is_causal():
    torch.manual_seed(0)
    conv = MaskedConv2d(3, 4, 5, "A")
    x = torch.randn(1, 3, 9, 9)
    base = conv(x)[0, :, 4, 4]
    for h in range(9):
        for w in range(9):
            x2 = x.clone()
            x2[0, :, h, w] += 10
            changed = not torch.allclose(conv(x2)[0, :, 4, 4], base)
            causal_neighbour = (h < 4 or (h == 4 and w < 4)) and abs(h - 4) <= 2 and abs(w - 4) <= 2
            assert changed == causal_neighbour, (h, w)


def test_checkerboard_conv_sees_only_anchors_at_non_anchors():
    torch.manual_seed(0)
    conv = CheckerboardConv2d(2, 3, 5)
    a = anchor_mask(8, 8)
    x = torch.randn(1, 2, 8, 8)
    y_anchor_only = conv(x * a)
    y_full = conv(x)
    # at non-anchor positions the context depends on anchors only
    torch.testing.assert_close(y_anchor_only[..., ~a[0, 0]], y_full[..., ~a[0, 0]])


@pytest.mark.parametrize("k,s,p,op", [(5, 2, 2, 1), (3, 2, 1, 1), (4, 2, 1, 0), (9, 4, 4, 3)])
def test_subpixel_equals_transposed_convolution(k, s, p, op):
    from fastcodec.functional.subpixel import conv_transpose_subpixel, subpixel_weights

    torch.manual_seed(k)
    tc = torch.nn.ConvTranspose2d(6, 3, k, s, p, op).double()
    x = torch.randn(2, 6, 5, 7, dtype=torch.float64)
    w, b, pad = subpixel_weights(tc.weight, tc.bias, s, p, op)
    torch.testing.assert_close(conv_transpose_subpixel(x, w, b, s, pad), tc(x), rtol=0, atol=1e-12)
    assert subpixel_weights(tc.weight, tc.bias, s, p, op + 1 if op + 1 < s else op - 1) is None  # not s x input


def test_synthesis_uses_the_subpixel_tail_with_the_same_result():
    from fastcodec.models import build
    from fastcodec.layers.mixed import run_mixed

    torch.manual_seed(0)
    model = build("mbt2018-mean", N=8, M=12).eval()
    model.bf16_transforms = False
    y = torch.randn(1, 12, 4, 6)
    q = torch.tensor([3])
    with torch.inference_mode():
        fast = model.synthesize(y, q)
        assert model.__dict__.get("_gs_tail") is not None
        plain = run_mixed(model.g_s, (y * model.gains.inv_gain(q)).contiguous(memory_format=torch.channels_last), False)
    torch.testing.assert_close(fast, plain, rtol=1e-5, atol=1e-5)
    with torch.no_grad():
        model.g_s[-1].weight.mul_(2)   # new weights: the cached tail is rebuilt
        again = model.synthesize(y, q)
    assert not torch.allclose(again, fast)


def test_dense_channels_last_fixes_the_batch_stride_of_hwc_built_tensors():
    from fastcodec.layers.mixed import dense_channels_last

    hwc = torch.rand(5, 7, 3)
    x = hwc.permute(2, 0, 1)[None]          # an image from numpy: batch stride 3
    assert x.is_contiguous(memory_format=torch.channels_last) and x.stride(0) == 3
    d = dense_channels_last(x)
    assert d.stride() == (3 * 5 * 7, 1, 7 * 3, 3)
    assert torch.equal(d, x)
    assert dense_channels_last(d) is d       # already standard: no copy
    nchw = torch.rand(2, 4, 6, 5)
    assert torch.equal(dense_channels_last(nchw), nchw)
    assert dense_channels_last(nchw).is_contiguous(memory_format=torch.channels_last)
