"""Validation curves of several weights side by side, and the BD-rate of each against the first:
the held-out photos of the training folder (never Kodak), every quality, the float forward pass
(likelihood bpp, PSNR on 8-bit output; fastcodec.train.loop.validate). It tells whether a training
change helps before a Kodak evaluation, and without the noise of the three-quality spot checks in
the training log.

    python -m fastcodec.train.valcurve mbt2018-mean runs/mbt2018-mean/ckpt.pt --ema

A source is a zoo name, a .safetensors file or a training checkpoint (ckpt.pt: its weights, or with
--ema its weight average; --arch names its architecture)."""
import argparse
import json
import sys
from pathlib import Path

from fastcodec.eval.bdrate import bd_rate_pchip

DEFAULT_DIRS = ("set5", "set14")


def load_source(src, ema=False, arch="mbt2018-mean"):
    """A float model in eval mode from a zoo name, a .safetensors file or a ckpt.pt (checkpoints
    do not record their architecture: arch names it, as for export)."""
    from fastcodec.train.export import checkpoint_model
    from fastcodec.zoo import load_model

    if str(src).endswith(".pt"):
        return checkpoint_model(src, arch, ema)[0].float().eval()
    return load_model(src).float().eval()


def curve(model, images, qualities):
    """[(bpp, psnr)] per quality (0-based qualities)."""
    from fastcodec.train.loop import validate

    result = validate(model, images, qualities=tuple(qualities))
    return [(result[f"q{q + 1}"]["bpp"], result[f"q{q + 1}"]["psnr"]) for q in qualities]


def compare(curves):
    """BD-rate (pchip, percent) of every curve against the first; None for the first."""
    ref = curves[0]
    out = [None]
    for c in curves[1:]:
        out.append(bd_rate_pchip([p[0] for p in ref], [p[1] for p in ref], [p[0] for p in c], [p[1] for p in c]))
    return out


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m fastcodec.train.valcurve", description=__doc__.split("\n\n")[0])
    p.add_argument("sources", nargs="+", help="zoo names, .safetensors files or ckpt.pt checkpoints")
    p.add_argument("--ema", action="store_true", help="take the weight average of checkpoints")
    p.add_argument("--arch", default="mbt2018-mean", help="architecture of ckpt.pt sources")
    p.add_argument("--data", default="../shared/data/train")
    p.add_argument("--dirs", default=",".join(DEFAULT_DIRS), help="held-out subfolders of --data")
    p.add_argument("--qualities", default="1,2,3,4,5,6,7,8")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", default=None, help="also write the curves and BD-rates here")
    a = p.parse_args(argv)

    import torch

    from fastcodec.train.data import list_images, load_rgb
    from fastcodec.train.kodak import refuse_kodak

    torch.set_num_threads(a.threads)
    qualities = [int(q) - 1 for q in a.qualities.split(",")]
    if len(qualities) < 2 or any(not 0 <= q < 8 for q in qualities):
        raise SystemExit("--qualities: two or more of 1..8")
    refuse_kodak("--data/--dirs", *(Path(a.data) / d for d in a.dirs.split(",") if d))
    paths = [q for d in a.dirs.split(",") if d for q in list_images(Path(a.data) / d)]
    if not paths:
        raise SystemExit(f"no images under {a.data} in {a.dirs}")
    images = [load_rgb(q) for q in paths]
    curves = [curve(load_source(s, a.ema, a.arch), images, qualities) for s in a.sources]
    bds = compare(curves)
    for src, c, bd in zip(a.sources, curves, bds):
        points = " ".join(f"q{q + 1} {b:.4f}/{s:.3f}" for q, (b, s) in zip(qualities, c))
        print(f"{src}: {points}" + ("" if bd is None else f"  BD-rate vs {a.sources[0]}: {bd:+.2f} %"), flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps({"images": [str(q) for q in paths], "qualities": [q + 1 for q in qualities],
                                            "curves": {s: c for s, c in zip(a.sources, curves)},
                                            "bd_rate_pct_vs_first": dict(zip(a.sources, bds))}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
