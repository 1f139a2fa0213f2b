"""Which way a model's transforms run on this CPU, chosen by measurement and remembered per machine.

Candidates (BACKENDS): "fp32" (torch, float32), "bf16" (torch under bf16 autocast: oneDNN, which
uses AMX tiles where the CPU has them) and "bf16-native" (bf16 with the C++ Winograd, fused-GDN and
sub-pixel kernels of fastcodec.layers.fast, offered where the CPU has AVX-512 BF16). Which wins
depends on the CPU kind: the C++ kernels beat oneDNN's bf16 on an AVX-512-BF16 EPYC, lose to it
~1.9x where oneDNN has AMX, and bf16 without native support (AVX2) is emulated and slowest.

The first coding with a model (per transform configuration) times each candidate on its real layers
(g_a then g_s on a 256 x 384 image, best of 3 after a warm-up) and keeps the fastest; a candidate
must beat the feature rule's choice (FEATURES) by MARGIN to replace it, so timing noise cannot flip
a decision between two nearly equal paths. The decision is stored in a JSON file keyed by the CPU's
model name and flags, the fastcodec and torch versions and the model's configuration (a file lock
makes processes that start together wait for one measurement), so every later process on the
machine codes with the same path: encoding stays reproducible (the float analysis
decides y, and the paths round y differently). Decodability never depends on it: the prior path is
integer (the same tables under every choice), only the synthesis' last bits differ.

FASTCODEC_BACKEND: "auto" (default, as above), "features" (the rule, no timing: bf16 where the CPU
computes it natively, with the C++ kernels where they run) or a backend name to force. The file:
$FASTCODEC_CACHE_DIR, else $XDG_CACHE_HOME/fastcodec, else ~/.cache/fastcodec; backends.json.
`fastcodec.backends()` (and `fastcodec info --backends`) shows the decisions."""
import contextlib
import hashlib
import json
import os
import tempfile
import threading
import time

import torch

from fastcodec._cpuinfo import cpu
from fastcodec.layers.fast import cpu_has_native_bf16
from fastcodec.layers.fast import supported as native_kernels_supported

BACKENDS = ("fp32", "bf16", "bf16-native")
#: a measured candidate replaces the feature rule's choice only when this much faster
MARGIN = 0.05
#: the image the candidates are timed on (pixels; a Kodak-sized workload, quarter area)
PROBE = (256, 384)
REPEATS = 3

_lock = threading.Lock()
_decisions = {}


def candidates(device="cpu"):
    """The backends worth timing here. bf16 on a CPU without native bf16 (AVX2 only) is emulated,
    20x slower than float32 (measured, mbt2018-mean g_a + g_s on 256 x 384: 6.7 s vs 0.33 s on an
    AVX2 EPYC), so it is not a candidate there (FASTCODEC_BACKEND=bf16 still forces it)."""
    if torch.device(device).type != "cpu":
        return ("fp32", "bf16")
    if not cpu_has_native_bf16():
        return ("fp32",)
    return BACKENDS if native_kernels_supported() else BACKENDS[:2]


def features(device="cpu"):
    """The choice the CPU's features suggest (what fastcodec did before measuring)."""
    if torch.device(device).type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    if not cpu_has_native_bf16():
        return "fp32"
    return "bf16-native" if native_kernels_supported() else "bf16"


def cpu_identity():
    """The CPU's model name and the flags that decide the kernels, as one string."""
    name, flags = cpu()
    relevant = sorted(f for f in flags if f.startswith(("avx", "amx", "fma")))
    return f"{name or 'unknown'} [{' '.join(relevant)}]"


def cache_file():
    root = os.environ.get("FASTCODEC_CACHE_DIR")
    if not root:
        root = os.path.join(os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "fastcodec")
    return os.path.join(root, "backends.json")


def _version():
    from importlib import metadata

    try:
        return metadata.version("fastcodec")
    except metadata.PackageNotFoundError:
        return "unknown"


def _key(model):
    config = json.dumps({"name": model.name, **model.config()}, sort_keys=True)
    raw = "|".join([cpu_identity(), _version(), torch.__version__, config])
    return hashlib.sha256(raw.encode()).hexdigest()[:24]


def _read():
    try:
        with open(cache_file()) as f:
            data = json.load(f)
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def _write(key, record):
    """Adds the record to the file (atomically; a file that cannot be written is not an error)."""
    path = cache_file()
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        data = _read()
        data[key] = record
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".backends-")
        with os.fdopen(fd, "w") as f:
            json.dump(data, f, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except OSError:
        pass


@contextlib.contextmanager
def _machine_lock():
    """An exclusive lock on the store across processes (fcntl), held while a decision is read or
    measured and written: processes starting together (Ray actors, Dask workers) wait for the first
    one's measurement and code with it, instead of each measuring and keeping its own. Where the
    lock file cannot be made, nothing is locked (the decision then stays per process)."""
    try:
        import fcntl

        os.makedirs(os.path.dirname(cache_file()), exist_ok=True)
        f = open(cache_file() + ".lock", "a")
    except (ImportError, OSError):
        yield
        return
    with f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def measure(model, backend):
    """Seconds of g_a + g_s on the probe image with `backend` (best of REPEATS after a warm-up)."""
    x = torch.rand(1, 3, *PROBE, generator=torch.Generator().manual_seed(0)).to(model.device)
    q = model._q(model.rate_spec.index(model.rate_spec.default))
    best = float("inf")
    with model.forced_backend(backend), torch.inference_mode():
        for i in range(REPEATS + 1):
            t0 = time.perf_counter()
            y = model.analyze(x, q)
            model.synthesize(torch.round(y), q)
            if i:
                best = min(best, time.perf_counter() - t0)
    return best


def decide(model):
    """The backend `model` codes with here: forced by FASTCODEC_BACKEND, the feature rule, the
    stored decision, or measured now (and stored). Returns the decision record."""
    mode = os.environ.get("FASTCODEC_BACKEND", "auto")
    device = str(model.device)
    if mode in BACKENDS:
        if mode == "bf16-native" and not (torch.device(device).type == "cpu" and native_kernels_supported()):
            raise RuntimeError("FASTCODEC_BACKEND=bf16-native needs a CPU with AVX-512 BF16")
        return {"backend": mode, "source": "FASTCODEC_BACKEND"}
    if mode != "auto":
        if mode != "features":
            raise RuntimeError(f"FASTCODEC_BACKEND must be auto, features or one of {BACKENDS}, got {mode!r}")
        return {"backend": features(device), "source": "features"}
    if torch.device(device).type != "cpu":
        return {"backend": features(device), "source": "features"}
    options = candidates(device)
    if len(options) == 1:
        return {"backend": options[0], "source": "only candidate"}
    key = _key(model)
    with _lock:
        hit = _decisions.get(key)
    if hit is not None:   # decided earlier in this process: no file, no lock
        return _as_read(hit)
    with _lock, _machine_lock():
        hit = _decisions.get(key) or _read().get(key)
        if hit and hit.get("backend") in options:
            _decisions[key] = hit
            return _as_read(hit)
        rule = features(device)
        times = {b: measure(model, b) for b in options}
        best = min(times, key=times.get)
        chosen = best if times[best] < (1 - MARGIN) * times[rule] else rule
        record = {"backend": chosen, "source": "measured", "rule": rule, "cpu": cpu_identity(),
                  "model": model.name, "threads": torch.get_num_threads(),
                  "ms": {b: round(1000 * t, 2) for b, t in times.items()},
                  "date": time.strftime("%Y-%m-%d")}
        _decisions[key] = record
        _write(key, record)
        return record


def _as_read(record):
    """A stored record as a later reader sees it ("measured" becomes "stored")."""
    return {**record, "source": "stored" if record.get("source") == "measured" else record.get("source")}


def forget():
    """Drops the decisions held in this process (the file stays)."""
    with _lock:
        _decisions.clear()
