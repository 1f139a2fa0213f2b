"""Shortens how long torch's OpenMP threads spin after each parallel region (libgomp only).

Coding alternates torch operators (the transforms, on torch's OpenMP threads) with the C++ core's
own threads (the integer h_s, the context-model loops). libgomp's idle threads spin for
GOMP_SPINCOUNT iterations after every parallel region (300,000 by default: milliseconds), and while
they spin they hold the cores the C++ threads need: on the 2-core project CPU the integer h_s of
mbt2018 ran 2x slower right after a torch operator, and a decode took 151 instead of 134 ms.
A spin count of 10,000 (tens of microseconds) still bridges the gaps between consecutive torch
operators (the transforms are as fast as before) and frees the cores before the C++ work starts.

libgomp reads the variable once, when torch is first imported, so this only works if it runs
before that: ``import fastcodec`` and fastcodec.api call it, the ``fastcodec`` command always gets
it. A value already in the environment is kept;
FASTCODEC_OMP_TUNING=0 leaves the environment alone. Documented in README.md ("Performance").
"""
import os
import sys

SPINCOUNT = "10000"


def configure():
    """Sets GOMP_SPINCOUNT (unless set) if torch is not imported yet; returns whether it is in effect."""
    if os.environ.get("FASTCODEC_OMP_TUNING", "1") == "0":
        return False
    if "torch" in sys.modules:
        return os.environ.get("GOMP_SPINCOUNT") is not None
    os.environ.setdefault("GOMP_SPINCOUNT", SPINCOUNT)
    return True
