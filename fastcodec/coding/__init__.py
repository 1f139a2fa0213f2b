"""The entropy-coding layer on its own: tables, rANS ("ans") and range ("range") coders.

Typical use::

    from fastcodec import coding
    table = coding.CdfTable(cdfs, lengths, offsets, precision=16)
    data = coding.encode(symbols, indexes, table, coder="ans")
    symbols = coding.decode(data, indexes, table, coder="ans")

Tables use CompressAI's layout (``quantized_cdf``, ``cdf_length``, ``offset``). This package never
imports torch.
"""
from fastcodec.coding._codec import (
    CODERS,
    decode,
    decode_batch,
    encode,
    encode_batch,
    ideal_bits,
    max_encoded_size,
)
from fastcodec.coding._stream import StreamDecoder
from fastcodec.coding._table import MAX_PRECISION, MIN_PRECISION, CdfTable, pmf_to_cdf_table

__all__ = [
    "CODERS",
    "CdfTable",
    "MAX_PRECISION",
    "MIN_PRECISION",
    "StreamDecoder",
    "decode",
    "decode_batch",
    "encode",
    "encode_batch",
    "ideal_bits",
    "max_encoded_size",
    "pmf_to_cdf_table",
]
