"""Writes tests/golden/: frozen tiny models (mbt2018-mean, mbt2018, he2021-checkerboard, each
with its integer prior) and container blobs of format version 1 with their decoded pixels. Run once
per format version; later versions must keep decoding these files, on any machine.

History: the first golden set (session 1) used a float h_s; it decoded only on the CPU kind that
made it (an AVX2 machine desynchronized on gray_q8). Regenerated with integer priors.

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


#: (model name, architecture, {case: (image shape, quality)})
MODELS = [
    ("golden-tiny", "mbt2018-mean", {"rgb_q1": ((40, 56, 3), 1), "rgb_q4.5": ((33, 70, 3), 4.5),
                                     "gray_q8": ((25, 31, 1), 8), "rgba_q3": ((20, 20, 4), 3)}),
    ("golden-tiny-mbt2018", "mbt2018", {"mbt2018_q6": ((48, 80, 3), 6)}),
    ("golden-tiny-checkerboard", "he2021-checkerboard", {"checkerboard_q2": ((45, 66, 3), 2)}),
]


def main():
    from fastcodec.models.base import LearnedCodec

    LearnedCodec.bf16_transforms = False  # golden files use float32 transforms
    arrays = {}
    for name, arch, cases in MODELS:
        torch.manual_seed(1234)
        model = build(arch, N=8, M=12)
        with torch.no_grad():
            model.gains.log_gain.add_(3.0)
            model.gains.log_inv_gain.sub_(3.0)
        calibration = []
        for shape, q in cases.values():
            x = torch.from_numpy(golden_image(*shape[:2], 3)).permute(2, 0, 1)[None].float() / 255
            with torch.no_grad():
                y = model.analyze(model.pad(x), model._q(q - 1)).float()
                calibration.append((y, torch.round(model.h_a(y))))
        export(model, name, 0, zoo_dir=GOLDEN / "zoo", notes="random weights, for golden tests only",
               calibration=calibration)
        weights = str(GOLDEN / "zoo" / "weights" / f"{name}.safetensors")
        for case, (shape, q) in cases.items():
            im = golden_image(*shape)
            blob = fastcodec.load(weights, q).encode(im)
            (GOLDEN / f"{case}.fcx").write_bytes(blob)
            arrays[case] = fastcodec.decode(blob, model=weights)
    np.savez_compressed(GOLDEN / "decoded_v1.npz", **arrays)


if __name__ == "__main__":
    main()
