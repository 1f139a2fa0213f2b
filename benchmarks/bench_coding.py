"""Entropy-coding speed and rate, fastcodec side by side with CompressAI and constriction.

    pytest benchmarks/bench_coding.py --benchmark-only          # pytest-benchmark
    python -m benchmarks.bench_coding [--repeat 7]              # prints the table for BENCHMARKS.md

Each benchmark also checks that the round trip is exact. One thread unless stated.
"""
import argparse
import os
import platform
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


def _median_time(fn, repeat):
    fn()  # warm up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args(argv)
    ideal = continuous_bits(ONE[0], ONE[1], SCALES)
    print(f"workload: {NSYM} symbols ({'x'.join(map(str, ONE[0].shape))}), 64 scales 0.11..256; "
          f"ideal {ideal / NSYM:.4f} bits/symbol (continuous Gaussian of each table scale)")
    fc = FastcodecCoder(SCALES, "ans")
    model = coding.ideal_bits(ONE[0], ONE[1], fc.table)
    print(f"fastcodec's 16-bit table model: {model / NSYM:.4f} bits/symbol ({100 * (model / ideal - 1):+.3f} % vs ideal); "
          f"fastcodec ans {100 * (8 * len(fc.encode(ONE)) / model - 1):+.3f} % and range "
          f"{100 * (8 * len(FastcodecCoder(SCALES, 'range').encode(ONE)) / model - 1):+.3f} % vs the table model")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores; median of {args.repeat}\n")
    rows = []
    for c in _coders():
        data = c.encode(ONE)
        assert np.array_equal(c.decode(data, ONE), ONE[0]), c.name
        enc = _median_time(lambda: c.encode(ONE), args.repeat)
        dec = _median_time(lambda: c.decode(data, ONE), args.repeat)
        rows.append((c.name, NSYM / enc / 1e6, NSYM / dec / 1e6, 8 * nbytes(data) / NSYM))
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
        one = None
        for threads in (1, 2):
            c = FastcodecCoder(SCALES, name, threads=threads)
            blobs = c.encode_batch(LATENTS)
            enc = _median_time(lambda: c.encode_batch(LATENTS), args.repeat)
            dec = _median_time(lambda: c.decode_batch(blobs, LATENTS), args.repeat)
            one = one or (enc, dec)
            print(f"| fastcodec {name} | {threads} | {total / enc / 1e6:.1f} | {total / dec / 1e6:.1f} | "
                  f"{one[0] / enc:.2f}x / {one[1] / dec:.2f}x |")


if __name__ == "__main__":
    main()
