"""Golden bytes: pin both wire formats (version 1). A change here breaks every stored stream; it
needs a new format version, not a new golden value."""
import hashlib

import numpy as np
import pytest

from fastcodec import coding
from golden_inputs import golden_symbols, golden_table

SHORT = {  # 24 symbols, written out in full
    "ans": "00555935f801d808005c4cd0baf6ec0651",
    "range": "59cffed3a1c6c1a7cda162b56e00",
}
LONG = {  # 20000 symbols, size and sha256
    "ans": (11405, "7011f9c0e62334c7a18040ad1f30bc5f6b1192bfa681768edf75112055e40b8a"),
    "range": (11398, "257a7768fbc51920fb3a38d1a1e8e8f3b26ce62a26fd06092bd7447cb8c56065"),
}


@pytest.mark.parametrize("coder", ["ans", "range"])
def test_short_stream_bytes(coder):
    sym, idx = golden_symbols(24)
    table = golden_table()
    assert coding.encode(sym, idx, table, coder=coder).hex() == SHORT[coder]
    np.testing.assert_array_equal(coding.decode(bytes.fromhex(SHORT[coder]), idx, table, coder=coder), sym)


@pytest.mark.parametrize("coder", ["ans", "range"])
def test_long_stream_bytes(coder):
    sym, idx = golden_symbols(20000)
    assert (idx == 2).any() and (np.abs(sym) > 1 << 20).any()  # escapes of every size are covered
    data = coding.encode(sym, idx, golden_table(), coder=coder)
    assert (len(data), hashlib.sha256(data).hexdigest()) == LONG[coder]
    if coder == "ans":
        assert data[0] == 1  # 2 lanes: 4 would spend more than 1/512 of 11 KB on lane states


def test_golden_inputs_are_stable():
    sym, idx = golden_symbols(24)
    assert sym.tolist()[:8] == [-5, 3, -8, 2, -7, 0, -2, -5]
    assert idx.tolist()[:8] == [1, 1, 1, 1, 1, 0, 0, 1]
