"""The step size of encoder-side refinement (fastcodec.search.refine.default_lr), measured on the
validation photos: for each photo (a centre crop), quality and multiple of today's default_lr, the
plain and the refined latents are coded and scored as the guard scores them (coded_loss:
λ·255²·MSE of the 8-bit decoded image + bpp of the real streams); the figure is the refined
score's change against the plain one, without the guard (which would hide a step size that made
things worse), averaged over the photos, and each multiple's difference from 1× with its standard
error over the photos (the photos are paired: the same crops at every step size). 1× is
default_lr's step size with the ends --lr-low and --lr-top (default: today's LR_LOW and LR_TOP).

    python -m benchmarks.refine_lr_sweep [--data ../shared/data/val] [--images 4] [--crop 512]
        [--model bmshj2018-hyperprior] [--qualities 1,8] [--factors 0.5,1,2] [--steps 100]
        [--lr-low L] [--lr-top T] [--threads 1] [--json FILE]

Kodak is refused (it is the final report, not where settings are chosen)."""
import argparse
import json
import math
import time

import numpy as np
import torch


def centre_crop(rgb, size):
    """The size×size centre of an HxWx3 array (the whole side where the photo is smaller)."""
    h, w = rgb.shape[:2]
    top, left = max(0, (h - size) // 2), max(0, (w - size) // 2)
    return np.ascontiguousarray(rgb[top:top + size, left:left + size])


def score_pair(model, x, q, lr, steps):
    """(coded_loss of the plain streams, of the refined ones, seconds of the refinement) of image x
    [1, 3, h, w] at 0-based quality q, refined `steps` steps at step size lr."""
    from fastcodec.search.refine import coded_loss, refine_latents

    h, w = x.shape[2:]
    xp, qt, latent = model.prepare(x, q)
    with torch.inference_mode():
        y, z = model.encode_latents(xp, qt)
        plain = model.code_latents(y, z, qt)
    t0 = time.perf_counter()
    y, z = refine_latents(model, xp, qt, y.clone(), None if z is None else z.clone(), steps, lr=lr, size=(h, w))
    seconds = time.perf_counter() - t0
    with torch.inference_mode():
        refined = model.code_latents(y, z, qt)
    return coded_loss(model, x, q, plain, latent), coded_loss(model, x, q, refined, latent), seconds


def sweep(model, images, qualities, factors, steps, ends, log=print):
    """{quality: {factor: [% change of the coded loss, one per image]}} and the seconds per step;
    factors multiply default_lr's step size with ends = (low, top)."""
    from fastcodec.search.refine import default_lr

    out, seconds, total_steps = {}, 0.0, 0
    for q in qualities:
        base = default_lr(model, q - 1, *ends)
        out[q] = {}
        for f in factors:
            changes = []
            for name, rgb in images:
                x = torch.from_numpy(rgb).permute(2, 0, 1)[None].float().div_(255.0)
                plain, refined, s = score_pair(model, x, q - 1, f * base, steps)
                seconds, total_steps = seconds + s, total_steps + steps
                changes.append(100.0 * (refined / plain - 1.0))
                log(f"q{q} lr {f:g}x{base:.4g} = {f * base:.4g} {name}: plain {plain:.5f}, refined {refined:.5f}, "
                    f"{changes[-1]:+.2f} %, {s / steps:.3f} s/step")
            out[q][f] = changes
    return out, seconds / max(1, total_steps)


def summary(results, factors):
    """Rows (quality, factor, mean % change, difference from 1x, its standard error over the photos)."""
    rows = []
    for q, by_factor in results.items():
        ref = np.array(by_factor[1.0]) if 1.0 in by_factor else None
        for f in factors:
            v = np.array(by_factor[f])
            if ref is None or f == 1.0:
                diff, se = 0.0, 0.0
            else:
                d = v - ref
                diff, se = float(d.mean()), float(d.std(ddof=1) / math.sqrt(len(d))) if len(d) > 1 else float("nan")
            rows.append((q, f, float(v.mean()), diff, se))
    return rows


def main(argv=None):
    from fastcodec.eval.images import list_images, load_rgb
    from fastcodec.search.refine import LR_LOW, LR_TOP, default_lr
    from fastcodec.train.kodak import refuse_kodak
    from fastcodec.zoo import load_model

    p = argparse.ArgumentParser(prog="python -m benchmarks.refine_lr_sweep", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="../shared/data/val")
    p.add_argument("--images", type=int, default=4, help="the first N photos (sorted by name)")
    p.add_argument("--crop", type=int, default=512, help="centre crop of this side")
    p.add_argument("--model", default="bmshj2018-hyperprior")
    p.add_argument("--qualities", default="1,8", help="1-based")
    p.add_argument("--factors", default="0.5,1,2", help="multiples of default_lr")
    p.add_argument("--steps", type=int, default=100)
    p.add_argument("--lr-low", type=float, default=LR_LOW, help="default_lr's step size up to the middle quality (1x)")
    p.add_argument("--lr-top", type=float, default=LR_TOP, help="default_lr's step size at the top quality (1x)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", default=None, help="write the per-image changes and the summary here")
    a = p.parse_args(argv)
    refuse_kodak("--data", a.data)
    torch.set_num_threads(a.threads)
    model = load_model(a.model)
    qualities = [int(v) for v in a.qualities.split(",")]
    factors = [float(v) for v in a.factors.split(",")]
    images = [(f.name, centre_crop(load_rgb(f), a.crop)) for f in list_images(a.data)[: a.images]]
    ends = (a.lr_low, a.lr_top)
    results, per_step = sweep(model, images, qualities, factors, a.steps, ends, log=lambda s: print(s, flush=True))
    print(f"\n{a.model}, {len(images)} photos of {a.data} ({', '.join(n for n, _ in images)}), centre {a.crop}², "
          f"{a.steps} steps, 1x = default_lr with ends {a.lr_low:g} / {a.lr_top:g}, {a.threads} thread(s): "
          f"{per_step:.3f} s/step")
    print("| quality | lr | coded loss, refined vs plain | vs 1x (± s.e.) |\n|---|---|---|---|")
    rows = summary(results, factors)
    for q, f, mean, diff, se in rows:
        lr = f * default_lr(model, q - 1, *ends)
        vs = "—" if f == 1.0 else f"{diff:+.2f} ± {se:.2f} %"
        print(f"| q{q} | {lr:.4g} ({f:g}×) | {mean:+.2f} % | {vs} |")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"model": a.model, "data": a.data, "images": [n for n, _ in images], "crop": a.crop,
                       "steps": a.steps, "lr_low": a.lr_low, "lr_top": a.lr_top, "threads": a.threads,
                       "seconds_per_step": per_step,
                       "changes_pct": {str(q): {str(f): v for f, v in r.items()} for q, r in results.items()},
                       "summary": [dict(zip(("quality", "factor", "mean_pct", "vs_1x_pct", "se_pct"), r))
                                   for r in rows]},
                      fh, indent=2)
            fh.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
