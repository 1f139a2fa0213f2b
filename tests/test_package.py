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
