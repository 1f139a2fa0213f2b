"""Container format version 2 (docs/bitstream.md): layout, per-stream checksums, progressive cuts,
limits before allocation, and a fuzzer of the reader (anything but BitstreamError is a bug)."""
import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastcodec import BitstreamError, bitstream
from fastcodec.bitstream import COLOR_RGB, COLOR_RGBA, RATE_CONTINUOUS, RATE_QUALITY, RATE_STEPS, Rate, v2

STREAMS = [b"\x01\x02\x03", b"z" * 300, b"", b"tail"]


def blob(progressive=False, color=COLOR_RGB, rate=Rate(RATE_QUALITY, 3.5), streams=STREAMS):
    return bitstream.pack(b"abcd", rate, 512, 768, color, streams, progressive=progressive)


def test_layout_is_as_specified():
    data = blob(color=COLOR_RGBA)
    assert data[:4] == b"\x89FCX" and data[4] == 2 and data[5] == COLOR_RGBA and data[6:10] == b"abcd"
    assert data[10] == RATE_QUALITY and data[11:13] == bytes([0x80, 0x07])   # 3.5 * 256 = 896, LEB128
    header, streams = bitstream.unpack(data)
    assert header.version == 2 and not header.progressive
    assert (header.height, header.width, header.color, header.rate) == (512, 768, COLOR_RGBA, Rate(RATE_QUALITY, 3.5))
    assert streams == STREAMS and header.stream_lengths == [3, 300, 0, 4]
    assert header.stream_crcs == [zlib.crc32(s) for s in STREAMS]
    # magic, version, flags, id, rate kind, rate (2), height (2), width (2), count, 4 x (length + crc), crc
    assert header.header_bytes == 4 + 1 + 1 + 4 + 1 + 2 + 2 + 2 + 1 + (1 + 4) + (2 + 4) + (1 + 4) + (1 + 4) + 4
    assert struct.unpack("<I", data[header.header_bytes - 4:header.header_bytes])[0] == zlib.crc32(
        data[:header.header_bytes - 4])
    assert len(data) == header.header_bytes + 307
    assert bitstream.split_streams(header, streams) == (STREAMS[1:], STREAMS[0])


@pytest.mark.parametrize("rate", [Rate(RATE_QUALITY, 1.0), Rate(RATE_CONTINUOUS, 0.0123 * 256 // 1 / 256),
                                  Rate(RATE_STEPS, 16), Rate(RATE_CONTINUOUS, 70000.5)])
def test_rate_kinds_round_trip(rate):
    header, _ = bitstream.unpack(blob(rate=rate))
    assert header.rate == rate


def test_every_cut_of_a_plain_container_is_an_error():
    data = blob()
    for cut in range(len(data)):
        with pytest.raises(BitstreamError):
            bitstream.unpack(data[:cut])
    with pytest.raises(BitstreamError, match="announces"):
        bitstream.unpack(data + b"\0")


def test_a_cut_progressive_container_keeps_its_whole_streams():
    data = blob(progressive=True, color=COLOR_RGBA)
    header = bitstream.read_header(data)
    ends = np.cumsum([header.header_bytes] + header.stream_lengths)
    for cut in range(header.header_bytes, len(data) + 1):
        whole = int(np.searchsorted(ends[1:], cut, side="right"))
        if whole <= 1:   # the alpha plane alone (or less): no step of the model's
            with pytest.raises(BitstreamError, match="none of the model's streams"):
                bitstream.unpack(data[:cut])
            continue
        _, streams = bitstream.unpack(data[:cut])
        assert streams == STREAMS[:whole]
    for cut in range(header.header_bytes):
        with pytest.raises(BitstreamError):
            bitstream.unpack(data[:cut])


def test_truncate_writes_a_whole_smaller_file():
    data = blob(progressive=True, rate=Rate(RATE_STEPS, 4))
    cut = bitstream.truncate(data, 2)
    header, streams = bitstream.unpack(cut)
    assert streams == STREAMS[:2] and header.rate == Rate(RATE_STEPS, 2) and header.progressive
    assert len(cut) < len(data)
    with pytest.raises(ValueError, match="keep must be in"):
        bitstream.truncate(data, 5)
    with pytest.raises(ValueError, match="not a progressive container"):
        bitstream.truncate(blob(), 1)


@pytest.mark.parametrize("progressive", [False, True])
def test_every_bit_flip_is_detected_in_the_part_it_hit(progressive):
    data = blob(progressive=progressive)
    header = bitstream.read_header(data)
    ends = np.cumsum([header.header_bytes] + header.stream_lengths)
    for bit in range(8 * len(data)):
        flipped = bytearray(data)
        flipped[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(BitstreamError) as info:
            bitstream.unpack(bytes(flipped))
        if bit // 8 >= header.header_bytes:
            k = int(np.searchsorted(ends[1:], bit // 8, side="right"))
            assert f"stream {k} checksum mismatch" in str(info.value)


def test_reserved_and_invalid_fields():
    data = bytearray(blob())
    for flags, message in ((COLOR_RGB | v2.FLAG_TILED, "tiled containers are not supported"), (0x10, "flags"),
                           (0x03, "flags")):
        bad = bytearray(data)
        bad[5] = flags
        with pytest.raises(BitstreamError, match=message):
            bitstream.read_header(bytes(bad))
    bad = bytearray(data)
    bad[10] = 7
    with pytest.raises(BitstreamError, match="rate kind 7"):
        bitstream.read_header(bytes(bad))
    bad = bytearray(data)
    bad[4] = 9
    with pytest.raises(BitstreamError, match="version 9 is not supported"):
        bitstream.read_header(bytes(bad))


def test_absurd_sizes_are_rejected_before_allocation():
    huge = bitstream.pack(b"abcd", 1, 60000, 60000, 0, [b"x"])
    with pytest.raises(BitstreamError, match="exceeds the limit"):
        bitstream.unpack(huge)
    with pytest.raises(BitstreamError, match="exceeds the limit of 100"):
        bitstream.read_header(blob(), bitstream.Limits(max_pixels=100))
    with pytest.raises(BitstreamError, match="streams"):
        bitstream.read_header(blob(), bitstream.Limits(max_streams=3))
    with pytest.raises(BitstreamError, match="longer than the limit"):
        bitstream.read_header(blob(), bitstream.Limits(max_stream_bytes=100))


def test_pack_argument_errors():
    with pytest.raises(ValueError, match="model id must be 4 bytes"):
        bitstream.pack(b"abc", 1, 1, 1, 0, [b""])
    with pytest.raises(ValueError, match="at least one stream"):
        bitstream.pack(b"abcd", 1, 1, 1, 0, [])
    with pytest.raises(ValueError, match="color must be one of"):
        bitstream.pack(b"abcd", 1, 1, 1, 5, [b""])
    with pytest.raises(ValueError, match="step count must be an integer"):
        bitstream.pack(b"abcd", Rate(RATE_STEPS, 1.5), 1, 1, 0, [b""])
    with pytest.raises(ValueError, match="rate kind"):
        Rate(5, 1.0)
    with pytest.raises(TypeError, match="data must be bytes-like"):
        bitstream.unpack("text")


SEEDS = [blob(), blob(progressive=True, color=COLOR_RGBA, rate=Rate(RATE_STEPS, 3)),
         bitstream.pack(b"wxyz", Rate(RATE_CONTINUOUS, 0.5), 3, 2, 1, [b"a" * 20])]


@settings(max_examples=1500, deadline=None, derandomize=True)
@given(seed=st.sampled_from(SEEDS), edits=st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), max_size=6),
       cut=st.integers(0, 500), tail=st.binary(max_size=8))
def test_fuzz_reader_raises_only_bitstream_errors(seed, edits, cut, tail):
    data = bytearray(seed)
    for pos, value in edits:
        if pos < len(data):
            data[pos] = value
    data = bytes(data[:cut]) + tail
    try:
        header, streams = bitstream.unpack(data)
    except BitstreamError:
        return
    assert sum(len(s) for s in streams) <= len(data) and header.height * header.width <= bitstream.default_limits.max_pixels
