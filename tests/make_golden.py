"""Writes tests/golden/: frozen tiny models (each with its integer prior where it has a hyperprior),
container files of format version 1 (tests/golden/*.fcx, decoded_v1.npz) and of version 2
(tests/golden/v2/*.fcx, decoded_v2.npz) with their decoded pixels. Every later fastcodec must keep
decoding these files to the same pixels, on any machine; so the files are made once per format
version and never remade:

    python tests/make_golden.py --v2            # the version-2 files, from the existing models

(`--only NAME,...` remakes models and their version-1 files; the first models froze h_s as the v1
integer network of fastcodec.integer.network, the later ones as int32 networks.)
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
    # int32 h_s (fastcodec.integer.conv)
    ("golden-tiny-int32", "mbt2018-mean", {"int32_rgb_q2": ((36, 52, 3), 2), "int32_rgb_q7.5": ((29, 45, 3), 7.5)}),
    ("golden-tiny-int32-mbt2018", "mbt2018", {"int32_mbt2018_q5": ((40, 72, 3), 5)}),
    ("golden-tiny-hyperprior", "bmshj2018-hyperprior", {"hyperprior_q3": ((44, 60, 3), 3)}),
    ("golden-tiny-factorized", "bmshj2018-factorized", {"factorized_q1": ((30, 40, 3), 1),
                                                        "factorized_q8": ((30, 40, 3), 8)}),
]


#: version-2 files: {case: (golden model, image shape, quality)}, made from the models above
V2_CASES = {
    "v2_rgb_q3": ("golden-tiny-int32", (36, 52, 3), 3),
    "v2_rgba_q5.5": ("golden-tiny-int32", (20, 28, 4), 5.5),
    "v2_gray_q2": ("golden-tiny-int32", (17, 23, 1), 2),
    "v2_mbt2018_q7": ("golden-tiny-int32-mbt2018", (40, 40, 3), 7),
    "v2_checkerboard_q4": ("golden-tiny-checkerboard", (33, 47, 3), 4),
    "v2_hyperprior_q8": ("golden-tiny-hyperprior", (30, 30, 3), 8),
    "v2_factorized_q2.5": ("golden-tiny-factorized", (21, 35, 3), 2.5),
}


def model_of(case):
    """The golden model name that made a case."""
    if case in V2_CASES:
        return V2_CASES[case][0]
    return next(name for name, _, cases in MODELS if case in cases)


def as_v1(blob):
    """The same streams in a version-1 container (alpha last)."""
    from fastcodec.bitstream import split_streams, unpack, v1

    header, streams = unpack(blob)
    model_streams, alpha = split_streams(header, streams)
    return v1.pack(header.model_id, header.quality, header.height, header.width, header.color,
                   model_streams + ([alpha] if alpha is not None else []))


def make_v2():
    (GOLDEN / "v2").mkdir(exist_ok=True)
    arrays = {}
    for case, (name, shape, q) in V2_CASES.items():
        weights = str(GOLDEN / "zoo" / "weights" / f"{name}.safetensors")
        blob = fastcodec.load(weights, q).encode(golden_image(*shape))
        (GOLDEN / "v2" / f"{case}.fcx").write_bytes(blob)
        arrays[case] = fastcodec.decode(blob, model=weights)
    np.savez_compressed(GOLDEN / "decoded_v2.npz", **arrays)


def main(argv=None):
    from fastcodec.models.base import LearnedCodec

    p = argparse.ArgumentParser()
    p.add_argument("--only", default=None, help="comma-separated model names to (re)make; the rest stay")
    p.add_argument("--v2", action="store_true", help="write the version-2 files from the existing models")
    args = p.parse_args(argv)
    LearnedCodec.bf16_transforms = False  # golden files use float32 transforms
    if args.v2:
        return make_v2()
    only = set(args.only.split(",")) if args.only else None
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
            blob = as_v1(fastcodec.load(weights, q).encode(im))
            (GOLDEN / f"{case}.fcx").write_bytes(blob)
            arrays[case] = fastcodec.decode(blob, model=weights)
    np.savez_compressed(GOLDEN / "decoded_v1.npz", **arrays)


if __name__ == "__main__":
    main()
