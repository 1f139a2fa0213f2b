"""Writes tests/golden/: a frozen tiny model and container blobs of format version 1 with their
decoded pixels. Run once per format version; later versions must keep decoding these files.

    python tests/make_golden.py
"""
from pathlib import Path

import numpy as np
import torch

import fastcodec
from fastcodec.models import build
from fastcodec.train.export import export

GOLDEN = Path(__file__).resolve().parent / "golden"


def golden_image(h, w, c):
    """Smooth deterministic test pattern (integer formulas only)."""
    i = np.arange(h)[:, None]
    j = np.arange(w)[None, :]
    planes = [(i * 7 + j * 3) % 256, (i * j) % 251, (255 - i * 5 + (j // 4) * 9) % 256, (i + j) % 200 + 30]
    return np.stack(planes[:c], axis=2).astype(np.uint8) if c > 1 else planes[0].astype(np.uint8)


def main():
    from fastcodec.models.base import LearnedCodec

    LearnedCodec.bf16_transforms = False  # golden files use float32 transforms
    torch.manual_seed(1234)
    model = build("mbt2018-mean", N=8, M=12)
    with torch.no_grad():
        model.gains.log_gain.add_(3.0)
        model.gains.log_inv_gain.sub_(3.0)
    export(model, "golden-tiny", 0, zoo_dir=GOLDEN / "zoo", notes="random weights, for golden tests only")
    weights = str(GOLDEN / "zoo" / "weights" / "golden-tiny.safetensors")
    cases = {"rgb_q1": ((40, 56, 3), 1), "rgb_q4.5": ((33, 70, 3), 4.5), "gray_q8": ((25, 31, 1), 8),
             "rgba_q3": ((20, 20, 4), 3)}
    arrays = {}
    for name, (shape, q) in cases.items():
        im = golden_image(*shape)
        blob = fastcodec.load(weights, q).encode(im)
        (GOLDEN / f"{name}.fcx").write_bytes(blob)
        arrays[name] = fastcodec.decode(blob, model=weights)
    np.savez_compressed(GOLDEN / "decoded_v1.npz", **arrays)


if __name__ == "__main__":
    main()
