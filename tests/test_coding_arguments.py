"""Bad arguments raise TypeError/ValueError naming the argument and the fault."""
import numpy as np
import pytest

from fastcodec import coding

GOOD_CDFS = np.array([[0, 100, 65536, 65536], [0, 1, 2, 65536]], np.int32)
GOOD_LENGTHS = np.array([3, 4], np.int32)
GOOD_OFFSETS = np.array([0, -1], np.int32)


def table():
    return coding.CdfTable(GOOD_CDFS, GOOD_LENGTHS, GOOD_OFFSETS)


@pytest.mark.parametrize("name", ["cdfs", "lengths", "offsets"])
def test_table_rejects_wrong_dtype(name):
    args = dict(cdfs=GOOD_CDFS, lengths=GOOD_LENGTHS, offsets=GOOD_OFFSETS)
    args[name] = args[name].astype(np.int64)
    with pytest.raises(TypeError, match=f"{name} must have dtype int32, got int64"):
        coding.CdfTable(**args)


def test_table_rejects_lists_and_non_contiguous():
    with pytest.raises(TypeError, match="cdfs must be a numpy.ndarray"):
        coding.CdfTable(GOOD_CDFS.tolist(), GOOD_LENGTHS, GOOD_OFFSETS)
    wide = np.zeros((2, 8), np.int32)
    wide[:, ::2] = GOOD_CDFS
    with pytest.raises(TypeError, match="cdfs must be C-contiguous"):
        coding.CdfTable(wide[:, ::2], GOOD_LENGTHS, GOOD_OFFSETS)


@pytest.mark.parametrize("row, length, message", [
    ([5, 100, 65536], 3, r"cdfs row 1: must start at 0, starts at 5"),
    ([0, 100, 100, 65536], 4, r"cdfs row 1: must be strictly increasing .* cdf\[2\] = 100 <= cdf\[1\] = 100"),
    ([0, 100, 65535], 3, r"cdfs row 1: must end at 2\^precision = 65536, ends at 65535"),
    ([0, 65536, 65536, 65536], 1, r"lengths\[1\] must be in \[2, 4\]"),
    ([0, 65536, 65536, 65536], 5, r"lengths\[1\] must be in \[2, 4\]"),
])
def test_table_names_row_and_fault(row, length, message):
    cdfs = GOOD_CDFS.copy()
    cdfs[1, :len(row)] = row
    cdfs[1, len(row):] = row[-1]
    with pytest.raises(ValueError, match=message):
        coding.CdfTable(cdfs, np.array([3, length], np.int32), GOOD_OFFSETS)


@pytest.mark.parametrize("precision", [7, 17, 0, -1])
def test_table_rejects_precision_out_of_range(precision):
    with pytest.raises(ValueError, match=r"precision must be in \[8, 16\]"):
        coding.CdfTable(GOOD_CDFS, GOOD_LENGTHS, GOOD_OFFSETS, precision=precision)


def test_table_rejects_offset_overflow():
    with pytest.raises(ValueError, match=r"offsets\[1\] .* overflows int32"):
        coding.CdfTable(GOOD_CDFS, GOOD_LENGTHS, np.array([2**31 - 1, 2**31 - 1], np.int32))


def test_table_shape_mismatch():
    with pytest.raises(ValueError, match=r"lengths must have shape \(2,\)"):
        coding.CdfTable(GOOD_CDFS, GOOD_LENGTHS[:1], GOOD_OFFSETS)


def test_table_is_immutable_and_picklable():
    import pickle

    t = table()
    with pytest.raises(ValueError):
        t.cdfs[0, 0] = 1
    assert pickle.loads(pickle.dumps(t)) == t
    assert "num_tables=2" in repr(t)


@pytest.mark.parametrize("coder", ["ans", "range"])
def test_encode_argument_errors(coder):
    t = table()
    sym = np.zeros(4, np.int32)
    idx = np.zeros(4, np.int32)
    with pytest.raises(TypeError, match="symbols must have dtype int32, got float32"):
        coding.encode(sym.astype(np.float32), idx, t, coder=coder)
    with pytest.raises(TypeError, match="indexes must have dtype int32, got uint8"):
        coding.encode(sym, idx.astype(np.uint8), t, coder=coder)
    with pytest.raises(ValueError, match="same number of elements, got 4 and 3"):
        coding.encode(sym, idx[:3], t, coder=coder)
    with pytest.raises(ValueError, match=r"indexes\[2\] = 2 is not a table row"):
        coding.encode(sym, np.array([0, 1, 2, 0], np.int32), t, coder=coder)
    with pytest.raises(ValueError, match=r"indexes\[0\] = -1 is not a table row"):
        coding.encode(sym, np.array([-1, 1, 1, 0], np.int32), t, coder=coder)
    with pytest.raises(TypeError, match="table must be a fastcodec.coding.CdfTable"):
        coding.encode(sym, idx, "table", coder=coder)
    with pytest.raises(ValueError, match=r"indexes\[3\] = 9 is not a table row"):
        coding.decode(b"\0" * 64, np.array([0, 0, 0, 9], np.int32), t, coder=coder)


def test_unknown_coder_and_threads():
    t = table()
    z = np.zeros(1, np.int32)
    with pytest.raises(ValueError, match="coder must be one of"):
        coding.encode(z, z, t, coder="huffman")
    with pytest.raises(ValueError, match="threads must be None or a positive int"):
        coding.encode_batch([z], [z], t, threads=0)


def test_batch_argument_errors():
    t = table()
    z = np.zeros(3, np.int32)
    with pytest.raises(ValueError, match="same length, got 2 and 1"):
        coding.encode_batch([z, z], [z], t)
    with pytest.raises(TypeError, match=r"symbols\[1\] must have dtype int32"):
        coding.encode_batch([z, z.astype(np.int16)], [z, z], t)
    with pytest.raises(TypeError, match=r"data\[0\] must be bytes-like"):
        coding.decode_batch(["text"], [z], t)
    with pytest.raises(TypeError, match="symbols must be a list or tuple"):
        coding.encode_batch(z, [z], t)
    with pytest.raises(ValueError, match=r"stream 1: indexes\[0\] = 5"):
        coding.encode_batch([z, z], [z, np.full(3, 5, np.int32)], t)
