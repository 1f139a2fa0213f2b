"""What the integer prior path costs: rate and PSNR of each shipped model with its integer prior
(h_s, and for the context models the context + entropy-parameter path and the table index) against
the same weights run through the float prior, on Kodak, from real container bytes; and the decode
time of the context loop (fused C++ / torch reference / float path).

    python -m benchmarks.bench_integer [--images 24] [--models mbt2018,he2021-checkerboard]

The float path is what the model does without its frozen integer state (decodable only on the same
kind of machine): the difference is the price of bit-exact decoding everywhere.
"""
import argparse
import time

import numpy as np
import torch

import fastcodec
from fastcodec.train.data import list_images, load_rgb
from fastcodec.eval.metrics import psnr
from fastcodec.zoo import load_model

KODAK = "../shared/data/kodak"


def _code(model, x, q):
    t0 = time.perf_counter()
    c = model.compress(x, q)
    t1 = time.perf_counter()
    x_hat = model.decompress(c["strings"], c["latent"], c["size"], q)
    t2 = time.perf_counter()
    nbytes = sum(len(s) for s in c["strings"])
    return nbytes, x_hat, t1 - t0, t2 - t1


def run(names, n_images, qualities):
    images = [load_rgb(p) for p in list_images(KODAK)[:n_images]]
    rows = []
    for name in names:
        integer = load_model(name)
        floating = load_model(name)
        floating._set_int_h_s(None)
        if hasattr(floating, "int_context"):
            floating.latent_codec.int_context = None
        for q in qualities:
            acc = {"int": [0, [], 0.0], "float": [0, [], 0.0]}
            for im in images:
                x = torch.from_numpy(im.copy()).permute(2, 0, 1)[None].float() / 255
                for key, model in (("int", integer), ("float", floating)):
                    nbytes, x_hat, _, t_dec = _code(model, x, q - 1)
                    out = (x_hat[0].permute(1, 2, 0) * 255).round().byte().numpy()
                    acc[key][0] += nbytes
                    acc[key][1].append(psnr(im, out))
                    acc[key][2] += t_dec
            pixels = sum(im.shape[0] * im.shape[1] for im in images)
            bpp = {k: 8 * v[0] / pixels for k, v in acc.items()}
            rows.append((name, q, bpp["float"], float(np.mean(acc["float"][1])), bpp["int"],
                         float(np.mean(acc["int"][1])), 100 * (bpp["int"] / bpp["float"] - 1),
                         acc["float"][2] / len(images), acc["int"][2] / len(images)))
    return rows


def hs_timing(names, repeats=5):
    """Seconds per call of h_s on a Kodak-sized side latent (12 x 8): the float network and each
    backend of the integer one (Triton only with a CUDA GPU)."""
    rows = []
    for name in names:
        model = load_model(name)
        ihs = model.int_h_s
        if ihs is None:
            continue
        torch.manual_seed(0)
        z = torch.round(torch.randn(1, model.N, 8, 12) * 3)
        runs = {"float32 h_s": lambda: model.h_s(z)}
        backends = ["reference", "core"] if hasattr(ihs, "core") else ["reference"]
        if hasattr(ihs, "core") and torch.cuda.is_available():
            backends.append("triton")
        for b in backends:
            runs[f"integer, {b}"] = (lambda b=b: ihs.forward_int(z, b))
        with torch.inference_mode():
            for label, fn in runs.items():
                fn()
                t0 = time.perf_counter()
                for _ in range(repeats):
                    fn()
                rows.append((name, label, (time.perf_counter() - t0) / repeats))
    return rows


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--images", type=int, default=24)
    p.add_argument("--models", default=None)
    p.add_argument("--qualities", default="1,4,8")
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    names = a.models.split(",") if a.models else fastcodec.list_models()
    print("h_s on a Kodak-sized side latent (12 x 8):\n\n| model | h_s | ms/call |\n|---|---|---|")
    for name, label, sec in hs_timing(names):
        print(f"| {name} | {label} | {1000 * sec:.1f} |")
    print()
    rows = run(names, a.images, [int(q) for q in a.qualities.split(",")])
    print(f"{a.images} Kodak images, torch threads {a.threads}\n")
    print("| model | quality | float prior bpp / PSNR | integer prior bpp / PSNR | rate change | decode s/image float / integer |")
    print("|---|---|---|---|---|---|")
    for name, q, bf, pf, bi, pi, change, tf, ti in rows:
        print(f"| {name} | {q} | {bf:.4f} / {pf:.3f} dB | {bi:.4f} / {pi:.3f} dB | {change:+.3f} % | {tf:.3f} / {ti:.3f} |")


if __name__ == "__main__":
    main()
