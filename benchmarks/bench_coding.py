"""Entropy-coding speed and rate, fastcodec side by side with CompressAI and constriction.

    pytest benchmarks/bench_coding.py --benchmark-only          # pytest-benchmark
    python -m benchmarks.bench_coding [--repeat 7]              # prints the table for BENCHMARKS.md

The table's timings are interleaved: each round times every coder once.

Each benchmark also checks that the round trip is exact. One thread unless stated.
"""
import argparse
import os
import statistics
import time

import numpy as np
import pytest

from fastcodec import coding

from benchmarks.coding_workload import (FastcodecCoder, available_coders, continuous_bits, make_latents,
                                        nbytes)

SCALES, LATENTS = make_latents(16)
ONE = LATENTS[0]
NSYM = ONE[0].size


def _coders():
    return available_coders(SCALES)


@pytest.fixture(scope="module", params=_coders(), ids=lambda c: c.name)
def coder(request):
    return request.param


def test_encode(benchmark, coder):
    data = benchmark(coder.encode, ONE)
    np.testing.assert_array_equal(coder.decode(data, ONE), ONE[0])
    benchmark.extra_info.update(msym_per_s=NSYM / benchmark.stats["median"] / 1e6,
                                bits_per_symbol=8 * nbytes(data) / NSYM)


def test_decode(benchmark, coder):
    data = coder.encode(ONE)
    out = benchmark(coder.decode, data, ONE)
    np.testing.assert_array_equal(out, ONE[0])
    benchmark.extra_info.update(msym_per_s=NSYM / benchmark.stats["median"] / 1e6)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("coder_name", ["ans", "range"])
def test_batch16(benchmark, coder_name, threads):
    c = FastcodecCoder(SCALES, coder_name, threads=threads)
    blobs = c.encode_batch(LATENTS)
    outs = benchmark(c.decode_batch, blobs, LATENTS)
    for out, (sym, _) in zip(outs, LATENTS):
        np.testing.assert_array_equal(out, sym)


# ---- table for BENCHMARKS.md ------------------------------------------------------------------


def _interleaved_medians(fns, repeat, stat=statistics.median, clock=time.perf_counter):
    """Median (or `stat`) seconds of each callable, timed in `repeat` rounds that call each once in
    turn, so a change in the machine's load during the run falls on all of them alike (2-core VMs
    shared with other work); one warm-up call each first. clock=time.thread_time counts the calling
    thread's CPU time only (for one-thread work: the time it was scheduled out does not count). Each
    timed call follows an untimed one of the same callable."""
    for fn in fns:
        fn()
    times = [[] for _ in fns]
    for _ in range(repeat):
        for t, fn in zip(times, fns):
            fn()  # untimed: the timed call finds its tables and arrays in cache, as in a loop of calls
            t0 = clock()
            fn()
            t.append(clock() - t0)
    return [stat(t) for t in times]


def _machine():
    from fastcodec._cpuinfo import model_name

    model = model_name()
    load = " ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "n/a"
    return f"{model}, {os.cpu_count()} cores, load average {load}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--stat", choices=["median", "min"], default="median",
                        help="min: the fastest round of each, for a machine busy with other work")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                        help="cpu: the one-thread table in thread CPU time, for a machine busy with other work "
                             "(the batch table stays in wall time)")
    args = parser.parse_args(argv)
    stat = {"median": statistics.median, "min": min}[args.stat]
    clock = {"wall": time.perf_counter, "cpu": time.thread_time}[args.clock]
    ideal = continuous_bits(ONE[0], ONE[1], SCALES)
    print(f"workload: {NSYM} symbols ({'x'.join(map(str, ONE[0].shape))}), 64 scales 0.11..256; "
          f"ideal {ideal / NSYM:.4f} bits/symbol (continuous Gaussian of each table scale)")
    fc = FastcodecCoder(SCALES, "ans")
    model = coding.ideal_bits(ONE[0], ONE[1], fc.table)
    print(f"fastcodec's 16-bit table model: {model / NSYM:.4f} bits/symbol ({100 * (model / ideal - 1):+.3f} % vs ideal); "
          f"fastcodec ans {100 * (8 * len(fc.encode(ONE)) / model - 1):+.3f} % and range "
          f"{100 * (8 * len(FastcodecCoder(SCALES, 'range').encode(ONE)) / model - 1):+.3f} % vs the table model")
    print(f"machine: {_machine()}; {args.stat} of {args.repeat} interleaved rounds, {args.clock} time\n")
    coders, fns, sizes = _coders(), [], []
    for c in coders:
        data = c.encode(ONE)
        assert np.array_equal(c.decode(data, ONE), ONE[0]), c.name
        fns += [lambda c=c: c.encode(ONE), lambda c=c, data=data: c.decode(data, ONE)]
        sizes.append(nbytes(data))
    medians = _interleaved_medians(fns, args.repeat, stat, clock)
    rows = [(c.name, NSYM / medians[2 * k] / 1e6, NSYM / medians[2 * k + 1] / 1e6, 8 * sizes[k] / NSYM)
            for k, c in enumerate(coders)]
    ref = {r[0]: r for r in rows}
    base = ref["fastcodec ans"]
    print("| coder | encode Msym/s | decode Msym/s | bits/symbol | vs ideal | fastcodec ans speed-up enc / dec |")
    print("|---|---|---|---|---|---|")
    for name, enc, dec, bps in rows:
        print(f"| {name} | {enc:.1f} | {dec:.1f} | {bps:.4f} | {100 * (bps * NSYM / ideal - 1):+.3f} % | "
              f"{base[1] / enc:.1f}x / {base[2] / dec:.1f}x |")
    print("\nbatch of 16 latents (encode_batch / decode_batch), fastcodec:")
    print("| coder | threads | encode Msym/s | decode Msym/s | speed-up vs 1 thread enc / dec |")
    print("|---|---|---|---|---|")
    total = NSYM * len(LATENTS)
    for name in ("ans", "range"):
        fns = []
        for threads in (1, 2):
            c = FastcodecCoder(SCALES, name, threads=threads)
            blobs = c.encode_batch(LATENTS)
            fns += [lambda c=c: c.encode_batch(LATENTS), lambda c=c, blobs=blobs: c.decode_batch(blobs, LATENTS)]
        medians = _interleaved_medians(fns, args.repeat, stat)
        for k, threads in enumerate((1, 2)):
            enc, dec = medians[2 * k], medians[2 * k + 1]
            print(f"| fastcodec {name} | {threads} | {total / enc / 1e6:.1f} | {total / dec / 1e6:.1f} | "
                  f"{medians[0] / enc:.2f}x / {medians[1] / dec:.2f}x |")
    print(f"\nafter the run: {_machine()}")


if __name__ == "__main__":
    main()
