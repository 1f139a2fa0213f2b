"""Masked convolutions of the context models.

MaskedConv2d type "A" (Minnen et al. 2018, after PixelCNN): a k x k kernel that sees only the
positions before the centre in raster order (rows above, and the left part of the current row).
CheckerboardConv2d (He et al. 2021): a kernel that sees only the positions of the other checkerboard
colour, so all "non-anchor" latents are predicted at once from the decoded "anchors".
"""
import torch
from torch import nn


def raster_mask(kernel_size, mask_type="A"):
    """[k, k] float mask: 1 where the kernel may look. Type B also sees the centre."""
    k = kernel_size
    mask = torch.zeros(k, k)
    mask[: k // 2, :] = 1
    mask[k // 2, : k // 2 + (mask_type == "B")] = 1
    return mask


def checkerboard_mask(kernel_size):
    """[k, k] mask with ones where (i + j) is odd relative to the centre: the other colour."""
    k = kernel_size
    i = torch.arange(k)[:, None]
    j = torch.arange(k)[None, :]
    return ((i + j + 2 * (k // 2)) % 2 == 1).float()


class _FixedMaskConv2d(nn.Conv2d):
    def __init__(self, in_channels, out_channels, kernel_size, mask):
        super().__init__(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        self.register_buffer("mask", mask.expand_as(self.weight).clone(), persistent=False)

    def forward(self, x):
        return self._conv_forward(x, self.weight * self.mask.to(self.weight.dtype), self.bias)


class MaskedConv2d(_FixedMaskConv2d):
    def __init__(self, in_channels, out_channels, kernel_size=5, mask_type="A"):
        super().__init__(in_channels, out_channels, kernel_size, raster_mask(kernel_size, mask_type))


class CheckerboardConv2d(_FixedMaskConv2d):
    def __init__(self, in_channels, out_channels, kernel_size=5):
        super().__init__(in_channels, out_channels, kernel_size, checkerboard_mask(kernel_size))


def anchor_mask(height, width, device=None):
    """[1, 1, H, W] bool: True at anchor positions ((row + col) even), decoded first."""
    i = torch.arange(height, device=device)[:, None]
    j = torch.arange(width, device=device)[None, :]
    return ((i + j) % 2 == 0)[None, None]
