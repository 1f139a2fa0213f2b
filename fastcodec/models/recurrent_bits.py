"""The bits of one iteration of a recurrent coder (toderici2017) as one stream: rANS over a binary
alphabet with one probability per bit channel, chosen by the encoder from its own counts and sent
first (semi-static coding; a learned context model over the bits is the next step of issue 37).

Stream: C bytes p_0 .. p_{C-1} (1..255: P(bit = 1) = p / 256 for every bit of channel c), then the
rANS stream (fastcodec.coding) of the C x h x w bits in C order, bit k of channel c with table row
p_c - 1. Everything is integer: the same bits decode on every machine."""
import functools

import numpy as np

from fastcodec import coding
from fastcodec.errors import BitstreamError

LEVELS = 255


@functools.lru_cache(maxsize=1)
def bit_table():
    """255 binary rows: row i codes P(1) = (i + 1) / 256."""
    p1 = np.arange(1, LEVELS + 1, dtype=np.float64) / 256
    pmfs = np.stack([1 - p1, p1], axis=1)
    return coding.pmf_to_cdf_table(pmfs, np.full(LEVELS, 2, np.int32), np.zeros(LEVELS, np.int32))


def channel_levels(bits):
    """uint8 [C]: round(256 * ones / n) of each channel, clamped to 1..255 (integer arithmetic)."""
    c = bits.shape[0]
    flat = bits.reshape(c, -1)
    n = flat.shape[1]
    ones = flat.sum(axis=1, dtype=np.int64)
    return np.clip((512 * ones + n) // (2 * n), 1, LEVELS).astype(np.uint8)


def encode_bits(bits):
    """bits: uint8 [C, h, w] of 0/1 -> bytes."""
    bits = np.ascontiguousarray(bits, dtype=np.uint8)
    if bits.ndim != 3 or bits.size == 0 or bits.max(initial=0) > 1:
        raise ValueError("bits must be a non-empty uint8 array [C, h, w] of 0 and 1")
    levels = channel_levels(bits)
    index = np.ascontiguousarray(np.broadcast_to((levels.astype(np.int32) - 1)[:, None, None], bits.shape))
    return levels.tobytes() + coding.encode(bits.astype(np.int32), index, bit_table())


def decode_bits(data, shape):
    """The inverse of encode_bits: uint8 [C, h, w]. BitstreamError for bytes that do not fit."""
    c = int(shape[0])
    if len(data) < c:
        raise BitstreamError(f"bit stream of {len(data)} bytes is shorter than its {c} channel probabilities")
    levels = np.frombuffer(bytes(data[:c]), np.uint8)
    if not levels.all():
        raise BitstreamError("bit stream holds a zero channel probability")
    index = np.ascontiguousarray(np.broadcast_to((levels.astype(np.int32) - 1)[:, None, None], tuple(shape)))
    bits = coding.decode(bytes(data[c:]), index, bit_table())
    if bits.min(initial=0) < 0 or bits.max(initial=0) > 1:
        raise BitstreamError("bit stream decodes to values other than 0 and 1")
    return bits.astype(np.uint8).reshape(shape)
