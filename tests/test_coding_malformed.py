"""Truncated, corrupted and foreign bytes: BitstreamError or symbols of the requested count, never a
crash, a hang or a read outside the buffer (the C++ side is also run under ASan/UBSan and fuzzed)."""
import numpy as np
import pytest

import fastcodec
from conftest import random_symbols, random_table
from fastcodec import coding


def _decode_or_error(data, idx, table, coder):
    try:
        out = coding.decode(data, idx, table, coder=coder)
    except fastcodec.BitstreamError:
        return None
    assert out.shape == idx.shape and out.dtype == np.int32
    return out


@pytest.fixture(params=["ans", "range"])
def stream(request):
    rng = np.random.default_rng(11)
    table = random_table(rng, 4, 300, 12)
    sym, idx = random_symbols(rng, table, 700, escape_rate=0.05)
    return request.param, table, sym, idx, coding.encode(sym, idx, table, coder=request.param)


def test_every_truncation_is_detected(stream):
    coder, table, sym, idx, data = stream
    for cut in range(len(data)):
        with pytest.raises(fastcodec.BitstreamError):
            coding.decode(data[:cut], idx, table, coder=coder)


def test_trailing_bytes_are_detected(stream):
    coder, table, sym, idx, data = stream
    with pytest.raises(fastcodec.BitstreamError, match="left after the last symbol"):
        coding.decode(data + b"\0\0\0\0", idx, table, coder=coder)


def test_bit_flips_never_crash(stream):
    coder, table, sym, idx, data = stream
    detected = 0
    for bit in range(0, 8 * len(data), 3):
        flipped = bytearray(data)
        flipped[bit // 8] ^= 1 << (bit % 8)
        detected += _decode_or_error(bytes(flipped), idx, table, coder) is None
    assert detected > 0


def test_random_bytes_are_rejected(stream):
    """Random bytes are not a stream of 700 symbols: a valid rANS stream starts with a lane code in
    0..3 and ends with every lane in its initial state, a range-coded one must be used up exactly by
    the symbols it holds, so each of these is a BitstreamError (none crashes, none is read past)."""
    coder, table, sym, idx, _ = stream
    rng = np.random.default_rng(0)
    for size in list(range(0, 64)) + [500, 5000, 100000]:
        for _ in range(5):
            with pytest.raises(fastcodec.BitstreamError):
                coding.decode(rng.integers(0, 256, size=size, dtype=np.uint8).tobytes(), idx, table, coder=coder)


def test_huge_symbol_count_on_tiny_input_is_bounded(gaussian_table):
    """A request for many symbols from a few bytes fails fast instead of looping or allocating."""
    idx = np.zeros(2_000_000, np.int32)
    for coder in ("ans", "range"):
        with pytest.raises(fastcodec.BitstreamError):
            coding.decode(b"\x03" + b"\xff" * 70, idx, gaussian_table, coder=coder)


def test_wrong_coder_is_detected(stream):
    """A stream decoded with the other coder is a BitstreamError (the rANS lane code, or the range
    decoder's consistency, rejects it), not a crash and not other symbols."""
    coder, table, sym, idx, data = stream
    other = "range" if coder == "ans" else "ans"
    with pytest.raises(fastcodec.BitstreamError):
        coding.decode(data, idx, table, coder=other)
    np.testing.assert_array_equal(coding.decode(data, idx, table, coder=coder), sym)


def test_bitstream_error_is_a_value_error():
    assert issubclass(fastcodec.BitstreamError, ValueError)
    assert issubclass(fastcodec.BitstreamError, fastcodec.FastcodecError)


def test_core_raises_the_installed_bitstream_error(stream):
    """The compiled core does not import the package: it raises ValueError for bad bytes until a class
    is installed, and fastcodec._native installs BitstreamError (direct callers import the core there)."""
    from fastcodec._native import core

    coder, table, sym, idx, data = stream
    args = (table._core, data[:-1], idx, coding.CODERS[coder])
    with pytest.raises(fastcodec.BitstreamError):
        core.decode(*args)
    try:
        core.set_bitstream_error(None)
        with pytest.raises(ValueError) as info:
            core.decode(*args)
        assert type(info.value) is ValueError
    finally:
        core.set_bitstream_error(fastcodec.BitstreamError)
    with pytest.raises(TypeError, match="subclass of ValueError"):
        core.set_bitstream_error(KeyError)
    with pytest.raises(TypeError, match="subclass of ValueError"):
        core.set_bitstream_error(fastcodec.BitstreamError("not a class"))
    with pytest.raises(fastcodec.BitstreamError, match="stream 0: "):
        core.decode_batch(table._core, [data[:-1]], [idx], coding.CODERS[coder], 1)
