"""The Winograd form of the 5x5 stride-2 layers: the plain reference against torch's direct layers
(everywhere) and the C++ kernel against the reference (on CPUs with AVX-512 BF16). The coding path
that uses it: tests/test_fast_layers.py."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fastcodec.functional import winograd  # noqa: E402
from fastcodec.functional.winograd import (pack_weights, reference_check, transform_weights,  # noqa: E402
                                           winograd_s2, winograd_s2_reference)

needs_kernel = pytest.mark.skipif(not winograd.supported(), reason="the C++ Winograd kernel needs AVX-512 BF16")

SHAPES = [(1, 1), (2, 3), (5, 7), (8, 8), (9, 6), (12, 17)]


def layer(cin, cout, transposed, seed=0):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn((cin, cout, 5, 5) if transposed else (cout, cin, 5, 5), generator=g, dtype=torch.float64)
    return w * 0.05, torch.randn(cout, generator=g, dtype=torch.float64)


@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("hw", SHAPES)
def test_reference_equals_the_direct_layer(transposed, hw):
    w, b = layer(6, 5, transposed)
    x = torch.randn(2, 6, *hw, dtype=torch.float64)
    out = winograd_s2_reference(x, w, b, transposed)
    direct = reference_check(x, w, b, transposed)
    assert out.shape == direct.shape
    torch.testing.assert_close(out, direct, atol=1e-12, rtol=1e-12)


def test_packed_weights_layout():
    w, _ = layer(6, 64, False)
    packed = torch.from_numpy(pack_weights(w, False)).view(torch.bfloat16)  # [49, 3, 64, 2]
    u = transform_weights(w, False).to(torch.bfloat16)                       # [49, 6, 64]
    assert packed.shape == (49, 3, 64, 2)
    assert torch.equal(packed[:, :, :, 0], u[:, 0::2]) and torch.equal(packed[:, :, :, 1], u[:, 1::2])


@needs_kernel
@pytest.mark.parametrize("transposed", [False, True])
@pytest.mark.parametrize("hw,cin,cout", [((1, 1), 2, 64), ((5, 7), 40, 64), ((13, 10), 128, 128),
                                         ((16, 24), 192, 192), ((3, 50), 16, 128)])
def test_kernel_matches_the_reference(transposed, hw, cin, cout):
    w, b = layer(cin, cout, transposed, seed=cin + cout)
    x = torch.randn(1, cin, *hw)
    y = winograd_s2(x.to(torch.bfloat16), pack_weights(w, transposed), b.float().numpy(), transposed).double()
    # same roundings as the kernel up to its float32 sums and the final bf16 rounding of y
    ref = winograd_s2_reference(x, w, b.float(), transposed, bf16=True)
    assert y.shape == ref.shape
    assert bool(((y - ref).abs() <= ref.abs() * 2.0 ** -8 + 1e-5).all())


@needs_kernel
@pytest.mark.parametrize("transposed", [False, True])
def test_kernel_output_is_the_same_for_any_thread_count(transposed):
    w, b = layer(64, 128, transposed)
    x = torch.randn(1, 64, 40, 70).to(torch.bfloat16)
    packed, bias = pack_weights(w, transposed), b.float().numpy()
    outs = [winograd_s2(x, packed, bias, transposed, threads=t) for t in (1, 2, 3)]
    assert torch.equal(outs[0], outs[1]) and torch.equal(outs[0], outs[2])


@needs_kernel
def test_kernel_rejects_bad_arguments():
    from fastcodec import _core

    w, _ = layer(8, 64, False)
    packed = pack_weights(w, False)
    x = np.zeros((4, 4, 8), np.int16)
    with pytest.raises(ValueError, match="y has the wrong shape"):
        _core.winograd_s2(x, packed, None, False, np.zeros((3, 2, 64), np.int16))
    with pytest.raises(ValueError, match="u must be"):
        _core.winograd_s2(np.zeros((4, 4, 6), np.int16), packed, None, False, np.zeros((2, 2, 64), np.int16))
    with pytest.raises(ValueError, match="bias"):
        _core.winograd_s2(x, packed, np.zeros(3, np.float32), False, np.zeros((2, 2, 64), np.int16))
    with pytest.raises(TypeError, match="x must be"):
        _core.winograd_s2(x.astype(np.float32), packed, None, False, np.zeros((2, 2, 64), np.int16))
