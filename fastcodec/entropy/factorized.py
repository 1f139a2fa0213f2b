"""Factorized (non-parametric) density of Ballé et al. 2018, appendix 6.1, as a torch module.

Each channel has its own monotone cumulative c(x) = sigmoid(f(x)) with f a small network
(1 -> 3 -> 3 -> 3 -> 1) whose matrices are softplus-positive and whose tanh gates keep it monotone.
The likelihood of an integer-quantized value is c(x + 1/2) - c(x - 1/2) (computed on the side of
the median where it is numerically stable). Parameter names follow CompressAI's EntropyBottleneck.
Always evaluated in float32: it decides the rate.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from fastcodec.functional.bounds import lower_bound

LIKELIHOOD_BOUND = 1e-9


class EntropyBottleneck(nn.Module):
    def __init__(self, channels, filters=(3, 3, 3), init_scale=10.0):
        super().__init__()
        self.channels = int(channels)
        self.filters = tuple(int(f) for f in filters)
        dims = (1,) + self.filters + (1,)
        scale = init_scale ** (1 / (len(self.filters) + 1))
        for i in range(len(self.filters) + 1):
            init = math.log(math.expm1(1 / scale / dims[i + 1]))
            self.register_parameter(f"_matrix{i}", nn.Parameter(torch.full((channels, dims[i + 1], dims[i]), init)))
            self.register_parameter(f"_bias{i}", nn.Parameter(torch.rand(channels, dims[i + 1], 1) - 0.5))
            if i < len(self.filters):
                self.register_parameter(f"_factor{i}", nn.Parameter(torch.zeros(channels, dims[i + 1], 1)))

    def logits_cumulative(self, x, first=0):
        """x: [C, 1, N] -> f(x): [C, 1, N] with the densities of channels first .. first + C - 1;
        sigmoid of it is the cumulative."""
        sl = slice(first, first + x.shape[0])
        logits = x
        for i in range(len(self.filters) + 1):
            logits = torch.matmul(F.softplus(getattr(self, f"_matrix{i}")[sl]), logits) + getattr(self, f"_bias{i}")[sl]
            if i < len(self.filters):
                logits = logits + torch.tanh(getattr(self, f"_factor{i}")[sl]) * torch.tanh(logits)
        return logits

    def likelihood(self, values, first=0):
        """values: [B, C, H, W] (float32, already noisy or rounded) -> likelihoods, same shape, under
        the densities of channels first .. first + C - 1 (a bottleneck may hold one set of
        densities per quality: see bmshj2018-factorized)."""
        b, c, h, w = values.shape
        v = values.float().permute(1, 0, 2, 3).reshape(c, 1, -1)
        lower = self.logits_cumulative(v - 0.5, first)
        upper = self.logits_cumulative(v + 0.5, first)
        sign = -torch.sign(lower + upper).detach()
        lik = torch.abs(torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower))
        lik = lower_bound(lik, LIKELIHOOD_BOUND)
        return lik.reshape(c, b, h, w).permute(1, 0, 2, 3)

    @torch.no_grad()
    def medians(self, iters=60):
        """Per-channel x with c(x) = 1/2, by bisection (c is monotone)."""
        lo = torch.full((self.channels, 1, 1), -1e4)
        hi = torch.full((self.channels, 1, 1), 1e4)
        for _ in range(iters):
            mid = (lo + hi) / 2
            below = self.logits_cumulative(mid) < 0
            lo = torch.where(below, mid, lo)
            hi = torch.where(below, hi, mid)
        return ((lo + hi) / 2).reshape(-1)

    @torch.no_grad()
    def pmfs(self, tail_mass=1e-9, max_half_width=4096):
        """(pmfs [C, L], lengths [C], offsets [C]) over integers around each channel's median,
        covering all but ~tail_mass of the density; for building coding tables."""
        med = torch.round(self.medians())
        grid = torch.arange(-max_half_width, max_half_width + 1, dtype=torch.float32)
        x = (med[:, None] + grid[None, :]).reshape(self.channels, 1, -1)
        cdf = torch.sigmoid(self.logits_cumulative(x + 0.5)).reshape(self.channels, -1).double()
        lo = (cdf < tail_mass / 2).sum(dim=1)                # first index with cdf >= tail/2
        hi = (cdf < 1 - tail_mass / 2).sum(dim=1)            # first index with cdf >= 1 - tail/2
        lengths = (hi - lo + 1).clamp(min=1)
        width = int(lengths.max())
        pmfs = np.zeros((self.channels, width))
        cdf_np = cdf.numpy()
        for ch in range(self.channels):
            a, n = int(lo[ch]), int(lengths[ch])
            upper = cdf_np[ch, a:a + n]
            lower = np.concatenate([[cdf_np[ch, a - 1] if a > 0 else 0.0], cdf_np[ch, a:a + n - 1]])
            pmfs[ch, :n] = np.clip(upper - lower, 0, 1)
        offsets = (med - max_half_width + lo.float()).numpy().astype(np.int64)
        return pmfs, lengths.numpy().astype(np.int64), offsets
