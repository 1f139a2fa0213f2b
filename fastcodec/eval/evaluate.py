"""Rate-distortion evaluation on a folder of images (Kodak by default): for each model and quality,
bpp from the real coded bytes, PSNR-RGB on the 8-bit reconstruction, MS-SSIM; BD-rate against the
traditional codecs' curves measured on this machine (../shared/anchors), and an RD plot."""
import json
import time
from pathlib import Path

import numpy as np
import torch

from fastcodec import search
from fastcodec.eval.bdrate import bd_rate, bd_rate_pchip
from fastcodec.eval.images import list_images, load_rgb
from fastcodec.eval.metrics import ms_ssim, psnr

TRADITIONAL = ("jpeg420", "webp", "jpeg2000", "avif", "heic")


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


def anchors(anchor_dir):
    path = Path(anchor_dir) / "kodak_traditional_measured.json"
    return json.loads(path.read_text())["codecs"] if path.exists() else {}


def bd_table(points, traditional):
    """BD-rate (PSNR, %) of a model curve against each traditional codec, PCHIP and cubic."""
    rate, qual = [p["bpp"] for p in points], [p["psnr"] for p in points]
    out = {}
    for codec in TRADITIONAL:
        if codec in traditional:
            ref = traditional[codec]
            r_ref, q_ref = [p["bpp"] for p in ref], [p["psnr"] for p in ref]
            out[codec] = {"pchip": bd_rate_pchip(r_ref, q_ref, rate, qual), "cubic": bd_rate(r_ref, q_ref, rate, qual)}
    return out


def plot(results, traditional, path):
    """RD plot (PNG); needs matplotlib (the `eval` extra). Returns False when it is missing."""
    try:
        import matplotlib
    except ImportError:
        return False

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 5))
    for codec in TRADITIONAL:
        if codec in traditional:
            pts = sorted(traditional[codec], key=lambda p: p["bpp"])
            ax.plot([p["bpp"] for p in pts], [p["psnr"] for p in pts], "--", label=codec)
    for name, points in results.items():
        ax.plot([p["bpp"] for p in points], [p["psnr"] for p in points], "o-", label=f"fastcodec {name}")
    ax.set_xlabel("bpp")
    ax.set_ylabel("PSNR-RGB (dB)")
    ax.set_xlim(0, 2.0)
    ax.grid(True, alpha=0.3)
    ax.legend()
    ax.set_title("Kodak (24 images)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return True


def main(argv=None):
    import argparse

    from fastcodec.zoo import list_models, load_model

    p = argparse.ArgumentParser(prog="fastcodec eval")
    p.add_argument("--data", default="../shared/data/kodak")
    p.add_argument("--anchors", default="../shared/anchors")
    p.add_argument("--models", default=None, help="comma-separated names or .safetensors paths (default: all shipped)")
    p.add_argument("--qualities", default=None, help="comma-separated rates (default: every point of each model's rate spec)")
    p.add_argument("--limit", type=int, default=None, help="first N images only")
    p.add_argument("--out", default="results")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--refine", type=int, default=0,
                   help="encoder-side latent refinement steps (results labelled 'NAME+refineN')")
    p.add_argument("--merge", action="store_true",
                   help="keep the other models of an existing OUT/kodak_rd.json (same images) and replace these")
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    names = a.models.split(",") if a.models else list_models()
    paths = list_images(a.data)[: a.limit]
    images = [(pth.name, load_rgb(pth)) for pth in paths]
    qualities = [float(q) for q in a.qualities.split(",")] if a.qualities else None
    traditional = anchors(a.anchors)
    results, bd = {}, {}
    previous = Path(a.out) / "kodak_rd.json"
    if a.merge and previous.exists():
        old = json.loads(previous.read_text())
        if old.get("images") == len(images):
            results, bd = old["models"], old["bd_rate_pct_vs"]
    for name in names:
        model = load_model(name)
        label = Path(name).stem if name.endswith(".safetensors") else name
        label += f"+refine{a.refine}" if a.refine else ""
        results[label] = evaluate_model(model, images, qualities, log=lambda s: print(label, s, flush=True),
                                        refine=a.refine)
        bd[label] = bd_table(results[label], traditional)
        print(label, json.dumps(bd[label]), flush=True)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "kodak_rd.json").write_text(json.dumps({"images": len(images), "data": str(a.data), "models": results,
                                                  "bd_rate_pct_vs": bd}, indent=2) + "\n")
    if results and not plot(results, traditional, out / "kodak_rd.png"):
        print("matplotlib not installed (pip install fastcodec[eval]): no plot", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
