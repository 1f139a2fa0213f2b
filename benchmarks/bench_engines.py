"""Batch encoding on the engines: images/s of `fastcodec encode`'s engines (fastcodec.cli.engines:
local threads, Ray Data actors, Dask workers) with 1 and 2 workers on Kodak, the engine's start-up
(cluster, actors or workers, model loads) reported apart from the throughput.

    python -m benchmarks.bench_engines [--model mbt2018-mean] [--quality 3] [--images 24] [--engines local,ray,dask]
    python -m benchmarks.bench_engines --simulate 8    # 8 Ray actors of 2/8 CPU each on this machine
    python -m benchmarks.bench_engines --memory        # a worker's memory: torch, the model, one image
    pytest benchmarks/bench_engines.py --benchmark-only

Each configuration runs one job of `--images` + one image per worker on a fresh engine and
times every output as it arrives: throughput counts the images after each worker's first (all
workers running by then), start-up is the time to the first output less one image's time.
Every output is checked against Codec.encode_batch's bytes (a fast wrong engine cannot win).
"""
import argparse
import itertools
import os
import time

import numpy as np
import pytest

KODAK = "../shared/data/kodak"


def kodak_paths(n):
    from fastcodec.eval.images import list_images

    paths = list_images(KODAK)
    return [str(p) for p in itertools.islice(itertools.cycle(paths), n)]


def run_job(engine, paths, model, quality, workers, arrivals=None):
    from fastcodec.cli import engines

    rows = {}
    for k, row in engines.run(engine, paths, model, quality, workers=workers):
        rows[k] = row
        if arrivals is not None:
            arrivals.append(time.perf_counter())
    return [rows[k] for k in range(len(paths))]


def measure(engine, model, quality, workers, images, expected):
    """(images/s once every worker is coding, start-up s): one job of workers + images images on a
    fresh engine; the rate counts the images that arrive after each worker's first (by then every
    worker has started), the start-up is the first output's time less one image's time."""
    paths = kodak_paths(workers + images)
    arrivals = []
    t0 = time.perf_counter()
    rows = run_job(engine, paths, model, quality, workers, arrivals)
    for path, row in zip(paths, rows):
        assert row["error"] == "" and row["fcx"] == expected[path], (engine, path, row["error"])
    throughput = images / (arrivals[-1] - arrivals[workers - 1])
    startup = (arrivals[0] - t0) - workers / throughput
    return throughput, max(0.0, startup)


def expected_bytes(model, quality):
    from fastcodec.api import load
    from fastcodec.eval.images import load_rgb

    paths = kodak_paths(24)
    blobs = load(model, quality).encode_batch([load_rgb(p) for p in paths], workers=2)
    return dict(zip(paths, blobs))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default="mbt2018-mean")
    parser.add_argument("--quality", type=float, default=3)
    parser.add_argument("--images", type=int, default=24)
    parser.add_argument("--engines", default="local,ray,dask")
    parser.add_argument("--memory", action="store_true", help="instead: peak RSS of a fresh worker process")
    parser.add_argument("--simulate", type=int, default=0,
                        help="instead: a Ray job on this many actors sharing this machine's cores (a cluster in small)")
    args = parser.parse_args(argv)
    expected = expected_bytes(args.model, args.quality)
    from fastcodec._cpuinfo import model_name

    cpu = model_name()
    print(f"{args.model} q{args.quality:g}, {args.images} Kodak images per job, {os.cpu_count()} cores ({cpu}), "
          f"{time.strftime('%Y-%m-%d')}")
    if args.simulate:
        return simulate(args, expected)
    if args.memory:
        return memory(args)
    print("| engine | workers | images/s | vs 1 worker | start-up s |\n|---|---|---|---|---|")
    for engine in args.engines.split(","):
        one = None
        for workers in (1, 2):
            throughput, startup = measure(engine, args.model, args.quality, workers, args.images, expected)
            one = one or throughput
            print(f"| {engine} | {workers} | {throughput:.2f} | {throughput / one:.2f}x | {startup:.1f} |", flush=True)


MEMORY_PROBE = """
import sys
def peak():  # VmHWM: this process's own peak (ru_maxrss would carry the parent's across exec)
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM")) / 1024
import fastcodec
from fastcodec.eval.images import load_rgb
a = peak()
codec = fastcodec.load(sys.argv[1], float(sys.argv[2]))
b = peak()
blob = codec.encode(load_rgb(sys.argv[3]))
c = peak()
print(f"| {sys.argv[1]} | {a:.0f} | {b:.0f} | {c:.0f} |")
"""


def memory(args):
    """Peak RSS of a fresh process: after import fastcodec, after loading the model, after encoding
    one Kodak image (what each worker holds, before the engine's own runtime)."""
    import subprocess
    import sys

    print("| model | import fastcodec, MB | + model loaded, MB | + one 768x512 encode, MB |\n|---|---|---|---|")
    for model in (args.model, "bmshj2018-hyperprior", "mbt2018"):
        subprocess.run([sys.executable, "-c", MEMORY_PROBE, model, str(args.quality), kodak_paths(1)[0]], check=True)


def simulate(args, expected):
    """Many actors with small CPU shares on one machine: the scheduling, retries and outputs of a
    larger cluster (not its speed: the cores are the same)."""
    import ray
    import ray.data

    from fastcodec.integrations.ray import encode_dataset

    cores = os.cpu_count() or 1
    ray.init(num_cpus=cores, include_dashboard=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    try:
        paths = kodak_paths(args.images)
        ds = ray.data.from_items([{"path": p} for p in paths])
        t0 = time.perf_counter()
        rows = list(encode_dataset(ds, args.model, args.quality, actors=args.simulate, batch_size=1,
                                   num_cpus=cores / args.simulate).iter_rows())
        elapsed = time.perf_counter() - t0
    finally:
        ray.shutdown()
    wrong = sum(r["error"] != "" or r["fcx"] != expected[r["path"]] for r in rows)
    print(f"{args.simulate} actors of {cores / args.simulate:g} CPU on {cores} cores: {len(rows)} rows in {elapsed:.1f} s "
          f"(start-up included), {wrong} differing from Codec.encode_batch")


@pytest.mark.parametrize("engine", ["local", "ray", "dask"])
@pytest.mark.parametrize("workers", [1, 2])
def test_engine_job(benchmark, engine, workers):
    """A whole 8-image job on a fresh engine (start-up included; the script separates it)."""
    pytest.importorskip({"local": "numpy", "ray": "ray.data", "dask": "distributed"}[engine])
    expected = expected_bytes("mbt2018-mean", 3)
    paths = kodak_paths(8)
    rows = benchmark.pedantic(run_job, args=(engine, paths, "mbt2018-mean", 3, workers), rounds=1, iterations=1)
    assert [r["fcx"] for r in rows] == [expected[p] for p in paths]
    assert np.isfinite([r["bpp"] for r in rows]).all()


if __name__ == "__main__":
    main()
