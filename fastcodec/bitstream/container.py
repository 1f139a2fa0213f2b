"""Container format version 1 — the normative description is docs/bitstream.md.

    magic        4 bytes  b"\\x89FCX"
    version      1 byte   1
    model id     4 bytes  first 4 bytes of sha256(name ":" weights sha256), see model_id()
    quality      2 bytes  uint16 LE, quality * 256 (1.0 .. 8.0; fractions interpolate gains)
    height       varint   image rows (>= 1)
    width        varint   image columns (>= 1)
    flags        1 byte   bits 0-1: colour (0 RGB, 1 gray, 2 RGB + alpha); bits 2-7 zero
    streams      1 byte   number of payload streams n
    lengths      n varints, the byte length of each stream
    crc32        4 bytes  uint32 LE, zlib CRC-32 of every byte before it and of the payload
    payload      the n streams, concatenated

varint: unsigned LEB128, at most 5 bytes. A reader checks magic, version, limits (before any
allocation), exact total length and the checksum, and raises BitstreamError otherwise.
"""
import hashlib
import struct
import zlib
from dataclasses import dataclass, field

from fastcodec.bitstream.limits import default_limits
from fastcodec.errors import BitstreamError

MAGIC = b"\x89FCX"
FORMAT_VERSION = 1
COLOR_RGB, COLOR_GRAY, COLOR_RGBA = 0, 1, 2


def model_id(name, weights_sha256):
    """4-byte identifier of a model: its name and the hash of its weights."""
    return hashlib.sha256(f"{name}:{weights_sha256}".encode()).digest()[:4]


@dataclass
class Header:
    model_id: bytes
    quality: float
    height: int
    width: int
    color: int = COLOR_RGB
    stream_lengths: list = field(default_factory=list)
    version: int = FORMAT_VERSION
    header_bytes: int = 0  # size of everything before the payload

    def as_dict(self):
        return {"format_version": self.version, "model_id": self.model_id.hex(), "quality": self.quality,
                "height": self.height, "width": self.width,
                "color": {COLOR_RGB: "rgb", COLOR_GRAY: "gray", COLOR_RGBA: "rgba"}[self.color],
                "streams": list(self.stream_lengths), "header_bytes": self.header_bytes}


def _varint(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


class _Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n, what):
        if self.pos + n > len(self.data):
            raise BitstreamError(f"truncated container: {what} needs {n} bytes at offset {self.pos}, "
                                 f"{len(self.data)} in all")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return bytes(out)

    def varint(self, what):
        value = 0
        for shift in range(0, 35, 7):
            b = self.take(1, what)[0]
            value |= (b & 0x7F) << shift
            if not b & 0x80:
                return value
        raise BitstreamError(f"invalid container: {what} is longer than 5 bytes")


def pack(model_id_bytes, quality, height, width, color, streams):
    """The container bytes holding `streams` (list of bytes)."""
    if len(model_id_bytes) != 4:
        raise ValueError("model id must be 4 bytes")
    q = round(quality * 256)
    if not 256 <= q <= 8 * 256:
        raise ValueError(f"quality must be in [1, 8], got {quality}")
    head = bytearray(MAGIC)
    head.append(FORMAT_VERSION)
    head += model_id_bytes
    head += struct.pack("<H", q)
    head += _varint(height) + _varint(width)
    head.append(color)
    head.append(len(streams))
    for s in streams:
        head += _varint(len(s))
    crc = zlib.crc32(head)
    for s in streams:
        crc = zlib.crc32(s, crc)
    return bytes(head) + struct.pack("<I", crc) + b"".join(streams)


def read_header(data, limits=None):
    """Parses and checks the header only (no checksum, no payload): for `fastcodec info`."""
    limits = limits or default_limits
    r = _Reader(memoryview(data))
    if r.take(4, "magic") != MAGIC:
        raise BitstreamError("not a fastcodec container (bad magic)")
    version = r.take(1, "version")[0]
    if version != FORMAT_VERSION:
        raise BitstreamError(f"container format version {version} is not supported (this reader knows 1)")
    mid = r.take(4, "model id")
    (q,) = struct.unpack("<H", r.take(2, "quality"))
    if not 256 <= q <= 8 * 256:
        raise BitstreamError(f"invalid container: quality {q / 256} outside [1, 8]")
    height, width = r.varint("height"), r.varint("width")
    if not (1 <= height <= limits.max_side and 1 <= width <= limits.max_side):
        raise BitstreamError(f"image size {height}x{width} outside [1, {limits.max_side}]")
    if height * width > limits.max_pixels:
        raise BitstreamError(f"image of {height * width} pixels exceeds the limit of {limits.max_pixels} "
                             "(fastcodec.bitstream.default_limits.max_pixels)")
    color = r.take(1, "flags")[0]
    if color not in (COLOR_RGB, COLOR_GRAY, COLOR_RGBA):
        raise BitstreamError(f"invalid container: flags {color:#x}")
    n = r.take(1, "stream count")[0]
    if not 1 <= n <= limits.max_streams:
        raise BitstreamError(f"invalid container: {n} streams (1..{limits.max_streams})")
    lengths = [r.varint(f"length of stream {k}") for k in range(n)]
    if any(v > limits.max_stream_bytes for v in lengths):
        raise BitstreamError("invalid container: a stream is longer than the limit")
    r.take(4, "checksum")
    return Header(mid, q / 256, height, width, color, lengths, version, r.pos)


def unpack(data, limits=None):
    """(Header, [stream bytes]) after checking length and checksum; BitstreamError otherwise."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes-like, got {type(data).__name__}")
    data = bytes(data)
    header = read_header(data, limits)
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
    return header, streams
