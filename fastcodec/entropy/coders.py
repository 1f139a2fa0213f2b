"""Entropy coding of model latents through fastcodec.coding (torch tensors in, bytes out).

GaussianCoder codes y given per-element scales (and means): symbol round(y - mean), table = the
smallest table scale >= the predicted scale (Ballé et al. 2018). FactorizedCoder codes a latent
with an EntropyBottleneck's per-channel tables (symbol = round(z)). Both work on one image
(batch 1) at a time; the element order is C-order of the given tensors.
"""
import functools

import numpy as np
import torch

from fastcodec import coding
from fastcodec.entropy.gaussian_tables import shipped_gaussian_table


@functools.lru_cache(maxsize=1)
def _gaussian_table():
    scales, table = shipped_gaussian_table()
    return torch.from_numpy(scales.copy()), table


def table_scales():
    """float64 [T]: the scale of each Gaussian coding table (a symbol with predicted scale s takes the
    first table whose scale is >= s)."""
    return _gaussian_table()[0].double()


def scale_indexes(scales):
    """int32 numpy indexes of the smallest table scale >= each scale (the largest for larger)."""
    table_scales, _ = _gaussian_table()
    # int32 straight away (no int64 array of the latent's size: 600 MB at 100 megapixels)
    idx = torch.searchsorted(table_scales, scales.detach().float().cpu().contiguous(), right=False, out_int32=True)
    return idx.clamp_(max=len(table_scales) - 1).numpy()


def _np_int32(t):
    return np.ascontiguousarray(t.detach().to(torch.int32).cpu().numpy())


class GaussianCoder:
    """Codes y ~ N(mean, scale) element-wise."""

    @staticmethod
    def table():
        return _gaussian_table()[1]

    @staticmethod
    def symbols(y, means=None):
        return (y - means).round_() if means is not None else torch.round(y)

    @classmethod
    def encode(cls, y, scales, means=None):
        return coding.encode(_np_int32(cls.symbols(y, means)), scale_indexes(scales), cls.table())

    @classmethod
    def decode(cls, data, scales, means=None):
        sym = coding.decode(data, scale_indexes(scales), cls.table())
        y = torch.from_numpy(sym).to(scales.device, torch.float32)
        return y + means if means is not None else y


class FactorizedCoder:
    """Codes a [1, C, H, W] latent with one table per channel of an EntropyBottleneck. The tables
    are computed from the bottleneck's float density once, when a model is exported, and shipped
    with its weights (integers), so every machine codes z with the same tables; from_bottleneck
    computes them (for models without stored tables)."""

    def __init__(self, table):
        self.table = table
        self.channels = table.num_tables

    @classmethod
    def from_bottleneck(cls, bottleneck):
        pmfs, lengths, offsets = bottleneck.pmfs()
        return cls(coding.pmf_to_cdf_table(pmfs, lengths, offsets, precision=16))

    def _indexes(self, shape, first=0):
        c = shape[1]
        if first < 0 or first + c > self.channels:
            raise ValueError(f"tables {first}..{first + c - 1} asked of a coder with {self.channels}")
        idx = np.arange(first, first + c, dtype=np.int32)
        return np.ascontiguousarray(np.broadcast_to(idx[:, None, None], shape[1:]))

    def encode(self, z, first=0):
        """z [1, C, H, W] with the tables of channels first .. first + C - 1."""
        return coding.encode(_np_int32(torch.round(z[0])), self._indexes(z.shape, first), self.table)

    def decode(self, data, shape, device="cpu", first=0):
        sym = coding.decode(data, self._indexes(shape, first), self.table)
        return torch.from_numpy(sym).to(device, torch.float32)[None]
