"""Where a result came from: the weights (sha256), the fastcodec version, the machine, the date and
the command, so that a figure can be traced and a merge can refuse rows of other weights."""
import os
import platform
import sys
import time

from fastcodec._cpuinfo import cpu

#: CPU flags worth knowing when comparing timings and float results (x86 SIMD levels, Arm vectors)
SIMD_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl", "avx512_vnni",
              "avx512_bf16", "amx_bf16", "amx_int8", "asimd", "sve")


def machine():
    """{cpu, cpu_flags, cores, torch, torch_cpu_capability, torch_threads, python, platform}."""
    import torch

    model, flags = cpu()
    return {"cpu": model or platform.processor() or platform.machine(),
            "cpu_flags": " ".join(f for f in SIMD_FLAGS if f in flags) if flags else "unknown",
            "cores": os.cpu_count(), "torch": torch.__version__,
            "torch_cpu_capability": torch.backends.cpu.get_cpu_capability(),
            "torch_threads": torch.get_num_threads(), "python": platform.python_version(),
            "platform": platform.system() + " " + platform.machine()}


def run_record(command):
    """{fastcodec, machine, date_utc, command} of this run."""
    # the package root is loaded before any submodule; read from it rather than import it (its Pillow
    # hook belongs to a layer above this one)
    version = sys.modules["fastcodec"].__version__
    return {"fastcodec": version, "machine": machine(),
            "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "command": command}


def weights_sha256(name_or_path):
    """sha256 of a model's weights file: a shipped name's from the manifest (load_model checks the
    file against it), any other file hashed."""
    from fastcodec.zoo import manifest, sha256_file

    entry = manifest().get(str(name_or_path))
    return entry["sha256"] if entry is not None else sha256_file(name_or_path)
