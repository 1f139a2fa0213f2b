"""A transposed convolution of stride s whose output is exactly s times its input, rewritten as a
convolution with s^2 * cout outputs followed by a pixel shuffle (depth to space). Same products
and sums (only the summation order differs, so results agree to float rounding); much faster on
CPUs for the few-output-channel last layer of a synthesis transform (oneDNN's transposed
convolution with 3 outputs is 2-3x slower than the equivalent 12-output convolution).

Output oy = iy * s - p + ky of the transposed convolution is, for phase py = oy mod s, the sum over
the taps ky with (py + p - ky) divisible by s of input row oy // s + (py + p - ky) / s.
"""
import torch
import torch.nn.functional as F


def subpixel_weights(weight, bias, stride, padding, output_padding):
    """(conv weight [s^2 * cout, cin, K, K], conv bias, conv padding) equivalent to a
    ConvTranspose2d with these parameters, or None where the output is not exactly s x the input."""
    cin, cout, k, k2 = weight.shape
    s, p, op = stride, padding, output_padding
    if k != k2 or k + op - 2 * p != s:
        return None
    offsets = [(py + p - ky) // s for py in range(s) for ky in range(k) if (py + p - ky) % s == 0]
    r = max(max(offsets), -min(offsets))
    K = 2 * r + 1
    w = torch.zeros(cout, s, s, cin, K, K, dtype=weight.dtype, device=weight.device)
    for py in range(s):
        for px in range(s):
            for ky in range(k):
                for kx in range(k):
                    if (py + p - ky) % s or (px + p - kx) % s:
                        continue
                    dy, dx = (py + p - ky) // s, (px + p - kx) // s
                    w[:, py, px, :, dy + r, dx + r] = weight[:, :, ky, kx].t()
    b = None if bias is None else bias.repeat_interleave(s * s)
    return w.reshape(cout * s * s, cin, K, K), b, r


def conv_transpose_subpixel(x, weight, bias, stride, padding):
    """F.conv_transpose2d(x, ...) computed as conv2d + pixel_shuffle with subpixel_weights()."""
    return F.pixel_shuffle(F.conv2d(x, weight, bias, 1, padding), stride)


def tail_supported(weight, stride, padding, output_padding):
    """Whether csrc/transforms/subpixel.cc runs this ConvTranspose2d: 5x5, stride 2, padding 2, output
    padding 1, an even number of inputs and 1 to 4 outputs (the last layer of g_s)."""
    cin, cout, k, k2 = weight.shape
    return (k, k2, stride, padding, output_padding) == (5, 5, 2, 2, 1) and cin % 2 == 0 and 1 <= cout <= 4


def pack_tail_weights(weight):
    """The C++ kernel's weight operand (csrc/transforms/subpixel.h) for a ConvTranspose2d weight [cin, cout,
    5, 5]: the sub-pixel kernel w[c, py, px, i, ty, tx] of subpixel_weights, rounded to bf16,
    as [cin / 2, 3, 3, 2, 2, cout] channel pairs in uint32 (channel 2k in the low half)."""
    cin, cout = weight.shape[:2]
    w, _, r = subpixel_weights(weight.detach().float().cpu(), None, 2, 2, 1)
    assert r == 1
    w = w.reshape(cout, 2, 2, cin, 3, 3).permute(3, 4, 5, 1, 2, 0)  # [i, ty, tx, py, px, c]
    bits = w.contiguous().to(torch.bfloat16).view(torch.int16).to(torch.int32) & 0xFFFF
    bits = bits.reshape(cin // 2, 2, 3, 3, 2, 2, cout)
    pairs = bits[:, 0] | (bits[:, 1] << 16)
    return pairs.numpy().astype("uint32")


def conv_transpose_tail_bf16_cpu(x, packed, bias, threads=None):
    """The last layer of g_s through csrc/transforms/subpixel.cc: x [1, cin, h, w] (bf16 or float, rounded to
    bf16) -> float32 [1, cout, 2h, 2w], contiguous. bias: float32 numpy [cout] or None."""
    from fastcodec._native import core as _core
    if threads is None:
        threads = torch.get_num_threads()
    _, cin, h, w = x.shape
    cout = packed.shape[-1]
    xl = x[0].to(torch.bfloat16).permute(1, 2, 0).contiguous()
    y = torch.empty((1, cout, 2 * h, 2 * w), dtype=torch.float32)
    _core.subpixel_s2(xl.view(torch.int16).numpy(), packed, bias, y[0].numpy(), threads)
    return y


def phase_taps(transposed, kernel, stride, pad):
    """[(py, px, [(ky, kx), ...]), ...]: the kernel taps each output phase sums (one phase for a
    convolution; for a transposed convolution, output oy = iy * stride - pad + ky, so phase py
    takes the taps with (py + pad - ky) divisible by the stride)."""
    if not transposed:
        return [(0, 0, [(ky, kx) for ky in range(kernel) for kx in range(kernel)])]
    out = []
    for py in range(stride):
        for px in range(stride):
            taps = [(ky, kx) for ky in range(kernel) for kx in range(kernel)
                    if (py + pad - ky) % stride == 0 and (px + pad - kx) % stride == 0]
            out.append((py, px, taps))
    return out
