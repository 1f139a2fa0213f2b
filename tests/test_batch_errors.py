"""encode_batch / decode_batch with errors="return": a failing item's exception takes its place,
the others are coded as alone; errors="raise" (the default) raises the first failure."""
import numpy as np
import pytest

import fastcodec
from fastcodec import BitstreamError

MODEL = "bmshj2018-hyperprior"


def test_encode_batch_returns_errors_in_place():
    codec = fastcodec.load(MODEL, 2)
    good = np.random.default_rng(0).integers(0, 256, size=(32, 48, 3), dtype=np.uint8)
    items = [good, np.zeros((8, 8, 3), np.float32), good[:, :, :2], good]
    out = codec.encode_batch(items, workers=2, errors="return")
    assert out[0] == out[3] == codec.encode(good)
    assert isinstance(out[1], TypeError) and "dtype" in str(out[1])
    assert isinstance(out[2], ValueError) and "shape" in str(out[2])
    with pytest.raises(TypeError, match="dtype"):
        codec.encode_batch(items, workers=2)
    with pytest.raises(ValueError, match="errors"):
        codec.encode_batch(items, errors="ignore")


def test_decode_batch_returns_errors_in_place():
    codec = fastcodec.load(MODEL, 2)
    blob = codec.encode(np.full((16, 24, 3), 99, np.uint8))
    out = fastcodec.decode_batch([blob, blob[:-4], b"junk"], workers=2, errors="return")
    np.testing.assert_array_equal(out[0], fastcodec.decode(blob))
    assert isinstance(out[1], BitstreamError) and isinstance(out[2], BitstreamError)
