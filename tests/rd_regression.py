"""Rate and distortion of the shipped models on three fixed crops, against pinned values: a model
that codes worse (a re-export gone wrong, a changed transform, a broken gain) fails
tests/test_rd_regression.py. Used by that test and by tests/make_rd_pins.py, which writes the pins.

Rate: the bits of the real container (len(codec.encode(image)) * 8 / pixels). Distortion: PSNR of
the 8-bit decoded image. Both with float32 transforms on every CPU (LearnedCodec.bf16_transforms =
False): the bf16 path of CPUs with AVX-512 BF16 moves PSNR by a few hundredths of a dB, more than
the tolerances below.

Tolerances, from measuring (python tests/make_rd_pins.py --spread, on the 2-core AVX2 machine of
CI, 2026-12-07): the bytes and PSNR were identical across runs and with 1 or 2 torch threads; with
torch's native convolutions in place of oneDNN's (another summation order, as another CPU may
have) no file changed by a byte and no PSNR by more than 0.0001 dB. The tolerances (0.5 % of the
bytes or 4 bytes, whichever is more; 0.02 dB) leave room for other CPUs' float analysis transform
rounding a few latents the other way, and still fail an encoder gain off by 1.1 or g_s weights off
by 1 % noise (tests/test_rd_regression.py).
"""
import hashlib
import json
import math
from contextlib import contextmanager
from pathlib import Path

import numpy as np

RD_DIR = Path(__file__).resolve().parent / "rd"
PINS = RD_DIR / "pins.json"
QUALITIES = (1, 4, 8)
#: a file may be this much larger or smaller than pinned (relative), or BYTES_SLACK bytes
BPP_REL_TOL = 0.005
BYTES_SLACK = 4
#: PSNR may differ from the pinned value by this much (dB)
PSNR_TOL_DB = 0.02


def crop_paths():
    return sorted(RD_DIR.glob("crop_*.png"))


def crops():
    """{file name: HxWx3 uint8 array} of the committed crops (tests/make_rd_crops.py)."""
    from PIL import Image

    out = {}
    for path in crop_paths():
        with Image.open(path) as im:
            out[path.name] = np.asarray(im.convert("RGB")).copy()
    return out


def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return math.inf if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)


@contextmanager
def float32_transforms():
    """Every model codes with float32 transforms inside the block, whatever the CPU."""
    from fastcodec.models.base import LearnedCodec

    before = LearnedCodec.__dict__["bf16_transforms"]
    LearnedCodec.bf16_transforms = False
    try:
        yield
    finally:
        LearnedCodec.bf16_transforms = before


def measure(model, qualities=QUALITIES, images=None):
    """{str(quality): {crop: {"bytes": container bytes, "bpp": ..., "psnr": dB}}} of a shipped
    name or a weights path, through the public API (fastcodec.load(...).encode, fastcodec.decode)."""
    import fastcodec

    images = crops() if images is None else images
    out = {}
    with float32_transforms():
        for q in qualities:
            codec = fastcodec.load(model, quality=q)
            row = {}
            for name, image in images.items():
                blob = codec.encode(image)
                decoded = fastcodec.decode(blob, model=model)
                h, w = image.shape[:2]
                row[name] = {"bytes": len(blob), "bpp": len(blob) * 8 / (h * w), "psnr": psnr(decoded, image)}
            out[str(q)] = row
    return out


def compare(measured, pinned):
    """Failures (strings; empty when the measured values are within the tolerances of the pinned)."""
    failures = []
    for q, row in pinned.items():
        for crop, want in row.items():
            got = measured.get(q, {}).get(crop)
            where = f"quality {q}, {crop}"
            if got is None:
                failures.append(f"{where}: not measured")
                continue
            slack = max(BPP_REL_TOL * want["bytes"], BYTES_SLACK)
            if abs(got["bytes"] - want["bytes"]) > slack:
                failures.append(f"{where}: {got['bpp']:.4f} bpp ({got['bytes']} bytes), pinned {want['bpp']:.4f} "
                                f"({want['bytes']} bytes, {got['bytes'] / want['bytes'] - 1:+.2%})")
            if not abs(got["psnr"] - want["psnr"]) <= PSNR_TOL_DB:
                failures.append(f"{where}: PSNR {got['psnr']:.3f} dB, pinned {want['psnr']:.3f} dB "
                                f"({got['psnr'] - want['psnr']:+.3f} dB)")
    return failures


def load_pins():
    return json.loads(PINS.read_text())
