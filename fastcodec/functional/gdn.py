"""Generalized divisive normalization (GDN, Ballé et al. 2016), plain torch.

    original:    y_i = x_i / sqrt(beta_i + sum_j gamma_ij x_j^2)      (inverse: multiply)
    simplified:  y_i = x_i / (beta_i + sum_j gamma_ij |x_j|)          (Johnston et al. 2019)
"""
import torch
import torch.nn.functional as F


def gdn(x, beta, gamma, inverse=False, simplified=False):
    """x: [B, C, H, W]; beta: [C] > 0; gamma: [C, C] >= 0 (already reparameterized)."""
    c = x.shape[1]
    weight = gamma.reshape(c, c, 1, 1).to(x.dtype)
    if simplified:
        norm = F.conv2d(x.abs(), weight, beta.to(x.dtype))
        return x * norm if inverse else x / norm
    norm = F.conv2d(x * x, weight, beta.to(x.dtype))
    if not torch.is_grad_enabled() or not (x.requires_grad or gamma.requires_grad or beta.requires_grad):
        # inference: in place, no extra full-size temporaries (same values)
        return (norm.sqrt_() if inverse else norm.rsqrt_()).mul_(x)
    return x * torch.sqrt(norm) if inverse else x * torch.rsqrt(norm)
