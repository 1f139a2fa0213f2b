"""The shipped models still compress as well as the weights they were pinned from: bytes of the real
container and PSNR of the decoded 8-bit image, at qualities 1, 4 and 8 on three crops of the
validation photos (tests/rd), within the tolerances of tests/rd_regression.py. A re-export of
weights updates tests/rd/pins.json in the same commit (python tests/make_rd_pins.py)."""
import math

import pytest

torch = pytest.importorskip("torch")

import fastcodec  # noqa: E402
import rd_regression as rd  # noqa: E402
from fastcodec.zoo import WEIGHTS_DIR, manifest  # noqa: E402

PINS = rd.load_pins()


def test_pins_cover_exactly_the_shipped_models_and_crops():
    assert sorted(PINS["models"]) == fastcodec.list_models(), "run python tests/make_rd_pins.py"
    assert PINS["qualities"] == list(rd.QUALITIES)
    assert PINS["crops"] == {p.name: rd.sha256(p) for p in rd.crop_paths()}, "the crops are not those pinned"
    assert len(PINS["crops"]) == 3


@pytest.mark.parametrize("name", fastcodec.list_models())
def test_shipped_model_codes_as_pinned(name):
    pinned = PINS["models"][name]
    assert pinned["sha256"] == manifest()[name]["sha256"], (
        f"{name}'s weights are not those the RD pins were made from: run python tests/make_rd_pins.py "
        "in the commit that changes them")
    failures = rd.compare(rd.measure(name), pinned["rd"])
    assert not failures, f"{name} codes differently from its pins:\n" + "\n".join(failures)


def _degraded_copy(tmp_path, name, change):
    """A copy of a shipped weights file (one without a base) with change(tensors) applied, under a
    name of its own (fastcodec.load caches models by path)."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    source = WEIGHTS_DIR / manifest()[name]["file"]
    with safe_open(str(source), framework="pt") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}
    assert "base" not in meta
    change(tensors)
    path = tmp_path / f"{name}-{change.__name__.strip('_')}.safetensors"
    save_file(tensors, str(path), metadata=meta)
    return str(path)


def _scale_gains(tensors):
    """Every encoder gain x 1.1 (the decoder's inverse gains left alone)."""
    tensors["gains.log_gain"] = (tensors["gains.log_gain"].float() + math.log(1.1)).half()


def _perturb_synthesis(tensors):
    """g_s's first layer off by 1 % noise: the encoder, and so the bytes, stay the same."""
    gen = torch.Generator().manual_seed(0)
    w = tensors["g_s.0.weight"].float()
    tensors["g_s.0.weight"] = (w * (1 + 0.01 * torch.randn(w.shape, generator=gen))).half()


@pytest.mark.parametrize("change", [_scale_gains, _perturb_synthesis], ids=["gain-x1.1", "g_s-1%-noise"])
def test_a_degraded_model_fails_the_check(tmp_path, change):
    name = "mbt2018-mean"
    path = _degraded_copy(tmp_path, name, change)
    pinned = PINS["models"][name]["rd"]
    failures = rd.compare(rd.measure(path), pinned)
    assert failures
    if change is _perturb_synthesis:  # the PSNR check alone catches it
        assert all("PSNR" in f for f in failures)


def _unchanged(tensors):
    pass


def test_an_unchanged_copy_passes_the_check(tmp_path):
    """The failures above come from the changes, not from coding a copy of the weights by path."""
    name = "mbt2018-mean"
    path = _degraded_copy(tmp_path, name, _unchanged)
    assert not rd.compare(rd.measure(path, qualities=(4,)), {"4": PINS["models"][name]["rd"]["4"]})
