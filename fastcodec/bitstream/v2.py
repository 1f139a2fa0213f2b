"""Container format version 2 (docs/bitstream.md): a general rate field, a CRC per stream (a
progressive file cut after stream k decodes streams 1..k; a flipped bit is caught in the stream it
hit), a progressive flag, and a flag bit reserved for tiled images.

    magic         4 bytes  b"\\x89FCX"
    version       1 byte   2
    flags         1 byte   bits 0-1 colour (0 RGB, 1 gray, 2 RGB + alpha); bit 2 progressive;
                           bit 3 tiled (reserved: this reader rejects it); bits 4-7 zero
    model id      4 bytes  see fastcodec.bitstream.header.model_id
    rate kind     1 byte   0 quality, 1 continuous value, 2 progressive steps
    rate value    varint   quality or value: round(value * 256); steps: the count
    height        varint   image rows (>= 1)
    width         varint   image columns (>= 1)
    streams       varint   number of payload streams n: the alpha plane's first (RGB + alpha),
                           then the model's in its coding order
    per stream    varint length, then 4 bytes: uint32 LE zlib CRC-32 of the stream's bytes
    header crc32  4 bytes  uint32 LE, zlib CRC-32 of every header byte before it
    payload       the n streams, concatenated
"""
import struct
import zlib

from fastcodec.bitstream._bytes import Reader, varint
from fastcodec.bitstream.header import (COLOR_NAMES, MAGIC, RATE_KINDS, RATE_STEPS, Header, Rate)
from fastcodec.errors import BitstreamError

VERSION = 2
FLAG_PROGRESSIVE = 0x04
FLAG_TILED = 0x08
_COLOR_MASK = 0x03
#: largest rate value field: a quality or parameter up to 2**24 (x 256), a step count up to 2**32
_MAX_RATE_FIELD = (1 << 32) - 1


def rate_field(rate):
    """The integer the header stores for `rate` (a Rate)."""
    if rate.kind == RATE_STEPS:
        value = rate.value
        if value != int(value):
            raise ValueError(f"a step count must be an integer, got {value}")
        field = int(value)
    else:
        field = round(rate.value * 256)
    if not 0 <= field <= _MAX_RATE_FIELD:
        raise ValueError(f"rate value {rate.value} cannot be stored (0 <= field <= 2**32 - 1)")
    return field


def pack(model_id_bytes, rate, height, width, color, streams, progressive=False):
    """Version-2 container bytes; streams in file order (alpha first, then the model's)."""
    if len(model_id_bytes) != 4:
        raise ValueError("model id must be 4 bytes")
    if color not in COLOR_NAMES:
        raise ValueError(f"color must be one of {sorted(COLOR_NAMES)}, got {color!r}")
    if not streams:
        raise ValueError("a container holds at least one stream")
    head = bytearray(MAGIC)
    head.append(VERSION)
    head.append(color | (FLAG_PROGRESSIVE if progressive else 0))
    head += model_id_bytes
    head.append(rate.kind)
    head += varint(rate_field(rate))
    head += varint(height) + varint(width)
    head += varint(len(streams))
    for s in streams:
        head += varint(len(s)) + struct.pack("<I", zlib.crc32(s))
    head += struct.pack("<I", zlib.crc32(head))
    return bytes(head) + b"".join(bytes(s) for s in streams)


def read_header(r, limits, check_size):
    """The header after magic and version (r: a Reader positioned after them), its CRC checked."""
    flags = r.byte("flags")
    if flags & FLAG_TILED:
        raise BitstreamError("tiled containers are not supported by this reader (flag bit 3)")
    if flags & ~(_COLOR_MASK | FLAG_PROGRESSIVE) or (flags & _COLOR_MASK) not in COLOR_NAMES:
        raise BitstreamError(f"invalid container: flags {flags:#x}")
    mid = r.take(4, "model id")
    kind = r.byte("rate kind")
    if kind not in RATE_KINDS:
        raise BitstreamError(f"invalid container: rate kind {kind}")
    field = r.varint("rate value")
    if field > _MAX_RATE_FIELD:
        raise BitstreamError(f"invalid container: rate value field {field}")
    rate = Rate(kind, field if kind == RATE_STEPS else field / 256)
    height, width = r.varint("height"), r.varint("width")
    check_size(height, width)
    n = r.varint("stream count")
    if not 1 <= n <= limits.max_streams:
        raise BitstreamError(f"invalid container: {n} streams (1..{limits.max_streams})")
    lengths, crcs = [], []
    for k in range(n):
        length = r.varint(f"length of stream {k}")
        if length > limits.max_stream_bytes:
            raise BitstreamError(f"invalid container: stream {k} is longer than the limit")
        lengths.append(length)
        crcs.append(struct.unpack("<I", r.take(4, f"checksum of stream {k}"))[0])
    (stored,) = struct.unpack("<I", r.take(4, "header checksum"))
    if zlib.crc32(r.data[:r.pos - 4]) != stored:
        raise BitstreamError("container header checksum mismatch: the header is corrupted")
    return Header(mid, rate, height, width, flags & _COLOR_MASK, lengths, VERSION, r.pos,
                  bool(flags & FLAG_PROGRESSIVE), crcs)


def split(data, header):
    """The streams of a version-2 container, each checked against its CRC. A progressive container
    may be cut: the streams it holds whole are returned (at least the alpha plane's, if any, and
    the model's first); a cut inside any other container is an error."""
    end = header.header_bytes + sum(header.stream_lengths)
    if len(data) > end:
        raise BitstreamError(f"container holds {len(data)} bytes, its header announces {end}")
    if len(data) < end and not header.progressive:
        raise BitstreamError(f"container holds {len(data)} bytes, its header announces {end} "
                             "(a cut file decodes only when it is progressive)")
    streams, pos = [], header.header_bytes
    for k, (length, crc) in enumerate(zip(header.stream_lengths, header.stream_crcs)):
        if pos + length > len(data):
            break
        stream = data[pos:pos + length]
        if zlib.crc32(stream) != crc:
            raise BitstreamError(f"stream {k} checksum mismatch: the bytes of stream {k} are corrupted")
        streams.append(stream)
        pos += length
    if len(streams) <= header.aux_streams:
        raise BitstreamError(f"container cut at {len(data)} bytes holds none of the model's streams whole")
    return streams


def truncate(header, streams, keep):
    """A whole progressive container holding the first `keep` model streams of `streams`."""
    aux = header.aux_streams
    if not 1 <= keep <= len(streams) - aux:
        raise ValueError(f"keep must be in [1, {len(streams) - aux}] (the model streams present), got {keep}")
    rate = header.rate
    if rate.kind == RATE_STEPS:
        rate = Rate(RATE_STEPS, min(int(rate.value), keep))
    return pack(header.model_id, rate, header.height, header.width, header.color, streams[:aux + keep],
                progressive=header.progressive)


__all__ = ["FLAG_PROGRESSIVE", "FLAG_TILED", "Reader", "VERSION", "pack", "read_header", "split", "truncate"]
