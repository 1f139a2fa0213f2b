"""Masked convolutions of the context models.

MaskedConv2d type "A" (Minnen et al. 2018, after PixelCNN): a k x k kernel that sees only the
positions before the centre in raster order (rows above, and the left part of the current row).
CheckerboardConv2d (He et al. 2021): a kernel that sees only the positions of the other checkerboard
colour, so all "non-anchor" latents are predicted at once from the decoded "anchors".
"""
import importlib.util

import torch
from torch import nn

from fastcodec.functional.masked_conv import anchor_mask, masked_conv2d_at  # noqa: F401  (anchor_mask: re-exported)


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
    """backend: "auto" uses the Triton kernels (fastcodec.kernels.masked_conv, forward only) for CUDA
    tensors when no gradient is needed, the torch reference otherwise; "torch"/"triton" force one."""

    def __init__(self, in_channels, out_channels, kernel_size, mask, backend="auto"):
        super().__init__(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        if backend not in ("auto", "torch", "triton"):
            raise ValueError(f"backend must be 'auto', 'torch' or 'triton', got {backend!r}")
        self.backend = backend
        self.register_buffer("mask", mask.expand_as(self.weight).clone(), persistent=False)
        self.register_buffer("mask2d", mask.clone(), persistent=False)

    def _use_kernel(self, x):
        if self.backend == "auto":
            needs_grad = torch.is_grad_enabled() and (x.requires_grad or self.weight.requires_grad)
            return x.is_cuda and not needs_grad and importlib.util.find_spec("triton") is not None
        return self.backend == "triton"

    def forward(self, x):
        if self._use_kernel(x):
            from fastcodec.kernels.masked_conv import masked_conv2d

            return masked_conv2d(x, self.weight, self.bias, self.mask2d)
        return self._conv_forward(x, self.weight * self.mask.to(self.weight.dtype), self.bias)

    def forward_at(self, x, positions):
        """The output [N, Cout] at positions [N, 3] (b, h, w) only: the decoder's incremental form."""
        if self._use_kernel(x):
            from fastcodec.kernels.masked_conv import masked_conv2d_at as fused

            return fused(x, self.weight, self.bias, self.mask2d, positions)
        return masked_conv2d_at(x, self.weight, self.bias, self.mask2d, positions)


class MaskedConv2d(_FixedMaskConv2d):
    def __init__(self, in_channels, out_channels, kernel_size=5, mask_type="A", backend="auto"):
        super().__init__(in_channels, out_channels, kernel_size, raster_mask(kernel_size, mask_type), backend)


class CheckerboardConv2d(_FixedMaskConv2d):
    def __init__(self, in_channels, out_channels, kernel_size=5, backend="auto"):
        super().__init__(in_channels, out_channels, kernel_size, checkerboard_mask(kernel_size), backend)
