"""One Codec shared by 8 Python threads, each encoding with it and decoding the bytes back: every
blob and image equals the single-thread one (a small version of python -m benchmarks.soak, which
also watches the RSS over 1,000 codings)."""
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parent.parent


def test_shared_codec_on_8_threads_matches_one_thread():
    sys.path.insert(0, str(ROOT))
    from benchmarks.soak import crops, load_photos, soak

    import fastcodec

    codec = fastcodec.load("mbt2018", 2)  # the context model: its C++ coding loops run threads of their own
    images = crops(load_photos(None), 40, sizes=[(24, 40), (40, 24), (33, 47), (64, 64), (17, 70)], seed=1)
    result = soak(codec, images, threads=8, sample=10)
    assert result["mismatches"] == []
    assert [r[0] for r in result["rss"]] == [10, 20, 30, 40]


def test_soak_reports_results_that_differ_between_passes(monkeypatch):
    """The comparison itself: a coder whose output changes from call to call is caught."""
    sys.path.insert(0, str(ROOT))
    import itertools

    import numpy as np

    from benchmarks import soak as soak_module

    calls = itertools.count()
    monkeypatch.setattr(soak_module, "code", lambda codec, image: (str(next(calls)).encode(), image))
    images = [np.zeros((4, 4, 3), np.uint8) for _ in range(14)]
    result = soak_module.soak(None, images, threads=2, sample=7)
    assert result["mismatches"] and [r[0] for r in result["rss"]] == [7, 14]
