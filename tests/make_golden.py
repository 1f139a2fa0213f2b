"""Writes tests/golden/: frozen tiny models (mbt2018-mean, mbt2018, he2021-checkerboard, each
with its integer prior) and container blobs of format version 1 with their decoded pixels. Run once
per format version; later versions must keep decoding these files, on any machine.

History: the first golden set (session 1) used a float h_s; it decoded only on the CPU kind that
made it (an AVX2 machine desynchronized on gray_q8). Regenerated with integer priors (session 2:
the v1 h_s of fastcodec.integer.network). Session 3 added models with the int32 h_s
(fastcodec.integer.conv), the scale hyperprior and the per-quality factorized density; the
session-2 files stay as they were (v1 h_s), since this script now freezes h_s as int32 networks:

    python tests/make_golden.py --only golden-tiny-int32,golden-tiny-int32-mbt2018,golden-tiny-hyperprior,golden-tiny-factorized
"""
import argparse
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
    # session 3: int32 h_s
    ("golden-tiny-int32", "mbt2018-mean", {"int32_rgb_q2": ((36, 52, 3), 2), "int32_rgb_q7.5": ((29, 45, 3), 7.5)}),
    ("golden-tiny-int32-mbt2018", "mbt2018", {"int32_mbt2018_q5": ((40, 72, 3), 5)}),
    ("golden-tiny-hyperprior", "bmshj2018-hyperprior", {"hyperprior_q3": ((44, 60, 3), 3)}),
    ("golden-tiny-factorized", "bmshj2018-factorized", {"factorized_q1": ((30, 40, 3), 1),
                                                        "factorized_q8": ((30, 40, 3), 8)}),
]


def model_of(case):
    """The golden model name that made a case."""
    return next(name for name, _, cases in MODELS if case in cases)


def main(argv=None):
    from fastcodec.models.base import LearnedCodec

    p = argparse.ArgumentParser()
    p.add_argument("--only", default=None, help="comma-separated model names to (re)make; the rest stay")
    only = p.parse_args(argv).only
    only = set(only.split(",")) if only else None
    LearnedCodec.bf16_transforms = False  # golden files use float32 transforms
    old = GOLDEN / "decoded_v1.npz"
    arrays = dict(np.load(old)) if only and old.exists() else {}
    for name, arch, cases in MODELS:
        if only is not None and name not in only:
            continue
        torch.manual_seed(1234)
        model = build(arch, N=8, M=12)
        if arch == "bmshj2018-factorized":
            model.expand_density_per_quality()
            with torch.no_grad():   # give each quality's density its own width
                model.entropy_bottleneck._bias3.add_(torch.linspace(-1, 1, 8).repeat_interleave(12)[:, None, None])
        with torch.no_grad():
            model.gains.log_gain.add_(3.0)
            model.gains.log_inv_gain.sub_(3.0)
        calibration = []
        for shape, q in cases.values():
            x = torch.from_numpy(golden_image(*shape[:2], 3)).permute(2, 0, 1)[None].float() / 255
            with torch.no_grad():
                y = model.analyze(model.pad(x), model._q(q - 1)).float()
                if hasattr(model, "h_a"):
                    calibration.append((y, torch.round(model.hyper_analyze(y))))
        export(model, name, 0, zoo_dir=GOLDEN / "zoo", notes="random weights, for golden tests only",
               calibration=calibration or None)
        weights = str(GOLDEN / "zoo" / "weights" / f"{name}.safetensors")
        for case, (shape, q) in cases.items():
            im = golden_image(*shape)
            blob = fastcodec.load(weights, q).encode(im)
            (GOLDEN / f"{case}.fcx").write_bytes(blob)
            arrays[case] = fastcodec.decode(blob, model=weights)
    np.savez_compressed(GOLDEN / "decoded_v1.npz", **arrays)


if __name__ == "__main__":
    main()
