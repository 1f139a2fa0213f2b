"""Soak test: one fastcodec.Codec shared by many Python threads, each encoding an image with it and
decoding the bytes back (fastcodec.decode, which finds the same cached model), over many small
crops. Every blob and every decoded image must equal the single-thread result for that crop, and the
resident set size must stay flat once warmed up (no leak).

    python -m benchmarks.soak --images 1000 --threads 8 --model mbt2018-mean --quality 3

Crops of 64x64 to 128x96 pixels (sizes and places drawn with a fixed seed) from the PNGs in --data
(default ../shared/data/val; the package's sample image where that folder is missing). RSS is read
from /proc/self/status after every --sample codings (between rounds of that many, when no coding
is in flight), as it is and after glibc's malloc_trim(0) has handed
the heap's free pages back to the system: glibc keeps freed memory of every thread's arena (up to
thresholds it raises itself after large frees), so the first reading creeps up without a leak, and
the second is what the process still holds. The growth is the last and the highest trimmed reading
after the first --warmup codings of the threaded pass, against the reading at its end; the untrimmed
growth is printed too. Exit status 1 on a mismatch or a growth above --max-growth (5 %).
tests/test_soak.py runs a small version.
"""
import argparse
import ctypes
import ctypes.util
import hashlib
import re
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

SIZES = [(64, 64), (64, 96), (96, 64), (96, 96), (128, 96), (96, 128), (80, 112), (128, 64)]


def rss_bytes():
    """The process's resident set size (VmRSS of /proc/self/status)."""
    text = Path("/proc/self/status").read_text()
    return int(re.search(r"^VmRSS:\s+(\d+) kB", text, re.M).group(1)) * 1024


def _malloc_trim():
    """glibc's malloc_trim, or None where the C library has none (musl, macOS)."""
    try:
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    except (OSError, AttributeError):
        return None


_TRIM = _malloc_trim()


def trimmed_rss_bytes():
    """RSS after handing the heap's free pages back (malloc_trim(0)); plain RSS without glibc."""
    if _TRIM is not None:
        _TRIM(0)
    return rss_bytes()


def crops(photos, count, sizes=SIZES, seed=0):
    """`count` crops (uint8 HxWx3) of the listed sizes at random places in the photos."""
    rng = np.random.default_rng(seed)
    out = []
    for k in range(count):
        photo = photos[k % len(photos)]
        h, w = sizes[rng.integers(len(sizes))]
        h, w = min(h, photo.shape[0]), min(w, photo.shape[1])
        top = int(rng.integers(photo.shape[0] - h + 1))
        left = int(rng.integers(photo.shape[1] - w + 1))
        out.append(np.ascontiguousarray(photo[top:top + h, left:left + w]))
    return out


def load_photos(folder):
    from PIL import Image

    files = sorted(Path(folder).glob("*.png")) if folder and Path(folder).is_dir() else []
    if not files:
        files = [Path(__file__).resolve().parent.parent / "fastcodec" / "data" / "sample.png"]
    return [np.asarray(Image.open(f).convert("RGB")) for f in files]


def code(codec, image):
    """(blob, decoded image) of one image through the shared codec."""
    import fastcodec

    blob = codec.encode(image)
    return blob, fastcodec.decode(blob)


def digest(result):
    """SHA-256 of a (blob, image) result: the blob, the image's shape and dtype and its pixels.
    Only digests are kept, so the memory the soak watches is not the results it has collected."""
    blob, image = result
    h = hashlib.sha256(blob)
    h.update(repr((image.shape, str(image.dtype))).encode())
    h.update(np.ascontiguousarray(image).tobytes())
    return h.digest()


def soak(codec, images, threads, warmup=0, sample=50):
    """Codes `images` once on one thread, then on `threads` threads sharing `codec`. Returns a dict:
    mismatches (indexes whose blob or pixels differ), rss readings [(codings done, bytes, bytes after
    malloc_trim)] of the threaded pass, the trimmed RSS growth after warm-up (last and highest
    reading), the untrimmed one (last reading), seconds of each pass."""
    start = time.perf_counter()
    reference = [digest(code(codec, image)) for image in images]
    single_s = time.perf_counter() - start

    # in rounds of `sample` codings; RSS is read between rounds, with no coding in flight
    results, readings = [], []
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for first in range(0, len(images), sample):
            chunk = images[first:first + sample]
            results += pool.map(lambda image: digest(code(codec, image)), chunk)
            readings.append((len(results), rss_bytes(), trimmed_rss_bytes()))
    threaded_s = time.perf_counter() - start

    mismatches = [k for k, (d0, d1) in enumerate(zip(reference, results)) if d0 != d1]
    after = [r for r in readings if r[0] >= warmup] or readings[-1:]
    base = after[0][2]
    return {"mismatches": mismatches, "rss": readings, "rss_warm": base,
            "growth_last": after[-1][2] / base - 1, "growth_max": max(r[2] for r in after) / base - 1,
            "untrimmed_growth_last": after[-1][1] / after[0][1] - 1,
            "single_s": single_s, "threaded_s": threaded_s}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--model", default="mbt2018-mean")
    parser.add_argument("--quality", type=float, default=3)
    parser.add_argument("--data", default=str(Path(__file__).resolve().parent.parent.parent / "shared/data/val"))
    parser.add_argument("--warmup", type=int, default=200, help="codings of the threaded pass before RSS is watched")
    parser.add_argument("--sample", type=int, default=50, help="read RSS every N codings")
    parser.add_argument("--max-growth", type=float, default=0.05)
    args = parser.parse_args(argv)

    import torch

    import fastcodec

    codec = fastcodec.load(args.model, args.quality)
    images = crops(load_photos(args.data), args.images)
    pixels = sum(x.shape[0] * x.shape[1] for x in images)
    print(f"{codec!r}, {len(images)} crops ({pixels / len(images):.0f} pixels on average), {args.threads} threads, "
          f"torch {torch.__version__} with {torch.get_num_threads()} intra-op threads")
    r = soak(codec, images, args.threads, args.warmup, args.sample)
    mib = 1 << 20
    print(f"single thread {r['single_s']:.1f} s, {args.threads} threads {r['threaded_s']:.1f} s "
          f"({len(images)} encodes + decodes each)")
    print("RSS MiB by codings done (as read / after malloc_trim): "
          + ", ".join(f"{n}: {b / mib:.0f}/{t / mib:.0f}" for n, b, t in r["rss"]))
    print(f"mismatches: {len(r['mismatches'])} of {len(images)}; RSS after malloc_trim after {args.warmup} codings "
          f"{r['rss_warm'] / mib:.1f} MiB, growth to the end {100 * r['growth_last']:+.2f} %, "
          f"to the highest reading {100 * r['growth_max']:+.2f} %; untrimmed RSS growth to the end "
          f"{100 * r['untrimmed_growth_last']:+.2f} %")
    ok = not r["mismatches"] and r["growth_max"] < args.max_growth
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
