"""Masked convolution references (plain torch): the oracle for the Triton kernels.

masked_conv2d: a 'same'-padded stride-1 convolution whose kernel is multiplied by a fixed mask.
masked_conv2d_at: the same convolution evaluated only at listed output positions (what a decoder
needs: one raster position or wavefront for the serial context model, one checkerboard colour for
the two-pass model)."""
import torch
import torch.nn.functional as F


def masked_conv2d(x, weight, bias, mask):
    """x [B, Cin, H, W], weight [Cout, Cin, k, k], mask [k, k] -> [B, Cout, H, W]."""
    k = weight.shape[-1]
    return F.conv2d(x, weight * mask.to(weight.dtype), bias, padding=k // 2)


def masked_conv2d_at(x, weight, bias, mask, positions):
    """Outputs [N, Cout] at positions [N, 3] (b, h, w) of masked_conv2d(x, ...)."""
    k = weight.shape[-1]
    pad = k // 2
    xp = F.pad(x, (pad, pad, pad, pad))
    w = (weight * mask.to(weight.dtype)).reshape(weight.shape[0], -1)
    positions = positions.to(x.device, torch.long)
    b, h, wpos = positions.unbind(1)
    r = torch.arange(k, device=x.device)
    rows = (h[:, None] + r[None, :])[:, :, None]       # [N, k, 1]
    cols = (wpos[:, None] + r[None, :])[:, None, :]    # [N, 1, k]
    patches = xp.permute(0, 2, 3, 1)[b[:, None, None], rows, cols]   # [N, k, k, Cin]
    patches = patches.permute(0, 3, 1, 2).reshape(len(positions), -1)  # [N, Cin*k*k], weight order
    out = patches.to(w.dtype) @ w.t()
    return out + bias if bias is not None else out


def anchor_mask(height, width, device=None):
    """[1, 1, H, W] bool: True at anchor positions ((row + col) even), decoded first."""
    i = torch.arange(height, device=device)[:, None]
    j = torch.arange(width, device=device)[None, :]
    return ((i + j) % 2 == 0)[None, None]
