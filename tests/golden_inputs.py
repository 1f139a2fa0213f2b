"""Deterministic inputs for golden-bytes tests: integer formulas only (no RNG, no libm), so the
same arrays come out on every machine and numpy version."""
import numpy as np

from fastcodec import coding


def golden_table():
    """Three rows: skewed 5-symbol, flat 33-symbol, and a 2-symbol row (escape-heavy), precision 16."""
    rows = [
        [1000, 9000, 40000, 9000, 6000, 536],      # 5 literals + escape
        [1985] * 32 + [65536 - 1985 * 32],       # 32 literals + escape
        [65000, 536],                              # 1 literal + escape
    ]
    width = max(len(r) for r in rows) + 1
    cdfs = np.full((3, width), 65536, np.int32)
    for t, freqs in enumerate(rows):
        cdfs[t, : len(freqs) + 1] = np.concatenate([[0], np.cumsum(freqs)])
    lengths = np.array([len(r) + 1 for r in rows], np.int32)
    return coding.CdfTable(cdfs, lengths, np.array([-2, -16, 0], np.int32), precision=16)


def golden_symbols(n):
    """(symbols, indexes) from a 32-bit LCG; about 3 % escapes of all sizes."""
    state, out = 12345, []
    for _ in range(n):
        state = (state * 6364136223846793005 + 1442695040888963407) % 2**64
        out.append(state >> 33)
    vals = np.array(out, dtype=np.int64)
    idx = (vals % 3).astype(np.int32)
    sym = (vals // 3 % 7 - 3).astype(np.int64)
    sym = np.where(idx == 1, vals // 3 % 37 - 18, sym)
    sym = np.where(idx == 2, (vals // 3 % 40 == 0) * (vals % 1000 - 500), sym)
    big = vals % 97 == 0
    sym = np.where(big, (vals << 1) - 2**31, sym)
    return np.clip(sym, -2**31, 2**31 - 1).astype(np.int32), idx
