"""encode/decode (one stream) and encode_batch/decode_batch (many streams on C++ threads)."""
import numpy as np

from fastcodec._native import core as _core
from fastcodec.coding import _args
from fastcodec.coding._table import CdfTable

#: Coder names: "ans" is the interleaved rANS coder (a stack: fastest, the default), "range" the
#: range coder (a queue).
CODERS = {"ans": 0, "range": 1}


def _coder_id(coder):
    try:
        return CODERS[coder]
    except (KeyError, TypeError):
        raise ValueError(f"coder must be one of {sorted(CODERS)}, got {coder!r}") from None


def _table(table):
    if not isinstance(table, CdfTable):
        raise TypeError(f"table must be a fastcodec.coding.CdfTable, got {type(table).__name__}")
    return table._core


def encode(symbols, indexes, table, coder="ans"):
    """Codes int32 ``symbols`` with the rows ``indexes`` of ``table``; returns the stream as bytes.

    ``symbols`` and ``indexes`` are C-contiguous int32 arrays with the same number of elements
    (any shape; read in C order). Every int32 value round-trips: values outside a row's range are
    escaped. Raises TypeError for other dtypes or layouts, ValueError for an index outside the
    table or a size mismatch.
    """
    symbols = _args.int32_array(symbols, "symbols")
    indexes = _args.int32_array(indexes, "indexes")
    _args.same_size(symbols, "symbols", indexes, "indexes")
    return _core.encode(_table(table), symbols, indexes, _coder_id(coder))


def decode(data, indexes, table, coder="ans"):
    """Decodes a stream made by :func:`encode` with the same ``indexes``, ``table`` and ``coder``.

    Returns an int32 array shaped like ``indexes``. Raises :class:`fastcodec.BitstreamError` for
    bytes that cannot be such a stream (truncated, trailing or inconsistent data); corruption that
    stays consistent decodes to other symbols of the requested count. Never reads outside ``data``.
    """
    indexes = _args.int32_array(indexes, "indexes")
    data = _args.byte_buffer(data, "data")
    return _core.decode(_table(table), data, indexes, _coder_id(coder))


def encode_batch(symbols, indexes, table, coder="ans", threads=None):
    """Encodes independent streams on C++ threads (GIL released); ``threads=None`` uses all cores.

    ``symbols`` and ``indexes`` are equal-length lists of arrays as for :func:`encode`. Returns a
    list of bytes, each identical to what :func:`encode` gives for that stream.
    """
    symbols = _args.sequence(symbols, "symbols")
    indexes = _args.sequence(indexes, "indexes")
    if len(symbols) != len(indexes):
        raise ValueError(f"symbols and indexes must be lists of the same length, got {len(symbols)} and {len(indexes)}")
    for k, (s, i) in enumerate(zip(symbols, indexes)):
        _args.int32_array(s, f"symbols[{k}]")
        _args.int32_array(i, f"indexes[{k}]")
        _args.same_size(s, f"symbols[{k}]", i, f"indexes[{k}]")
    return _core.encode_batch(_table(table), symbols, indexes, _coder_id(coder), _args.threads(threads))


def decode_batch(data, indexes, table, coder="ans", threads=None):
    """Decodes independent streams on C++ threads; the inverse of :func:`encode_batch`.

    Raises :class:`fastcodec.BitstreamError` naming the first invalid stream.
    """
    data = _args.sequence(data, "data")
    indexes = _args.sequence(indexes, "indexes")
    if len(data) != len(indexes):
        raise ValueError(f"data and indexes must be lists of the same length, got {len(data)} and {len(indexes)}")
    data = [_args.byte_buffer(d, f"data[{k}]") for k, d in enumerate(data)]
    for k, i in enumerate(indexes):
        _args.int32_array(i, f"indexes[{k}]")
    return _core.decode_batch(_table(table), data, indexes, _coder_id(coder), _args.threads(threads))


def max_encoded_size(num_symbols, num_escapes=0, coder="ans"):
    """Upper bound on the bytes :func:`encode` returns for ``num_symbols`` symbols of which
    ``num_escapes`` fall outside their row (like zstd's compressBound)."""
    if num_symbols < 0 or num_escapes < 0 or num_escapes > num_symbols:
        raise ValueError("need 0 <= num_escapes <= num_symbols")
    return _core.max_encoded_size(int(num_symbols), int(num_escapes), _coder_id(coder))


def ideal_bits(symbols, indexes, table):
    """Information content in bits of ``symbols`` under the table model: sum of -log2(freq /
    2^precision) of each coded symbol plus the bypass bits of escaped values. A coder's output
    minus this is its overhead."""
    symbols = _args.int32_array(symbols, "symbols").reshape(-1)
    indexes = _args.int32_array(indexes, "indexes").reshape(-1)
    _args.same_size(symbols, "symbols", indexes, "indexes")
    if indexes.size and (indexes.min() < 0 or indexes.max() >= table.num_tables):
        raise ValueError(f"indexes must lie in [0, {table.num_tables})")
    cdfs = table.cdfs.astype(np.int64)
    esc = table.lengths.astype(np.int64)[indexes] - 2
    d = symbols.astype(np.int64) - table.offsets.astype(np.int64)[indexes]
    inside = (d >= 0) & (d < esc)
    sym = np.where(inside, d, esc)
    freq = cdfs[indexes, sym + 1] - cdfs[indexes, sym]
    bits = float(np.sum(table.precision - np.log2(freq)))
    if not inside.all():
        dd = d[~inside]
        raw = np.where(dd < 0, -2 * dd - 1, 2 * (dd - esc[~inside]))
        nbits = np.frexp(raw.astype(np.float64))[1].astype(np.int64)  # bit length (raw < 2^34)
        bits += float(np.sum(6 + np.maximum(nbits - 1, 0)))
    return bits
