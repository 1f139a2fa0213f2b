"""A very large image through encode and decode: time, size and peak memory (issue 36, "any image
size in bounded memory"). The image is synthetic (smooth gradients, edges and noise, made a band at a
time so making it costs no memory worth counting) because no photo of that size ships.

    python -m benchmarks.bench_large                    # 10,000 x 10,000 pixels, mbt2018-mean q3
    python -m benchmarks.bench_large --side 4000 --model bmshj2018-hyperprior
    python -m benchmarks.bench_large --side 2048 --tile-memory 8    # one whole-image pass, to compare

Each phase runs in its own process, so each peak RSS (ru_maxrss, which includes the interpreter,
torch and the weights) is that phase's own; the decoded pixels are compared with the encoder's
reconstruction by PSNR against the source."""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np


def make_image(h, w, seed=0):
    rng = np.random.default_rng(seed)
    out = np.empty((h, w, 3), np.uint8)
    xx = np.arange(w, dtype=np.float32)
    band = 512
    for r in range(0, h, band):
        yy = np.arange(r, min(h, r + band), dtype=np.float32)[:, None]
        base = 128 + 60 * np.sin(xx / 97.0)[None] * np.cos(yy / 131.0)
        base = base + 40.0 * ((xx[None] // 700 + yy // 500) % 2) - 20.0
        planes = [base, 0.7 * base + 30, 200 - 0.5 * base]
        for c, p in enumerate(planes):
            out[r:r + band, :, c] = np.clip(p + rng.normal(0, 6, p.shape).astype(np.float32), 0, 255)
    return out


def _rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase(args):
    """One phase in this process; prints a JSON line."""
    import fastcodec
    from fastcodec import bitstream

    if args.tile_memory:
        bitstream.default_limits.tile_memory = int(args.tile_memory * 2**30)
        bitstream.default_limits.max_memory = max(bitstream.default_limits.max_memory, 4 * int(args.tile_memory * 2**30))
    t0 = time.perf_counter()
    codec = fastcodec.load(args.model, args.quality)
    loaded = _rss_mb()
    if args.phase == "encode":
        img = make_image(args.side, args.side)
        t1 = time.perf_counter()
        blob = codec.encode(img)
        seconds = time.perf_counter() - t1
        with open(args.file, "wb") as f:
            f.write(blob)
        plan = codec.model.tile_plan(*codec.model.padded_size(args.side, args.side))
        res = {"bytes": len(blob), "bpp": 8 * len(blob) / args.side ** 2, "tiles": len(plan or [0])}
    else:
        with open(args.file, "rb") as f:
            blob = f.read()
        t1 = time.perf_counter()
        out = fastcodec.decode(blob)
        seconds = time.perf_counter() - t1
        img = make_image(args.side, args.side)
        mse = 0.0
        for r in range(0, args.side, 1024):
            d = out[r:r + 1024].astype(np.float32) - img[r:r + 1024]
            mse += float((d * d).sum())
        mse /= img.size
        res = {"psnr": 10 * np.log10(255 ** 2 / mse)}
    res.update(phase=args.phase, seconds=seconds, load_seconds=t1 - t0, rss_after_load_mb=loaded, peak_rss_mb=_rss_mb())
    print(json.dumps(res))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--side", type=int, default=10_000)
    ap.add_argument("--model", default="mbt2018-mean")
    ap.add_argument("--quality", type=float, default=3)
    ap.add_argument("--tile-memory", type=float, default=None, help="GiB per tile (default: the library's)")
    ap.add_argument("--phase", choices=["encode", "decode"], help=argparse.SUPPRESS)
    ap.add_argument("--file", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.phase:
        return phase(args)
    from fastcodec import bitstream
    from fastcodec._cpuinfo import model_name

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "large.fcx")
        rows = []
        for name in ("encode", "decode"):
            cmd = [sys.executable, "-m", "benchmarks.bench_large", "--phase", name, "--file", path,
                   "--side", str(args.side), "--model", args.model, "--quality", str(args.quality)]
            if args.tile_memory:
                cmd += ["--tile-memory", str(args.tile_memory)]
            rows.append(json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout.strip()))
    lim = bitstream.default_limits
    if args.tile_memory:
        lim.tile_memory = int(args.tile_memory * 2**30)
    print(f"{args.side} x {args.side} = {args.side ** 2 / 1e6:.0f} MP, {args.model} q{args.quality:g}, "
          f"{model_name()}, {os.cpu_count()} cores, "
          f"tile_memory {lim.tile_memory / 2**30:.2f} GiB, {time.strftime('%Y-%m-%d')}")
    enc, dec = rows
    print(f"encode: {enc['seconds']:.1f} s, {enc['bytes']:,} bytes ({enc['bpp']:.3f} bpp), {enc['tiles']} tiles, "
          f"peak RSS {enc['peak_rss_mb']:.0f} MB (after loading {enc['rss_after_load_mb']:.0f} MB)")
    print(f"decode: {dec['seconds']:.1f} s, PSNR {dec['psnr']:.2f} dB, peak RSS {dec['peak_rss_mb']:.0f} MB "
          f"(after loading {dec['rss_after_load_mb']:.0f} MB)")


if __name__ == "__main__":
    main()
