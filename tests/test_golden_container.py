"""Golden container files of format version 1 (tests/golden, made by tests/make_golden.py with a
frozen tiny model): every later version must still decode them to the same pixels."""
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

import fastcodec  # noqa: E402

GOLDEN = Path(__file__).resolve().parent / "golden"
WEIGHTS = str(GOLDEN / "zoo" / "weights" / "golden-tiny.safetensors")
EXPECTED = np.load(GOLDEN / "decoded_v1.npz")


def weights_of(case):
    from make_golden import model_of

    return str(GOLDEN / "zoo" / "weights" / f"{model_of(case)}.safetensors")


@pytest.fixture(autouse=True)
def float32_transforms(monkeypatch):
    """The golden files were made with float32 transforms; bf16 ones may round y differently."""
    from fastcodec.models.base import LearnedCodec

    monkeypatch.setattr(LearnedCodec, "bf16_transforms", False)


@pytest.mark.parametrize("name", sorted(EXPECTED.files))
def test_golden_blob_decodes(name):
    blob = (GOLDEN / f"{name}.fcx").read_bytes()
    header = fastcodec.bitstream.read_header(blob)
    assert header.version == 1
    out = fastcodec.decode(blob, model=weights_of(name))
    expected = EXPECTED[name]
    assert out.shape == expected.shape and out.dtype == np.uint8
    # the latents decode exactly; the float synthesis may differ by one level on other CPUs
    assert np.abs(out.astype(int) - expected.astype(int)).max() <= 1


def test_golden_blob_is_reproduced_by_the_encoder():
    from make_golden import golden_image

    blob = fastcodec.load(WEIGHTS, 1).encode(golden_image(40, 56, 3))
    assert blob == (GOLDEN / "rgb_q1.fcx").read_bytes()
