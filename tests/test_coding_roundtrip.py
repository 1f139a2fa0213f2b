"""Round trips over random tables and symbols, both coders, single and batch calls."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import random_symbols, random_table
from fastcodec import coding

CODERS = ["ans", "range"]


@pytest.mark.parametrize("coder", CODERS)
@settings(max_examples=150, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), precision=st.integers(8, 16), num_tables=st.integers(1, 5),
       max_length=st.sampled_from([2, 3, 17, 256, 4096]), n=st.integers(0, 3000),
       escape_rate=st.sampled_from([0.0, 0.01, 0.3, 1.0]))
def test_round_trip_random_tables(coder, seed, precision, num_tables, max_length, n, escape_rate):
    rng = np.random.default_rng(seed)
    table = random_table(rng, num_tables, max_length, precision)
    symbols, indexes = random_symbols(rng, table, n, escape_rate)
    data = coding.encode(symbols, indexes, table, coder=coder)
    assert len(data) <= coding.max_encoded_size(n, n, coder)
    out = coding.decode(data, indexes, table, coder=coder)
    assert out.dtype == np.int32 and out.shape == indexes.shape
    np.testing.assert_array_equal(out, symbols)


@pytest.mark.parametrize("coder", CODERS)
def test_every_int32_extreme_round_trips(coder):
    cdfs = np.array([[0, 1 << 15, 1 << 16]], dtype=np.int32)  # one literal symbol and the escape
    for offset in (np.iinfo(np.int32).min, -1, 0, np.iinfo(np.int32).max - 1):
        table = coding.CdfTable(cdfs, np.array([3], np.int32), np.array([offset], np.int32))
        values = np.array([np.iinfo(np.int32).min, np.iinfo(np.int32).min + 1, -1, 0, 1, offset, offset + 1,
                           np.iinfo(np.int32).max - 1, np.iinfo(np.int32).max], dtype=np.int32)
        idx = np.zeros(values.size, np.int32)
        out = coding.decode(coding.encode(values, idx, table, coder=coder), idx, table, coder=coder)
        np.testing.assert_array_equal(out, values)


@pytest.mark.parametrize("coder", CODERS)
def test_single_symbol_rows_cost_nothing(coder):
    table = coding.CdfTable(np.array([[0, 1 << 16]], np.int32), np.array([2], np.int32), np.array([0], np.int32))
    values = np.full(5000, 7, np.int32)  # every value escapes
    idx = np.zeros(5000, np.int32)
    data = coding.encode(values, idx, table, coder=coder)
    np.testing.assert_array_equal(coding.decode(data, idx, table, coder=coder), values)


@pytest.mark.parametrize("coder", CODERS)
def test_shapes_are_kept(coder, gaussian_table):
    rng = np.random.default_rng(0)
    idx = rng.integers(0, gaussian_table.num_tables, size=(3, 5, 7)).astype(np.int32)
    sym = rng.integers(-5, 6, size=(3, 5, 7)).astype(np.int32)
    out = coding.decode(coding.encode(sym, idx, gaussian_table, coder=coder), idx, gaussian_table, coder=coder)
    assert out.shape == (3, 5, 7)
    np.testing.assert_array_equal(out, sym)


@pytest.mark.parametrize("coder", CODERS)
def test_empty_stream(coder, gaussian_table):
    empty = np.zeros(0, np.int32)
    data = coding.encode(empty, empty, gaussian_table, coder=coder)
    assert coding.decode(data, empty, gaussian_table, coder=coder).size == 0


@pytest.mark.parametrize("coder", CODERS)
@pytest.mark.parametrize("threads", [None, 1, 2, 3])
def test_batch_equals_single_calls(coder, threads):
    rng = np.random.default_rng(7)
    table = random_table(rng, 6, 600, 14)
    streams = [random_symbols(rng, table, n, 0.02) for n in (0, 1, 2, 100, 5000, 33333)]
    syms, idxs = [s for s, _ in streams], [i for _, i in streams]
    blobs = coding.encode_batch(syms, idxs, table, coder=coder, threads=threads)
    assert blobs == [coding.encode(s, i, table, coder=coder) for s, i in streams]
    outs = coding.decode_batch(blobs, idxs, table, coder=coder, threads=threads)
    for out, s in zip(outs, syms):
        np.testing.assert_array_equal(out, s)


@pytest.mark.parametrize("coder", CODERS)
def test_bytes_like_inputs_decode(coder, gaussian_table):
    rng = np.random.default_rng(3)
    idx = rng.integers(0, 64, size=1000).astype(np.int32)
    sym = rng.integers(-3, 4, size=1000).astype(np.int32)
    data = coding.encode(sym, idx, gaussian_table, coder=coder)
    for form in (bytearray(data), memoryview(data), np.frombuffer(data, np.uint8)):
        np.testing.assert_array_equal(coding.decode(form, idx, gaussian_table, coder=coder), sym)


def test_rate_overhead_is_small(gaussian_table):
    """Both coders stay within 0.1 % of the table model's information content on a Gaussian latent."""
    from fastcodec.cli.demo import gaussian_latent
    from fastcodec.entropy.gaussian_tables import scale_table

    sym, idx = gaussian_latent(np.random.default_rng(5), (192, 32, 48), scale_table())
    ideal = coding.ideal_bits(sym, idx, gaussian_table)
    for coder in CODERS:
        bits = 8 * len(coding.encode(sym, idx, gaussian_table, coder=coder))
        assert ideal <= bits <= ideal * 1.001, (coder, bits / ideal)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 5000), pieces=st.integers(1, 7))
def test_stream_decoder_matches_decode(seed, n, pieces):
    rng = np.random.default_rng(seed)
    table = random_table(rng, 3, 300, 14)
    sym, idx = random_symbols(rng, table, n, 0.05)
    data = coding.encode(sym, idx, table, coder="ans")
    dec = coding.StreamDecoder(data)
    cuts = np.sort(rng.integers(0, n + 1, size=pieces - 1)).tolist()
    parts = [dec.decode(np.ascontiguousarray(idx[a:b]), table) for a, b in zip([0] + cuts, cuts + [n])]
    dec.finish()
    np.testing.assert_array_equal(np.concatenate(parts) if parts else np.zeros(0, np.int32), sym)
    assert dec.decoded == n


def test_stream_decoder_detects_truncation_and_leftovers(gaussian_table):
    import fastcodec

    rng = np.random.default_rng(1)
    idx = rng.integers(0, 64, size=3000).astype(np.int32)
    sym = np.rint(rng.normal(0, 3, size=3000)).astype(np.int32)
    data = coding.encode(sym, idx, gaussian_table)
    dec = coding.StreamDecoder(data)
    dec.decode(idx[:1000], gaussian_table)
    with pytest.raises(fastcodec.BitstreamError, match="left after the last symbol"):
        dec.finish()
    with pytest.raises(fastcodec.BitstreamError):
        coding.StreamDecoder(data[: len(data) // 2]).decode(idx, gaussian_table)
