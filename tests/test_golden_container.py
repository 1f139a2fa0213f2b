"""Golden container files of format versions 1 and 2 (tests/golden, made by tests/make_golden.py with
frozen tiny models): every later version must still decode them to the same pixels."""
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

import fastcodec  # noqa: E402

GOLDEN = Path(__file__).resolve().parent / "golden"
WEIGHTS = str(GOLDEN / "zoo" / "weights" / "golden-tiny.safetensors")
EXPECTED = np.load(GOLDEN / "decoded_v1.npz")
EXPECTED_V2 = np.load(GOLDEN / "decoded_v2.npz")


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


@pytest.mark.parametrize("name", sorted(EXPECTED_V2.files))
def test_golden_v2_blob_decodes(name):
    blob = (GOLDEN / "v2" / f"{name}.fcx").read_bytes()
    assert fastcodec.bitstream.read_header(blob).version == 2
    out = fastcodec.decode(blob, model=weights_of(name))
    expected = EXPECTED_V2[name]
    assert out.shape == expected.shape and out.dtype == np.uint8
    assert np.abs(out.astype(int) - expected.astype(int)).max() <= 1


def test_golden_blobs_are_reproduced_by_the_encoder():
    """Today's encoder writes the golden version-2 file byte for byte, and its streams are the ones
    of the version-1 file made from the same image."""
    from make_golden import V2_CASES, as_v1, golden_image

    blob = fastcodec.load(WEIGHTS, 1).encode(golden_image(40, 56, 3))
    assert as_v1(blob) == (GOLDEN / "rgb_q1.fcx").read_bytes()
    name, shape, q = V2_CASES["v2_rgba_q5.5"]
    blob = fastcodec.load(str(GOLDEN / "zoo" / "weights" / f"{name}.safetensors"), q).encode(golden_image(*shape))
    assert blob == (GOLDEN / "v2" / "v2_rgba_q5.5.fcx").read_bytes()
