"""Keeps large freed buffers in the process heap (glibc only).

A transform allocates and frees tens of full-resolution activations per image (25-50 MB each).
glibc serves blocks above its mmap threshold (at most 32 MB by default, adapting upwards) with
fresh mmap()s and returns them on free(), so every layer of every image page-faults its buffers in
again: measured on the project CPU, 20-25 % of a bmshj2018-hyperprior encode + decode. Raising the
mmap and trim thresholds lets freed blocks be reused. The cost: up to the peak working set of a
coding call (a few hundred MB for a large photo) stays resident after it.

Applied once, by fastcodec.load(); set FASTCODEC_MALLOC_TUNING=0 to leave the allocator alone.
It changes the whole process (other libraries' large allocations too), which is why it is
documented in README.md ("Performance").
"""
import ctypes
import ctypes.util
import os
import sys

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
THRESHOLD = 1 << 30
_done = False


def tune():
    """Raises glibc's mmap and trim thresholds to 1 GiB, once; returns whether it was applied."""
    global _done
    if _done:
        return True
    if os.environ.get("FASTCODEC_MALLOC_TUNING", "1") == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):   # musl and others: no mallopt
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    _done = bool(mallopt(M_TRIM_THRESHOLD, THRESHOLD)) and bool(mallopt(M_MMAP_THRESHOLD, THRESHOLD))
    return _done
