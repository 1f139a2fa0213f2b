import numpy as np
import pytest

from fastcodec import coding


def random_table(rng, num_tables, max_length, precision):
    """A valid CdfTable with random rows: lengths in [2, max_length], random strictly increasing cdfs."""
    total = 1 << precision
    max_length = min(max_length, total + 1)
    lengths = rng.integers(2, max_length + 1, size=num_tables).astype(np.int32)
    width = int(lengths.max())
    cdfs = np.zeros((num_tables, width), dtype=np.int32)
    for t, length in enumerate(lengths):
        cuts = np.sort(rng.choice(np.arange(1, total), size=length - 2, replace=False)) if length > 2 else []
        row = np.concatenate([[0], cuts, [total]]).astype(np.int32)
        cdfs[t, :length] = row
        cdfs[t, length:] = total
    offsets = rng.integers(-(1 << 20), 1 << 20, size=num_tables).astype(np.int32)
    return coding.CdfTable(cdfs, lengths, offsets, precision)


def random_symbols(rng, table, n, escape_rate=0.05):
    """(symbols, indexes): mostly in-range values, some escapes of every size incl. int32 extremes."""
    idx = rng.integers(0, table.num_tables, size=n).astype(np.int32)
    lo = table.offsets[idx].astype(np.int64)
    span = table.lengths[idx].astype(np.int64) - 2
    inside = lo + (rng.random(n) * np.maximum(span, 1)).astype(np.int64)
    sym = np.where(span > 0, inside, lo)
    esc = rng.random(n) < escape_rate
    k = int(esc.sum())
    magnitudes = np.concatenate([rng.integers(-3, 4, size=k) + lo[esc] + np.where(rng.random(k) < 0.5, -1, span[esc]),
                                 rng.integers(np.iinfo(np.int32).min, np.iinfo(np.int32).max, size=k, endpoint=True)])
    sym[esc] = rng.choice(magnitudes, size=k)
    extremes = rng.random(n) < escape_rate / 10
    sym[extremes] = rng.choice([np.iinfo(np.int32).min, np.iinfo(np.int32).max], size=int(extremes.sum()))
    sym = np.clip(sym, np.iinfo(np.int32).min, np.iinfo(np.int32).max).astype(np.int32)
    return sym, idx


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def gaussian_table():
    from fastcodec.entropy.gaussian_tables import gaussian_cdf_table

    return gaussian_cdf_table()


def learned_architectures():
    """The registered transform + latent-codec models (fastcodec.models.base.LearnedCodec): the
    family test_models and test_film cover (the recurrent coder has its own tests)."""
    from fastcodec.models import architecture, architectures
    from fastcodec.models.base import LearnedCodec

    return [a for a in architectures() if issubclass(architecture(a), LearnedCodec)]
