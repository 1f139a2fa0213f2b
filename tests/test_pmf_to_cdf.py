"""pmf_to_cdf_table: integer quantization checked against a plain-Python reference."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastcodec import coding


def reference_quantize(weights, precision):
    """The documented algorithm in plain Python integers (the oracle for the C++ version)."""
    total = 1 << precision
    n = len(weights)
    floored = set()
    while True:
        wsum = sum(w for i, w in enumerate(weights) if i not in floored)
        budget = total - len(floored)
        if wsum == 0:
            break
        low = {i for i, w in enumerate(weights) if i not in floored and w * budget < wsum}
        if not low:
            break
        floored |= low
    budget = total - len(floored)
    free = [i for i in range(n) if i not in floored]
    freq = [1] * n
    rem = []
    for i in free:
        if wsum == 0:
            freq[i] = budget // len(free)
            rem.append((0, i))
        else:
            freq[i] = weights[i] * budget // wsum
            rem.append((weights[i] * budget % wsum, i))
    left = total - sum(freq)
    for _, i in sorted(rem, key=lambda r: (-r[0], r[1]))[:left]:
        freq[i] += 1
    return freq


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), precision=st.integers(8, 16), n=st.integers(1, 300),
       zeros=st.floats(0, 1), tail=st.sampled_from([None, 0.0, 1e-9, 0.5]))
def test_matches_reference(seed, precision, n, zeros, tail):
    rng = np.random.default_rng(seed)
    n = min(n, (1 << precision) - 1)
    pmf = rng.random(n) ** 8
    pmf[rng.random(n) < zeros] = 0
    pmf = pmf / max(pmf.sum(), 1e-300) * rng.uniform(0.5, 1.0)
    table = coding.pmf_to_cdf_table(pmf[None, :], np.array([n]), np.array([-3]), precision=precision,
                                    tail_mass=None if tail is None else np.array([tail]))
    cdf = table.cdfs[0, : n + 2].astype(np.int64)
    freq = np.diff(cdf)
    assert freq.min() >= 1 and cdf[-1] == 1 << precision
    weights = [int(w) for w in np.rint(np.ldexp(pmf, 40)).astype(np.int64)]
    tail_w = max(0, (1 << 40) - sum(weights)) if tail is None else int(np.rint(np.ldexp(tail, 40)))
    assert freq.tolist() == reference_quantize(weights + [tail_w], precision)


def test_shape_of_result():
    pmfs = np.array([[0.25, 0.5, 0.25, 0.0], [1.0, 0.0, 0.0, 0.0]])
    table = coding.pmf_to_cdf_table(pmfs, np.array([3, 1]), np.array([-1, 0]), precision=12)
    assert table.lengths.tolist() == [5, 3]
    assert table.offsets.tolist() == [-1, 0]
    assert table.precision == 12
    freq = np.diff(table.cdfs[0, :5])
    # the escape (no mass left) gets one count; 4095 shared as 1023.75 / 2047.5 / 1023.75, leftovers to
    # the largest remainders (0.75, 0.75)
    assert freq.tolist() == [1024, 2047, 1024, 1]


def test_bad_pmfs_are_rejected():
    with pytest.raises(ValueError, match="pmfs row 0 holds a value outside"):
        coding.pmf_to_cdf_table(np.array([[0.5, np.nan]]), np.array([2]), np.array([0]))
    with pytest.raises(ValueError, match="pmfs row 1 holds a value outside"):
        coding.pmf_to_cdf_table(np.array([[0.5, 0.5], [-0.1, 0.2]]), np.array([2, 2]), np.array([0, 0]))
    with pytest.raises(TypeError, match="pmfs must be a 2-D float array"):
        coding.pmf_to_cdf_table(np.array([1, 2]), np.array([2]), np.array([0]))
    with pytest.raises(ValueError, match=r"lengths must lie in \[1, 2\]"):
        coding.pmf_to_cdf_table(np.array([[0.5, 0.5]]), np.array([3]), np.array([0]))
    with pytest.raises(ValueError, match="symbols cannot be quantized"):
        coding.pmf_to_cdf_table(np.full((1, 300), 1 / 300), np.array([300]), np.array([0]), precision=8)


def test_shipped_gaussian_table_matches_its_formula():
    """The shipped integer table is what the formulas give on this machine (it is stored so that
    machines whose erfc differs in the last bits still code with the same integers)."""
    from fastcodec.entropy.gaussian_tables import gaussian_cdf_table, scale_table, shipped_gaussian_table

    scales, table = shipped_gaussian_table()
    assert np.array_equal(scales, scale_table().astype(np.float32))
    assert table == gaussian_cdf_table(scale_table())
    assert table.num_tables == 64 and table.precision == 16
