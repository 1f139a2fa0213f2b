"""`fastcodec demo`: the shipped sample image through the default model, against JPEG at the same
size; `fastcodec demo --coding`: the entropy coders alone on a Gaussian latent shaped like one
Kodak image's (192 x 32 x 48), with s log-uniform over the Gaussian scale table."""
import io
import math
import time
from pathlib import Path

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


SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample.png"


def _psnr(a, b):
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * math.log10(255 ** 2 / mse)


def _jpeg_at_size(image, max_bytes):
    """(bytes, quality, decoded) of the best Pillow JPEG (4:2:0) no larger than max_bytes."""
    from PIL import Image

    pil = Image.fromarray(image)
    best = None
    lo, hi = 1, 95
    while lo <= hi:
        q = (lo + hi) // 2
        buf = io.BytesIO()
        pil.save(buf, format="JPEG", quality=q)
        if buf.tell() <= max_bytes:
            best, lo = (buf.getvalue(), q), q + 1
        else:
            hi = q - 1
    if best is None:
        return None
    return best[0], best[1], np.asarray(Image.open(io.BytesIO(best[0])).convert("RGB"))


def run_image_demo(path=None, model=None, quality=3):
    import fastcodec
    from PIL import Image

    path = Path(path) if path else SAMPLE
    image = np.asarray(Image.open(path).convert("RGB"))
    h, w = image.shape[:2]
    t0 = time.perf_counter()
    codec = fastcodec.load(model, quality)
    t1 = time.perf_counter()
    blob = codec.encode(image)
    t2 = time.perf_counter()
    out = fastcodec.decode(blob)
    t3 = time.perf_counter()
    print(f"{path.name}: {w}x{h}, model {codec.name} quality {codec.quality:g} (loaded in {t1 - t0:.2f} s)")
    print(f"fastcodec: {len(blob):,} bytes, {8 * len(blob) / (h * w):.4f} bpp, PSNR {_psnr(image, out):.2f} dB, "
          f"encode {t2 - t1:.2f} s, decode {t3 - t2:.2f} s")
    jpeg = _jpeg_at_size(image, len(blob))
    if jpeg is None:
        print("JPEG: no quality fits in the same size")
    else:
        data, q, dec = jpeg
        print(f"JPEG (Pillow, q{q}, same size or smaller): {len(data):,} bytes, {8 * len(data) / (h * w):.4f} bpp, "
              f"PSNR {_psnr(image, dec):.2f} dB")
