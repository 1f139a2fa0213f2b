"""Batch encoding on the engines: images/s of `fastcodec encode`'s engines (fastcodec.cli.engines:
local threads, Ray Data actors, Dask workers) with 1 and 2 workers on Kodak, the engine's start-up
(cluster, actors or workers, model loads) reported apart from the throughput.

    python -m benchmarks.bench_engines [--model mbt2018-mean] [--quality 3] [--images 24] [--engines local,ray,dask]
    python -m benchmarks.bench_engines --simulate 8    # 8 Ray actors of 2/8 CPU each on this machine
    pytest benchmarks/bench_engines.py --benchmark-only

Each configuration runs two jobs on a fresh engine: a short one (one image per worker) and a
long one (`--images` more). Throughput = the extra images / the extra time, so the start-up,
which both jobs pay, cancels; start-up = the short job's time less its images at that
throughput. Every output is checked against Codec.encode_batch's bytes (a fast wrong engine
cannot win).
"""
import argparse
import itertools
import os
import platform
import time

import numpy as np
import pytest

KODAK = "../shared/data/kodak"


def kodak_paths(n):
    from fastcodec.eval.images import list_images

    paths = list_images(KODAK)
    return [str(p) for p in itertools.islice(itertools.cycle(paths), n)]


def run_job(engine, paths, model, quality, workers):
    from fastcodec.cli import engines

    rows = dict(engines.run(engine, paths, model, quality, workers=workers))
    return [rows[k] for k in range(len(paths))]


def measure(engine, model, quality, workers, images, expected):
    short = kodak_paths(workers)
    long = kodak_paths(workers + images)
    t0 = time.perf_counter()
    rows_short = run_job(engine, short, model, quality, workers)
    t1 = time.perf_counter()
    rows_long = run_job(engine, long, model, quality, workers)
    t2 = time.perf_counter()
    for path, row in zip(short + long, rows_short + rows_long):
        assert row["error"] == "" and row["fcx"] == expected[path], (engine, path, row["error"])
    throughput = images / ((t2 - t1) - (t1 - t0))
    startup = (t1 - t0) - workers / throughput
    return throughput, startup


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
    parser.add_argument("--simulate", type=int, default=0,
                        help="instead: a Ray job on this many actors sharing this machine's cores (a cluster in small)")
    args = parser.parse_args(argv)
    expected = expected_bytes(args.model, args.quality)
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor())
    print(f"{args.model} q{args.quality:g}, {args.images} Kodak images per job, {os.cpu_count()} cores ({cpu}), "
          f"{time.strftime('%Y-%m-%d')}")
    if args.simulate:
        return simulate(args, expected)
    print("| engine | workers | images/s | vs 1 worker | start-up s |\n|---|---|---|---|---|")
    for engine in args.engines.split(","):
        one = None
        for workers in (1, 2):
            throughput, startup = measure(engine, args.model, args.quality, workers, args.images, expected)
            one = one or throughput
            print(f"| {engine} | {workers} | {throughput:.2f} | {throughput / one:.2f}x | {startup:.1f} |", flush=True)


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
