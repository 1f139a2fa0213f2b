"""What the CPU is: its model name and feature flags, read once from /proc/cpuinfo (x86 "model
name"/"flags", Arm "Model"/"Hardware"/"Features"); an empty name and no flags where there is no
such file. The kernel dispatch, the result provenance and the benchmarks' headers all read it here."""
import functools
import platform


@functools.lru_cache(maxsize=1)
def cpu():
    """(model name, frozenset of flags)."""
    model, flags = "", frozenset()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                key = key.strip()
                if key in ("model name", "Model", "Hardware") and not model:
                    model = value.strip()
                elif key in ("flags", "Features") and not flags:
                    flags = frozenset(value.split())
    except OSError:
        pass
    return model, flags


def model_name():
    """The CPU's model name, or what platform knows of it."""
    return cpu()[0] or platform.processor() or platform.machine()
