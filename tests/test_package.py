"""Package-level promises: a cheap import, the command line's demo and its error handling."""
import subprocess
import sys

import fastcodec
from fastcodec.cli.main import main


def test_import_is_light():
    code = ("import sys, fastcodec; from fastcodec import coding; "
            "heavy = [m for m in ('torch', 'triton', 'safetensors') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_import_loads_neither_torch_nor_pillow_and_the_plugin_still_registers():
    code = ("import sys, fastcodec\n"
            "assert 'torch' not in sys.modules and 'PIL' not in sys.modules\n"
            "from PIL import Image\n"
            "print(Image.EXTENSION.get('.fcx'), Image.MIME.get('FCX'))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["FCX", "image/x-fastcodec"]
    # Pillow imported first: registered at import
    code = "from PIL import Image\nimport fastcodec\nprint(Image.EXTENSION.get('.fcx'))"
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "FCX"


def test_lazy_submodule_and_version():
    assert fastcodec.coding.CdfTable is not None
    assert fastcodec.__version__


def test_demo_runs(capsys):
    assert main(["demo", "--coding", "--channels", "8", "--height", "4", "--width", "6"]) == 0
    out = capsys.readouterr().out
    assert "round trip exact" in out and "ans" in out and "range" in out


def test_cli_user_error_is_one_line(capsys):
    assert main(["demo", "--coding", "--channels", "-1"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("fastcodec demo: error:")


def test_openmp_spin_is_shortened_only_before_torch_loads():
    """import fastcodec (and fastcodec.api) sets GOMP_SPINCOUNT (unless set) when torch is not
    imported yet, and leaves the environment alone otherwise (fastcodec/_openmp.py)."""
    import subprocess
    import sys

    code = ("import os, sys\n{pre}\nimport {module}\n"
            "print('torch' in sys.modules, os.environ.get('GOMP_SPINCOUNT'))")
    run = lambda pre, env, module="fastcodec.api": subprocess.run(
        [sys.executable, "-c", code.format(pre=pre, module=module)], capture_output=True, text=True, env=env,
        check=True).stdout.split()
    import os

    base = {k: v for k, v in os.environ.items() if k not in ("GOMP_SPINCOUNT", "FASTCODEC_OMP_TUNING")}
    assert run("", base) == ["False", "10000"]
    assert run("", base, module="fastcodec") == ["False", "10000"]
    assert run("", dict(base, GOMP_SPINCOUNT="77")) == ["False", "77"]
    assert run("", dict(base, FASTCODEC_OMP_TUNING="0")) == ["False", "None"]
    assert run("import torch", base) == ["True", "None"]
