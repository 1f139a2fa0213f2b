"""Container format version 1 (read forever; written here only by its test writer): layout, limits
before allocation, malformed input. Version 2: tests/test_bitstream_v2.py."""
import struct
import zlib

import numpy as np
import pytest

from fastcodec import BitstreamError, bitstream
from fastcodec.bitstream import v1
from fastcodec.bitstream.container import COLOR_RGBA, model_id

STREAMS = [b"\x01\x02\x03", b"z" * 300]


def blob():
    return v1.pack(b"abcd", 3.5, 512, 768, COLOR_RGBA, STREAMS)


def test_layout_is_as_specified():
    data = blob()
    assert data[:4] == b"\x89FCX" and data[4] == 1 and data[5:9] == b"abcd"
    assert struct.unpack("<H", data[9:11])[0] == int(3.5 * 256)
    header, streams = bitstream.unpack(data)
    assert (header.height, header.width, header.color, header.quality) == (512, 768, COLOR_RGBA, 3.5)
    assert streams == STREAMS and header.stream_lengths == [3, 300]
    assert header.header_bytes == 4 + 1 + 4 + 2 + 2 + 2 + 1 + 1 + 1 + 2 + 4
    assert len(data) == header.header_bytes + 303
    assert struct.unpack("<I", data[header.header_bytes - 4:header.header_bytes])[0] == zlib.crc32(
        data[header.header_bytes:], zlib.crc32(data[:header.header_bytes - 4]))


def test_every_truncation_and_extension_is_an_error():
    data = blob()
    for cut in range(len(data)):
        with pytest.raises(BitstreamError):
            bitstream.unpack(data[:cut])
    with pytest.raises(BitstreamError, match="announces"):
        bitstream.unpack(data + b"\0")


def test_every_bit_flip_is_detected():
    data = blob()
    for bit in range(8 * len(data)):
        flipped = bytearray(data)
        flipped[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(BitstreamError):
            bitstream.unpack(bytes(flipped))


def test_random_bytes_and_foreign_files():
    rng = np.random.default_rng(0)
    for n in range(0, 200, 7):
        with pytest.raises(BitstreamError):
            bitstream.unpack(rng.integers(0, 256, n, dtype=np.uint8).tobytes())
    with pytest.raises(BitstreamError, match="bad magic"):
        bitstream.unpack(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)


def test_absurd_sizes_are_rejected_before_allocation():
    huge = v1.pack(b"abcd", 1, 60000, 60000, 0, [b"x"])
    with pytest.raises(BitstreamError, match="exceeds the limit"):
        bitstream.unpack(huge)
    # a stream length of ~34 GB announced in a 30-byte blob
    data = bytearray(blob())
    header = bitstream.read_header(bytes(data))
    with pytest.raises(BitstreamError):
        bitstream.unpack(bytes(data[:18]) + b"\xff\xff\xff\xff\x7f" + bytes(data[19:]))
    limits = bitstream.Limits(max_pixels=100)
    with pytest.raises(BitstreamError, match="exceeds the limit of 100"):
        bitstream.read_header(bytes(data), limits)
    assert header.height == 512


def test_unknown_version_is_reported():
    data = bytearray(blob())
    data[4] = 3
    with pytest.raises(BitstreamError, match="version 3 is not supported"):
        bitstream.read_header(bytes(data))


def test_pack_argument_errors():
    with pytest.raises(ValueError, match="quality must be in"):
        v1.pack(b"abcd", 9, 1, 1, 0, [b""])
    with pytest.raises(TypeError, match="data must be bytes-like"):
        bitstream.unpack("text")
    assert len(model_id("m", "00")) == 4 and model_id("m", "00") != model_id("m", "01")
