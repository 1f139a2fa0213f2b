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
