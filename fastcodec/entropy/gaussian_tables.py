"""Probability tables of the Gaussian conditional (Ballé et al. 2018): one row per scale.

numpy only. A latent y with predicted scale s is coded as round(y - mean) with the table of the
table scale nearest above s; row k holds the pmf of round(N(0, scales[k])) over
[-c_k, c_k], c_k = ceil(scales[k] * Phi^-1(1 - tail_mass / 2)), plus the escape.
"""
import math
from functools import lru_cache
from pathlib import Path

import numpy as np

from fastcodec.coding import pmf_to_cdf_table

SCALE_MIN = 0.11
SCALE_MAX = 256.0
NUM_SCALES = 64
TAIL_MASS = 1e-9


def scale_table(minimum=SCALE_MIN, maximum=SCALE_MAX, levels=NUM_SCALES):
    """Log-spaced scales, as in Ballé et al. 2018 and CompressAI's default table."""
    return np.exp(np.linspace(math.log(minimum), math.log(maximum), levels))


def _std_normal_cdf(x):
    erfc = np.frompyfunc(math.erfc, 1, 1)
    return (0.5 * erfc(-np.asarray(x, dtype=np.float64) / math.sqrt(2.0))).astype(np.float64)


def _std_normal_quantile_upper(tail):
    """c with P(N(0,1) > c) = tail, by bisection (numpy has no erfinv)."""
    lo, hi = 0.0, 40.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if 0.5 * math.erfc(mid / math.sqrt(2.0)) > tail:
            lo = mid
        else:
            hi = mid
    return hi


def gaussian_pmfs(scales, tail_mass=TAIL_MASS):
    """Returns (pmfs [K, Lmax], lengths [K], offsets [K]) of round(N(0, s)) for each scale."""
    scales = np.asarray(scales, dtype=np.float64)
    mult = _std_normal_quantile_upper(tail_mass / 2)
    centers = np.ceil(scales * mult).astype(np.int64)
    lengths = 2 * centers + 1
    width = int(lengths.max())
    values = np.arange(width)[None, :] - centers[:, None]
    upper = _std_normal_cdf((values + 0.5) / scales[:, None])
    lower = _std_normal_cdf((values - 0.5) / scales[:, None])
    pmfs = np.where(values <= centers[:, None], upper - lower, 0.0)
    return pmfs, lengths.astype(np.int32), (-centers).astype(np.int32)


def gaussian_cdf_table(scales=None, tail_mass=TAIL_MASS, precision=16):
    """CdfTable with one row per scale (default: the 64-scale table of :func:`scale_table`)."""
    scales = scale_table() if scales is None else scales
    pmfs, lengths, offsets = gaussian_pmfs(scales, tail_mass)
    return pmf_to_cdf_table(pmfs, lengths, offsets, precision=precision)


def scale_indexes(stds, scales):
    """Index of the smallest table scale >= each std (the last one for larger stds), int32."""
    idx = np.searchsorted(np.asarray(scales), np.asarray(stds, dtype=np.float64), side="left")
    return np.minimum(idx, len(scales) - 1).astype(np.int32)


SHIPPED = Path(__file__).resolve().parent / "data" / "gaussian_v1.npz"


def save_table(table, scales, path=SHIPPED):
    """Stores a table compactly: each row's frequencies (uint16, the cdf's differences)."""
    lengths = table.lengths.astype(np.int64)
    freqs = np.concatenate([np.diff(table.cdfs[t, :lengths[t]]) for t in range(table.num_tables)])
    np.savez_compressed(path, freqs=freqs.astype(np.uint16), lengths=table.lengths, offsets=table.offsets,
                        scales=np.asarray(scales, dtype=np.float32), precision=np.int32(table.precision))


@lru_cache(maxsize=1)
def shipped_gaussian_table():
    """(scales float32 [K], CdfTable) of the Gaussian conditional, as shipped (format version 1).
    Integers computed once from the formulas above and stored, so every machine codes y with the
    same table whatever its libm does in the last bits of erfc."""
    from fastcodec.coding import CdfTable

    with np.load(SHIPPED) as f:
        freqs, lengths, offsets = f["freqs"].astype(np.int64), f["lengths"], f["offsets"]
        scales, precision = f["scales"], int(f["precision"])
    width = int(lengths.max())
    cdfs = np.full((len(lengths), width), 1 << precision, dtype=np.int32)
    pos = 0
    for t, n in enumerate(lengths.tolist()):
        cdfs[t, 0] = 0
        cdfs[t, 1:n] = np.cumsum(freqs[pos:pos + n - 1])
        pos += n - 1
    return scales, CdfTable(cdfs, lengths.astype(np.int32), offsets.astype(np.int32), precision)
