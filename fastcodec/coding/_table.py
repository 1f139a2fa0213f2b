"""CdfTable: validated, immutable probability tables; pmf_to_cdf_table: build them from pmfs."""
import numpy as np

from fastcodec._native import core as _core
from fastcodec.coding._args import int32_array

MIN_PRECISION = _core.MIN_PRECISION
MAX_PRECISION = _core.MAX_PRECISION

# pmf entries become integer weights round(p * 2^_WEIGHT_BITS) before quantization: a power-of-two
# scale and round-half-even are exact IEEE operations, so every machine gets the same integers.
_WEIGHT_BITS = 40


def _frozen(a):
    a = np.array(a, dtype=np.int32, copy=True, order="C")
    a.flags.writeable = False
    return a


class CdfTable:
    """Cumulative frequency tables in CompressAI's layout, validated once and immutable.

    Row ``t`` uses ``lengths[t]`` entries of ``cdfs[t]``: ``cdfs[t, 0] == 0``, strictly increasing,
    ``cdfs[t, lengths[t] - 1] == 2**precision``. It codes ``lengths[t] - 1`` symbols; the last one
    is the escape symbol. A value ``v`` coded with row ``t`` is the symbol ``v - offsets[t]`` when
    that lies in ``[0, lengths[t] - 2)``; any other int32 is coded as the escape symbol followed by
    bypass bits, so every int32 round-trips.

    ``precision`` is the number of bits of the frequencies, from 8 to 16 (the rANS coder keeps a
    32-bit state renormalized in 16-bit words, which bounds it at 16).

    Raises TypeError for arrays that are not C-contiguous int32, ValueError naming the row and the
    fault for an invalid table.
    """

    __slots__ = ("_core", "_cdfs", "_lengths", "_offsets")

    def __init__(self, cdfs, lengths, offsets, precision=16):
        cdfs = int32_array(cdfs, "cdfs")
        lengths = int32_array(lengths, "lengths")
        offsets = int32_array(offsets, "offsets")
        if cdfs.ndim != 2:
            raise ValueError(f"cdfs must be 2-D [tables, max_length], got shape {cdfs.shape}")
        if lengths.shape != (cdfs.shape[0],):
            raise ValueError(f"lengths must have shape ({cdfs.shape[0]},) to match cdfs, got {lengths.shape}")
        if offsets.shape != (cdfs.shape[0],):
            raise ValueError(f"offsets must have shape ({cdfs.shape[0]},) to match cdfs, got {offsets.shape}")
        if not isinstance(precision, (int, np.integer)) or isinstance(precision, bool):
            raise TypeError(f"precision must be an int, got {type(precision).__name__}")
        self._core = _core.CdfTable(cdfs, lengths, offsets, int(precision))
        self._cdfs, self._lengths, self._offsets = _frozen(cdfs), _frozen(lengths), _frozen(offsets)

    @property
    def cdfs(self):
        """Read-only copy of the cdf rows (int32 [T, Lmax])."""
        return self._cdfs

    @property
    def lengths(self):
        return self._lengths

    @property
    def offsets(self):
        return self._offsets

    @property
    def precision(self):
        return self._core.precision

    @property
    def num_tables(self):
        return self._core.num_tables

    @property
    def memory_bytes(self):
        """Bytes held by the coder-side tables (encoder constants, cdfs, decoder buckets)."""
        return self._core.memory_bytes

    def __len__(self):
        return self.num_tables

    def __repr__(self):
        return (f"CdfTable(num_tables={self.num_tables}, max_length={self._cdfs.shape[1]}, "
                f"precision={self.precision})")

    def __eq__(self, other):
        if not isinstance(other, CdfTable):
            return NotImplemented
        return (self.precision == other.precision and np.array_equal(self._lengths, other._lengths)
                and np.array_equal(self._offsets, other._offsets) and np.array_equal(self._cdfs, other._cdfs))

    __hash__ = None

    def __reduce__(self):
        return (CdfTable, (np.array(self._cdfs), np.array(self._lengths), np.array(self._offsets), self.precision))


def pmf_to_cdf_table(pmfs, lengths, offsets, precision=16, tail_mass=None):
    """Quantizes probability vectors into a CdfTable, identically on every machine.

    ``pmfs`` is float [T, Lmax]: row ``t`` gives the probabilities of the values ``offsets[t] +
    i`` for ``i < lengths[t]``. Each row gets one more symbol, the escape, whose probability is
    ``tail_mass[t]`` if given, else what the row leaves of 1 (at least one count either way).
    Every symbol gets a frequency of at least 1; the rest is shared in proportion to the
    probabilities, by integer arithmetic only. The result has ``lengths + 2`` cdf entries per row.
    """
    pmfs = np.asarray(pmfs)
    if pmfs.ndim != 2 or not np.issubdtype(pmfs.dtype, np.floating):
        raise TypeError(f"pmfs must be a 2-D float array [tables, max_length], got {pmfs.dtype} with shape {pmfs.shape}")
    lengths = np.asarray(lengths)
    offsets = np.asarray(offsets)
    rows, width = pmfs.shape
    if lengths.shape != (rows,) or not np.issubdtype(lengths.dtype, np.integer):
        raise ValueError(f"lengths must be an integer array of shape ({rows},), got {lengths.dtype} {lengths.shape}")
    if offsets.shape != (rows,) or not np.issubdtype(offsets.dtype, np.integer):
        raise ValueError(f"offsets must be an integer array of shape ({rows},), got {offsets.dtype} {offsets.shape}")
    if np.any(offsets < np.iinfo(np.int32).min) or np.any(offsets > np.iinfo(np.int32).max):
        raise ValueError("offsets must fit in int32")
    if np.any(lengths < 1) or np.any(lengths > width):
        raise ValueError(f"lengths must lie in [1, {width}] (the pmf row width)")
    p = pmfs.astype(np.float64)
    used = np.arange(width)[None, :] < lengths[:, None]
    if not np.all(np.isfinite(p[used])) or np.any(p[used] < 0) or np.any(p[used] > 1):
        bad = int(np.argwhere(used & ~((p >= 0) & (p <= 1)))[0][0])
        raise ValueError(f"pmfs row {bad} holds a value outside [0, 1] or not finite")
    weights = np.zeros((rows, width + 1), dtype=np.int64)
    weights[:, :width] = np.where(used, np.rint(np.ldexp(np.where(used, p, 0.0), _WEIGHT_BITS)), 0).astype(np.int64)
    one = np.int64(1) << _WEIGHT_BITS
    if tail_mass is None:
        tails = np.maximum(one - weights.sum(axis=1), 0)  # integer sum: exact and order-free
    else:
        tail_mass = np.asarray(tail_mass, dtype=np.float64)
        if tail_mass.shape != (rows,) or not np.all((tail_mass >= 0) & (tail_mass <= 1)):
            raise ValueError(f"tail_mass must be {rows} values in [0, 1]")
        tails = np.rint(np.ldexp(tail_mass, _WEIGHT_BITS)).astype(np.int64)
    weights[np.arange(rows), lengths] = tails
    counts = (lengths + 1).astype(np.int32)
    cdfs = _core.quantize_weight_rows(weights, counts, int(precision))
    return CdfTable(cdfs, (lengths + 2).astype(np.int32), offsets.astype(np.int32), precision)
