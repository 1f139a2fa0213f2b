"""Cold start: where the wall time of a one-image `fastcodec encode` / `decode` goes, in fresh
processes (issue 36: under 1 s outside the coding itself is the target).

    python -m benchmarks.bench_cold_start                 # kodim23, mbt2018-mean q3, 5 runs each
    python -m benchmarks.bench_cold_start --runs 3 --model bmshj2018-hyperprior

Two measurements, medians over the runs: the phases of the library path in a fresh interpreter
(interpreter start, `import fastcodec`, `import torch`, model load, the coding itself, the rest),
and the whole wall time of the CLI commands (`fastcodec encode IMAGE -o OUT --no-resume`,
`fastcodec decode OUT -o PNG`). The file cache is warm (each run after the first reads the same
files), as for a user's second command."""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from fastcodec._cpuinfo import model_name

ROOT = Path(__file__).resolve().parents[1]
KODAK = ROOT.parent / "shared" / "data" / "kodak"

PHASES = r"""
import json, sys, time
t = {"start": time.perf_counter()}
import fastcodec
t["import fastcodec"] = time.perf_counter()
import torch
t["import torch"] = time.perf_counter()
import numpy as np
from PIL import Image
codec = fastcodec.load(sys.argv[1], float(sys.argv[2]))
t["load model"] = time.perf_counter()
img = np.asarray(Image.open(sys.argv[3]).convert("RGB"))
t["read image"] = time.perf_counter()
blob = codec.encode(img)
t["encode"] = time.perf_counter()
fastcodec.decode(blob)
t["decode"] = time.perf_counter()
print(json.dumps(t))
"""


def phases(args):
    rows = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", PHASES, args.model, str(args.quality), str(args.image)],
                             check=True, capture_output=True, text=True).stdout
        total = time.perf_counter() - t0
        t = json.loads(out)
        names = list(t)
        row = {"interpreter start and exit": None}
        for a, b in zip(names, names[1:]):
            row[b] = t[b] - t[a]
        row["interpreter start and exit"] = total - (t[names[-1]] - t["start"])   # start-up and exit, seen from outside
        row["total"] = total
        rows.append(row)
    return {k: statistics.median(r[k] for r in rows) for k in rows[0]}


def cli(args):
    times = {"encode": [], "decode": []}
    with tempfile.TemporaryDirectory() as tmp:
        fcx, png = os.path.join(tmp, "one.fcx"), os.path.join(tmp, "one.png")
        for _ in range(args.runs):
            for name, cmd in (("encode", ["encode", str(args.image), "-o", fcx, "--no-resume", "--model", args.model,
                                          "--quality", str(args.quality)]),
                              ("decode", ["decode", fcx, "-o", png])):
                t0 = time.perf_counter()
                subprocess.run([sys.executable, "-m", "fastcodec.cli.main", *cmd], check=True, capture_output=True)
                times[name].append(time.perf_counter() - t0)
    return {k: statistics.median(v) for k, v in times.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--image", type=Path, default=KODAK / "kodim23.png")
    ap.add_argument("--model", default="mbt2018-mean")
    ap.add_argument("--quality", type=float, default=3)
    ap.add_argument("--runs", type=int, default=5)
    args = ap.parse_args()
    p = phases(args)
    c = cli(args)
    print(f"{model_name()}, {os.cpu_count()} cores, {args.model} q{args.quality:g}, {args.image.name}, "
          f"medians of {args.runs}, {time.strftime('%Y-%m-%d')}")
    print("| phase | seconds |\n|---|---|")
    for k, v in p.items():
        print(f"| {k} | {v:.3f} |")
    coding = p["encode"] + p["decode"]
    print(f"\noutside the coding: {p['total'] - coding:.2f} s of {p['total']:.2f} s (import torch {p['import torch']:.2f} s)")
    print(f"CLI wall time: encode {c['encode']:.2f} s (coding {p['encode']:.2f} s), "
          f"decode {c['decode']:.2f} s (coding {p['decode']:.2f} s)")


if __name__ == "__main__":
    main()
