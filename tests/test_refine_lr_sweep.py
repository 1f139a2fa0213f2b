"""benchmarks/refine_lr_sweep.py: the crop and the paired summary its step-size figures come from,
and default_lr's ends as the sweep passes them."""
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.refine_lr_sweep import centre_crop, summary  # noqa: E402


def test_centre_crop_takes_the_middle():
    rgb = np.arange(6 * 8 * 3, dtype=np.int64).reshape(6, 8, 3)
    np.testing.assert_array_equal(centre_crop(rgb, 4), rgb[1:5, 2:6])
    assert centre_crop(rgb, 10).shape == (6, 8, 3)  # smaller than the crop: the whole photo


def test_summary_pairs_each_photo_with_its_own_1x_result():
    results = {8: {0.5: [-5.0, -7.0, -4.0], 1.0: [-6.0, -8.0, -5.0], 2.0: [-7.0, -8.0, -6.0]}}
    rows = {f: r for (q, f, *r) in summary(results, [0.5, 1.0, 2.0])}
    assert rows[1.0] == [pytest.approx(-19 / 3), 0.0, 0.0]
    mean, diff, se = rows[0.5]
    assert mean == pytest.approx(-16 / 3) and diff == pytest.approx(1.0) and se == pytest.approx(0.0)
    mean, diff, se = rows[2.0]
    d = np.array([-1.0, 0.0, -1.0])
    assert diff == pytest.approx(d.mean()) and se == pytest.approx(d.std(ddof=1) / np.sqrt(3))


def test_default_lr_takes_other_ends():
    from fastcodec.search.refine import LR_LOW, LR_TOP, default_lr
    from fastcodec.zoo import list_models, load_model

    if "bmshj2018-hyperprior" not in list_models():
        pytest.skip("bmshj2018-hyperprior not shipped")
    m = load_model("bmshj2018-hyperprior")
    assert default_lr(m, 7, 0.01, 0.02) == pytest.approx(0.02) and default_lr(m, 7) == pytest.approx(LR_TOP)
    assert default_lr(m, 0, 0.005, 0.02) == pytest.approx(0.005) and default_lr(m, 0) == pytest.approx(LR_LOW)
    # between the ends: the same power of lambda, so the ratio to the low end scales with log(top / low)
    a, b = default_lr(m, 5, 0.01, 0.02), default_lr(m, 5, 0.01, 0.04)
    assert np.log(b / 0.01) == pytest.approx(2 * np.log(a / 0.01))
