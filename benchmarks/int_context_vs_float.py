"""What the integer prior path costs: Kodak bytes and PSNR through the integer path (what ships,
decodable on any machine) and through the float path (same weights): for the context models the
float context and entropy parameters, for the others (mbt2018-mean, bmshj2018-hyperprior) the float
h_s; with --refreeze also through the integer path frozen again by the current code from the same
float weights (to measure a change of fastcodec.integer on weights frozen before it).

    python -m benchmarks.int_context_vs_float [--images 24] [--qualities 1,4,8]
        [--models he2021-checkerboard,mbt2018] [--refreeze ../shared/data/train/mcmaster]
    python -m benchmarks.int_context_vs_float --images 3 --qualities 1,4 --models mbt2018-mean,bmshj2018-hyperprior
"""
import argparse
import json

import torch

from fastcodec.train.data import list_images, load_rgb
from fastcodec.eval.evaluate import evaluate_model
from fastcodec.zoo import load_model

KODAK = "../shared/data/kodak"


def code(model, images, q):
    """(mean bpp of the .fcx containers, mean PSNR-RGB on 8-bit output) over images at 1-based q,
    as `fastcodec eval` measures them."""
    point = evaluate_model(model, images, qualities=[q], log=lambda *_: None)[0]
    return point["bpp"], point["psnr"]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", type=int, default=24)
    p.add_argument("--qualities", default="1,4,8")
    p.add_argument("--models", default="he2021-checkerboard,mbt2018")
    p.add_argument("--refreeze", default=None, help="calibration photos (never Kodak) to freeze the path again with")
    p.add_argument("--data", default=KODAK)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    images = [(f.name, load_rgb(f)) for f in list_images(a.data)[: a.images]]
    rows = []
    for name in a.models.split(","):
        m = load_model(name).eval()
        lc = m.latent_codec
        # the integer networks of each path; the float path drops the context part where there is
        # one (its float path then runs the float context and entropy parameters), else h_s
        attrs = ("int_h_s", "int_context") if hasattr(lc, "int_context") else ("int_h_s",)
        shipped = {k: getattr(lc, k) for k in attrs}
        if shipped[attrs[-1]] is None:
            raise SystemExit(f"{name} has no integer prior path ({attrs[-1]}) to compare")
        paths = {"integer": shipped}
        if a.refreeze:
            from fastcodec.train.export import calibration_latents

            m.freeze_prior(calibration_latents(m, a.refreeze))
            paths["integer, frozen again"] = {k: getattr(lc, k) for k in attrs}
        paths["float"] = {**shipped, attrs[-1]: None}
        for q in [int(v) for v in a.qualities.split(",")]:
            row = {"model": name, "quality": q}
            for label, nets in paths.items():
                for k, net in nets.items():
                    setattr(lc, k, net)
                row[label] = code(m, images, q)
            for k, net in shipped.items():
                setattr(lc, k, net)
            rows.append(row)
            f_bpp = row["float"][0]
            print(f"{name} q{q}: " + ", ".join(
                f"{k} {b:.4f} bpp {d:.3f} dB ({100 * (b / f_bpp - 1):+.2f} % bits vs float)"
                for k, v in row.items() if k not in ("model", "quality") for b, d in [v]), flush=True)
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
