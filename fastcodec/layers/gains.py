"""Per-quality gain vectors on the latent (Cui et al. 2021, "Asymmetric gained deep image
compression"): y_q = g_a(x) * gain[q], x_hat = g_s(y_hat * inv_gain[q]). One set of transforms
serves every quality; a fractional quality interpolates the gains geometrically."""
import math

import torch
from torch import nn


def quality_rows(table, q):
    """Rows of a per-quality table [Q, C] for q: LongTensor [B] of 0-based qualities, or a float
    tensor (a fractional quality interpolates linearly between its two neighbours)."""
    if q.dtype.is_floating_point:
        lo = q.floor().long().clamp(0, table.shape[0] - 1)
        hi = (lo + 1).clamp(max=table.shape[0] - 1)
        frac = (q - lo.to(q.dtype))[:, None]
        return table[lo] * (1 - frac) + table[hi] * frac
    return table[q]


class QualityGains(nn.Module):
    """Gain and inverse gain vectors, one row per quality, started from high-rate theory for the
    qualities' λ (`lambdas`)."""

    def __init__(self, channels, lambdas):
        super().__init__()
        ref = lambdas[len(lambdas) // 2 - 1]
        # High-rate theory: the quantization step scales as 1/sqrt(lambda).
        init = torch.tensor([0.5 * math.log(lam / ref) for lam in lambdas])[:, None].repeat(1, channels)
        self.log_gain = nn.Parameter(init.clone())
        self.log_inv_gain = nn.Parameter(-init.clone())

    def _select(self, table, q):
        return torch.exp(quality_rows(table, q))[:, :, None, None]

    def gain(self, q):
        return self._select(self.log_gain, q)

    def inv_gain(self, q):
        return self._select(self.log_inv_gain, q)
