"""The entropy-coding demo: a latent shaped like one Kodak image's (192 x 32 x 48), each value
drawn from N(0, s) with s log-uniform over the Gaussian scale table, coded with both coders."""
import time

import numpy as np

from fastcodec import coding
from fastcodec.entropy.gaussian_tables import gaussian_cdf_table, scale_table


def gaussian_latent(rng, shape, scales):
    """(symbols, indexes): round(N(0, s)) with s = scales[index], index uniform over the table."""
    indexes = rng.integers(0, len(scales), size=shape, dtype=np.int32)
    symbols = np.rint(rng.normal(0.0, scales[indexes])).astype(np.int32)
    return symbols, indexes


def _best_time(fn, repeat=5):
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def run_demo(seed=0, channels=192, height=32, width=48):
    scales = scale_table()
    t0 = time.perf_counter()
    table = gaussian_cdf_table(scales)
    build_s = time.perf_counter() - t0
    symbols, indexes = gaussian_latent(np.random.default_rng(seed), (channels, height, width), scales)
    n = symbols.size
    ideal = coding.ideal_bits(symbols, indexes, table)
    print(f"latent {channels}x{height}x{width} = {n} symbols, {len(scales)} Gaussian scales "
          f"{scales[0]:.2f}..{scales[-1]:.0f}, table built in {build_s * 1e3:.0f} ms")
    print(f"ideal (table model): {ideal / 8:,.0f} bytes, {ideal / n:.4f} bits/symbol")
    for coder in ("ans", "range"):
        data = coding.encode(symbols, indexes, table, coder=coder)
        back = coding.decode(data, indexes, table, coder=coder)
        if not np.array_equal(back, symbols):
            raise RuntimeError(f"{coder} round trip failed")
        enc = _best_time(lambda: coding.encode(symbols, indexes, table, coder=coder))
        dec = _best_time(lambda: coding.decode(data, indexes, table, coder=coder))
        print(f"{coder:>5}: {len(data):,} bytes ({100 * (8 * len(data) / ideal - 1):+.3f} % vs ideal), "
              f"encode {n / enc / 1e6:.0f} M symbols/s, decode {n / dec / 1e6:.0f} M symbols/s, round trip exact")
