"""Container format version 1 (read forever, written only to make test files):

    magic        4 bytes  b"\\x89FCX"
    version      1 byte   1
    model id     4 bytes  see fastcodec.bitstream.header.model_id
    quality      2 bytes  uint16 LE, quality * 256 (1.0 .. 8.0)
    height       varint   image rows (>= 1)
    width        varint   image columns (>= 1)
    flags        1 byte   bits 0-1: colour (0 RGB, 1 gray, 2 RGB + alpha); bits 2-7 zero
    streams      1 byte   number of payload streams n: the model's, then the alpha plane's
    lengths      n varints, the byte length of each stream
    crc32        4 bytes  uint32 LE, zlib CRC-32 of every byte before it and of the payload
    payload      the n streams, concatenated
"""
import struct
import zlib

from fastcodec.bitstream._bytes import Reader, varint
from fastcodec.bitstream.header import COLOR_NAMES, MAGIC, RATE_QUALITY, Header, Rate
from fastcodec.errors import BitstreamError

VERSION = 1


def pack(model_id_bytes, quality, height, width, color, streams):
    """Version-1 container bytes (alpha, if any, as the last stream)."""
    if len(model_id_bytes) != 4:
        raise ValueError("model id must be 4 bytes")
    q = round(quality * 256)
    if not 256 <= q <= 8 * 256:
        raise ValueError(f"quality must be in [1, 8], got {quality}")
    head = bytearray(MAGIC)
    head.append(VERSION)
    head += model_id_bytes
    head += struct.pack("<H", q)
    head += varint(height) + varint(width)
    head.append(color)
    head.append(len(streams))
    for s in streams:
        head += varint(len(s))
    crc = zlib.crc32(head)
    for s in streams:
        crc = zlib.crc32(s, crc)
    return bytes(head) + struct.pack("<I", crc) + b"".join(streams)


def read_header(r, limits, check_size):
    """The header after magic and version (r: a Reader positioned after them)."""
    mid = r.take(4, "model id")
    (q,) = struct.unpack("<H", r.take(2, "quality"))
    if not 256 <= q <= 8 * 256:
        raise BitstreamError(f"invalid container: quality {q / 256} outside [1, 8]")
    height, width = r.varint("height"), r.varint("width")
    check_size(height, width)
    color = r.byte("flags")
    if color not in COLOR_NAMES:
        raise BitstreamError(f"invalid container: flags {color:#x}")
    n = r.byte("stream count")
    if not 1 <= n <= limits.max_streams:
        raise BitstreamError(f"invalid container: {n} streams (1..{limits.max_streams})")
    lengths = [r.varint(f"length of stream {k}") for k in range(n)]
    if any(v > limits.max_stream_bytes for v in lengths):
        raise BitstreamError("invalid container: a stream is longer than the limit")
    r.take(4, "checksum")
    return Header(mid, Rate(RATE_QUALITY, q / 256), height, width, color, lengths, VERSION, r.pos)


def split(data, header):
    """The streams of a whole version-1 container after checking its length and checksum."""
    end = header.header_bytes + sum(header.stream_lengths)
    if len(data) != end:
        raise BitstreamError(f"container holds {len(data)} bytes, its header announces {end}")
    (crc_stored,) = struct.unpack("<I", data[header.header_bytes - 4:header.header_bytes])
    crc = zlib.crc32(data[header.header_bytes:], zlib.crc32(data[:header.header_bytes - 4]))
    if crc != crc_stored:
        raise BitstreamError("container checksum mismatch: the bytes are corrupted")
    streams, pos = [], header.header_bytes
    for length in header.stream_lengths:
        streams.append(data[pos:pos + length])
        pos += length
    return streams
