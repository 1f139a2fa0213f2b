"""The int32 convolution networks of the prior path (h_s; reference fastcodec.integer.conv, C++
csrc/integer/intconv.cc) on the Triton int32 layer kernel (kernels/int_layer.py).

Each layer runs phase by phase, as the C++ core does: the taps of one output phase are gathered
(pure data movement, zero outside the input) into rows [positions, taps * cin] and the phase's
weight matrix is applied by the int32-exact kernel, whose accumulator the freezing step bounds
below 2^31 for every phase — so the GPU's reduction order cannot change a bit.
"""
import torch
import torch.nn.functional as F

from fastcodec.functional.subpixel import phase_taps
from fastcodec.kernels.int_layer import int_layer


def _phase_matrix(layer, taps):
    """[cout, ntaps * cin] int16: column t * cin + ci holds tap t of input channel ci."""
    w = layer.weight_q
    wo = w.transpose(0, 1) if layer.transposed else w               # [cout, cin, k, k]
    cols = [wo[:, :, ky, kx] for ky, kx in taps]                     # each [cout, cin]
    return torch.stack(cols, 1).reshape(wo.shape[0], -1).contiguous()


def int_conv(layer, x):
    """One Int32Conv: x int16 [cin, H, W] on the kernel's device -> int16 [cout, H', W']."""
    cin, H, W = x.shape
    k, s, p = layer.kernel, layer.stride, layer.pad
    OH = (H - 1) * s - 2 * p + k + layer.out_pad if layer.transposed else (H + 2 * p - k) // s + 1
    OW = (W - 1) * s - 2 * p + k + layer.out_pad if layer.transposed else (W + 2 * p - k) // s + 1
    cout = layer.weight_q.shape[1] if layer.transposed else layer.weight_q.shape[0]
    dev = x.device
    out = torch.zeros(cout, OH, OW, dtype=torch.int16, device=dev)
    margin = k + s  # generous zero border: every gathered index lands inside the padded input
    xp = F.pad(x.to(torch.int32), (margin, margin, margin, margin)).to(torch.int16)
    for py, px, taps in phase_taps(layer.transposed, k, s, p):
        oys = torch.arange(py if layer.transposed else 0, OH, s if layer.transposed else 1, device=dev)
        oxs = torch.arange(px if layer.transposed else 0, OW, s if layer.transposed else 1, device=dev)
        if len(oys) == 0 or len(oxs) == 0:
            continue
        rows = []
        for ky, kx in taps:
            if layer.transposed:
                iy = torch.div(oys + p - ky, s, rounding_mode="floor")
                ix = torch.div(oxs + p - kx, s, rounding_mode="floor")
            else:
                iy = oys * s - p + ky
                ix = oxs * s - p + kx
            rows.append(xp[:, iy + margin][:, :, ix + margin])           # [cin, ny, nx]; zeros outside
        patches = torch.stack(rows, 0).permute(2, 3, 0, 1).reshape(len(oys) * len(oxs), -1)
        w = _phase_matrix(layer, taps).to(dev)
        res = int_layer(patches.contiguous(), w, layer.bias_q.to(dev), layer.shift.to(dev), layer.amax, layer.leaky)
        out[:, oys[:, None], oxs[None, :]] = res.reshape(len(oys), len(oxs), cout).permute(2, 0, 1)
    return out


def int_conv_net(net, a, device=None):
    """IntConvNet.forward_int on the Triton kernels: a integer [1, cin, h, w] -> int16 [1, cout, H, W]."""
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    lim = net.layers[0].in_amax
    x = a[0].to(torch.int64).clamp(-lim, lim).to(torch.int16).to(device)
    for layer in net.layers:
        x = int_conv(layer, x)
    return x[None]
