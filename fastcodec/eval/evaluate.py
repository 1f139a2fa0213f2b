"""Rate-distortion evaluation on any folder of images (Kodak by default): for each model and quality,
bpp from the real coded bytes, PSNR-RGB on the 8-bit reconstruction, MS-SSIM; the traditional
codecs run live on the same images (fastcodec/eval/curves.py, cached where the cache's key says
the measurement is the same); BD-rate of each model against each codec; a JSON of it all with the
provenance of every row (weights sha256, fastcodec version, machine, date, command); an RD plot."""
import json
import math
import shlex
import sys
import time
from pathlib import Path

import numpy as np
import torch

from fastcodec import search
from fastcodec.eval import codecs
from fastcodec.eval.bdrate import bd_rate, bd_rate_pchip
from fastcodec.eval.curve_cache import CurveCache, default_path
from fastcodec.eval.curves import check_available, codec_curves
from fastcodec.eval.images import image_set_sha256, list_images, load_rgb
from fastcodec.eval.metrics import ms_ssim, psnr
from fastcodec.eval.provenance import run_record, weights_sha256


def to_tensor(im):
    return torch.from_numpy(np.array(im, dtype=np.uint8, order="C")).permute(2, 0, 1)[None].float() / 255.0


def to_uint8(x):
    return (x[0].permute(1, 2, 0).clamp(0, 1) * 255).round().to(torch.uint8).numpy()


def payload_bytes(model, streams, rate, size):
    """Size of the .fcx container holding these streams (header, lengths, checksums and payload):
    the bytes a user stores."""
    from fastcodec.bitstream import Rate, pack

    return len(pack(b"\0\0\0\0", Rate.named(model.rate_spec.kind, rate), size[0], size[1], 0, streams,
                    progressive=model.capabilities.progressive))


@torch.no_grad()
def evaluate_model(model, images, qualities=None, log=print, refine=0):
    """[{quality, bpp, psnr, ms_ssim, enc_s, dec_s}] averaged over images (PSNR: mean of per-image) at
    each rate of `qualities` (default: every point of the model's rate spec); refine: steps of
    encoder-side latent refinement (fastcodec.search)."""
    points = []
    spec = model.rate_spec
    for quality in spec.points() if qualities is None else qualities:
        rate = spec.check(quality)
        rows = []
        for name, im in images:
            x = to_tensor(im)
            size = tuple(im.shape[:2])
            t0 = time.perf_counter()
            streams = search.encode(model, x, rate, refine)
            t1 = time.perf_counter()
            x_hat = model.decode_image(streams, size, rate)
            t2 = time.perf_counter()
            rec = to_uint8(x_hat)
            rows.append((8 * payload_bytes(model, streams, rate, size) / (im.shape[0] * im.shape[1]), psnr(im, rec),
                         ms_ssim(im, rec), t1 - t0, t2 - t1))
        r = np.array(rows)
        point = {"quality": int(rate) if rate == int(rate) else rate, "bpp": float(r[:, 0].mean()), "psnr": float(r[:, 1].mean()),
                 "ms_ssim": float(r[:, 2].mean()), "enc_s_median": float(np.median(r[:, 3])),
                 "dec_s_median": float(np.median(r[:, 4]))}
        log(json.dumps(point))
        points.append(point)
    return points


def _finite(v):
    return v if math.isfinite(v) else None  # curves that do not overlap: null in the JSON


def bd_table(points, curves):
    """{codec: {"pchip": %, "cubic": %}}: BD-rate (PSNR-RGB) of a model curve against each curve of
    `curves` ({codec: points}); None where the two do not overlap in PSNR."""
    rate, qual = [p["bpp"] for p in points], [p["psnr"] for p in points]
    out = {}
    for codec, ref in curves.items():
        r_ref, q_ref = [p["bpp"] for p in ref], [p["psnr"] for p in ref]
        out[codec] = {"pchip": _finite(bd_rate_pchip(r_ref, q_ref, rate, qual)),
                      "cubic": _finite(bd_rate(r_ref, q_ref, rate, qual))}
    return out


def format_bd_table(bd, codec_names):
    """The BD-rate table (PCHIP, %) as text: a row per model, a column per codec."""
    width = max([len("model")] + [len(label) for label in bd])
    lines = ["BD-rate, PSNR-RGB, PCHIP (negative: fewer bits than the codec at equal PSNR)",
             "model".ljust(width) + "".join(f"{c:>10}" for c in codec_names)]
    for label, row in bd.items():
        cells = [row.get(c, {}).get("pchip") for c in codec_names]
        lines.append(label.ljust(width) + "".join(f"{'n/a':>10}" if v is None else f"{v:>+9.1f}%" for v in cells))
    return "\n".join(lines)


def plot(results, curves, path, title):
    """RD plot (PNG); needs matplotlib (the `eval` extra). Returns False when it is missing."""
    try:
        import matplotlib
    except ImportError:
        return False

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5))
    for codec, points in curves.items():
        pts = sorted(points, key=lambda p: p["bpp"])
        ax.plot([p["bpp"] for p in pts], [p["psnr"] for p in pts], "--", label=codec)
    for name, points in results.items():
        ax.plot([p["bpp"] for p in points], [p["psnr"] for p in points], "o-", label=f"fastcodec {name}")
    ax.set_xlabel("bpp")
    ax.set_ylabel("PSNR-RGB (dB)")
    ax.set_xlim(0, 2.0)
    ax.grid(True, alpha=0.3)
    ax.legend()
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def mergeable(path, image_set, models, codec_names):
    """({label: (points, provenance)}, {codec: {"points", "provenance"}}): the rows of an earlier
    result file that this run keeps (the models not in `models`, the codec curves not in
    `codec_names`), each one vouched for: measured on the same pixels (image set sha256) and, for a
    model, made from the weights its name or path holds now. Anything else raises ValueError (a file
    whose rows are all replaced is not read further)."""
    old = json.loads(Path(path).read_text())
    provenance = old.get("provenance", {})
    models_kept = {label: pts for label, pts in old.get("models", {}).items() if label not in models}
    curves_kept = {c: pts for c, pts in old.get("codecs", {}).items() if c not in codec_names}
    if not models_kept and not curves_kept:
        return {}, {}
    if "image_set_sha256" not in old:
        raise ValueError(f"--merge: {path} records no image set sha256 (an older fastcodec eval wrote it), so its "
                         f"rows of {', '.join(list(models_kept) + list(curves_kept))} cannot be checked; evaluate them "
                         "again or leave out --merge")
    if old["image_set_sha256"] != image_set:
        raise ValueError(f"--merge: {path} was measured on other images ({old.get('images')} images, image set "
                         f"sha256 {str(old.get('image_set_sha256'))[:12]}) than these ({image_set[:12]}); "
                         "write to another --out or leave out --merge")
    kept = {}
    for label, points in models_kept.items():
        p = provenance.get("models", {}).get(label, {})
        if "weights_sha256" not in p:
            raise ValueError(f"--merge: {path} holds rows of {label} without the sha256 of their weights; "
                             f"evaluate {label} again (--models) or leave out --merge")
        try:
            now = weights_sha256(p["weights"])
        except OSError as exc:
            raise ValueError(f"--merge: the weights of {label}'s rows in {path} cannot be checked ({exc})") from None
        if now != p["weights_sha256"]:
            raise ValueError(f"--merge: {path} holds rows of {label} made from other weights (sha256 "
                             f"{p['weights_sha256'][:12]}; {p['weights']} is now {now[:12]}); evaluate "
                             f"{label} again (--models) or leave out --merge")
        kept[label] = (points, p)
    curves = {c: {"points": pts, "provenance": provenance.get("codecs", {}).get(c, {})} for c, pts in curves_kept.items()}
    return kept, curves


def parse_list(text):
    """The items of a comma-separated option ("none" or "": none)."""
    return [] if text.strip().lower() in ("", "none") else [c.strip() for c in text.split(",") if c.strip()]


def parse_codecs(text):
    """The codec names of --codecs, each known."""
    names = parse_list(text)
    for name in names:
        codecs.get(name)
    return names


def main(argv=None):
    import argparse

    from fastcodec.zoo import list_models, load_model, manifest

    argv = sys.argv[1:] if argv is None else list(argv)
    p = argparse.ArgumentParser(prog="fastcodec eval")
    p.add_argument("--data", default="../shared/data/kodak", help="a folder of PNG/JPEG images (searched recursively)")
    p.add_argument("--codecs", default=",".join(codecs.DEFAULT_CODECS),
                   help=f"traditional codecs run live on the same images, comma-separated from {', '.join(codecs.CODECS)}"
                        " (default: %(default)s; none: no BD-rate); HEIC and JPEG XL need the eval extra")
    p.add_argument("--cache", default=None,
                   help=f"codec curve cache file (default: {default_path()}; none: always measure)")
    p.add_argument("--models", default=None,
                   help="comma-separated names or .safetensors paths (default: all shipped; none: the codecs only)")
    p.add_argument("--qualities", default=None, help="comma-separated rates (default: every point of each model's rate spec)")
    p.add_argument("--limit", type=int, default=None, help="first N images only")
    p.add_argument("--out", default="results", help="writes OUT/DATANAME_rd.json and OUT/DATANAME_rd.png")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--refine", type=int, default=0,
                   help="encoder-side latent refinement steps (results labelled 'NAME+refineN')")
    p.add_argument("--merge", action="store_true",
                   help="keep the other rows of an existing OUT/DATANAME_rd.json: refused unless it was measured on "
                        "the same images and each row kept comes from the weights its model names now")
    a = p.parse_args(argv)
    codec_names = parse_codecs(a.codecs)
    check_available(codec_names)  # before any work
    torch.set_num_threads(a.threads)
    names = list_models() if a.models is None else parse_list(a.models)
    for name in names:  # before any work
        if name not in manifest() and not Path(name).is_file():
            raise ValueError(f"models: {name!r} is neither a shipped model ({', '.join(list_models())}) nor a file")
    paths = list_images(a.data)[: a.limit]
    if not paths:
        raise ValueError(f"data: no PNG or JPEG images in {a.data}")
    images = [(pth.name, load_rgb(pth)) for pth in paths]
    image_set = image_set_sha256(images)
    set_name = Path(a.data).resolve().name
    out = Path(a.out)
    result_path = out / f"{set_name}_rd.json"
    qualities = [float(q) for q in a.qualities.split(",")] if a.qualities else None
    labels = [(Path(n).stem if n.endswith(".safetensors") else n) + (f"+refine{a.refine}" if a.refine else "")
              for n in names]
    kept, curves = ({}, {})
    if a.merge and result_path.exists():
        kept, curves = mergeable(result_path, image_set, set(labels), set(codec_names))
    record = run_record("fastcodec eval " + shlex.join(argv))
    cache = CurveCache(None if a.cache and a.cache.lower() == "none" else (a.cache or default_path()))
    curves.update(codec_curves(codec_names, images, image_set, cache, record, log=lambda s: print(s, flush=True)))
    results = {label: points for label, (points, _) in kept.items()}
    provenance = {label: prov for label, (_, prov) in kept.items()}
    for name, label in zip(names, labels):
        model = load_model(name)
        results[label] = evaluate_model(model, images, qualities, log=lambda s: print(label, s, flush=True),
                                        refine=a.refine)
        provenance[label] = {"weights": name, "weights_sha256": weights_sha256(name), "refine": a.refine, **record}
    codec_points = {c: v["points"] for c, v in curves.items()}
    bd = {label: bd_table(points, codec_points) for label, points in results.items()}
    out.mkdir(parents=True, exist_ok=True)
    result_path.write_text(json.dumps({
        "data": str(a.data), "images": len(images), "image_names": [n for n, _ in images],
        "image_set_sha256": image_set, "models": results, "codecs": codec_points, "bd_rate_pct_vs": bd,
        "provenance": {"models": provenance, "codecs": {c: v["provenance"] for c, v in curves.items()}},
    }, indent=2) + "\n")
    if codec_points and results:
        print(format_bd_table(bd, list(codec_points)), flush=True)
    elif results:
        print("no codecs to compare with (--codecs none): no BD-rate table", flush=True)
    print(f"wrote {result_path}", flush=True)
    if (results or codec_points) and not plot(results, codec_points, out / f"{set_name}_rd.png", f"{set_name} ({len(images)} images)"):
        print('matplotlib not installed (pip install "fastcodec[eval]"): no plot', flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
