"""fastcodec.train.recipe: argument parsing and the commands a --dry-run prints (nothing is trained).

The module is loaded from this checkout's file, whichever fastcodec package is installed."""
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

RECIPE = Path(__file__).resolve().parents[1] / "fastcodec" / "train" / "recipe.py"
MANIFEST = RECIPE.parents[1] / "zoo" / "manifest.json"
OFFSETS = ["--base-offset", "1000", "--ctx-offset", "200", "--hp-offset", "300", "--f-offset", "4000",
           "--f-history", "HISTORY"]


@pytest.fixture(scope="module")
def recipe():
    spec = importlib.util.spec_from_file_location("fastcodec_recipe_under_test", RECIPE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def dry_run(recipe, capsys, *argv):
    assert recipe.main([*argv, "--dry-run"]) == 0
    return capsys.readouterr().out.splitlines()


def commands(lines):
    return [line for line in lines if not line.startswith("#")]


def test_arguments_and_defaults(recipe, tmp_path):
    a = recipe.parse(["base", "--runs", str(tmp_path)])
    assert a.step == "base" and a.data == "../shared/data/train" and a.calibration == "../shared/data/train/mcmaster"
    assert a.val == "../shared/data/val" and a.threads == 2 and a.run == str(tmp_path / "base")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", a.tag) and a.work == tmp_path / a.tag
    assert (a.hy_steps, a.ctx_steps, a.hp_steps, a.f_steps, a.fd_steps, a.fg_steps) == (600, 400, 2000, 4000, 1500, 1000)
    assert a.use_ema and a.build and a.burst_seconds == 420 and a.burst_batch == 32
    with pytest.raises(SystemExit):
        recipe.parse(["no-such-step"])
    with pytest.raises(SystemExit):
        recipe.parse(["decay", "--ctx-steps", "many"])
    assert recipe.expand("export-all") == ["decay", "save", "base-entropy", "merge", "context", "hyperprior",
                                           "factorized", "compare", "kodak"]


def test_shipped_step_counts_default_to_the_manifest(recipe, tmp_path):
    shipped = {e["name"]: e["steps"] for e in json.loads(MANIFEST.read_text())["models"]}
    a = recipe.parse(["final", "--runs", str(tmp_path), "--tag", "t"])
    assert a.base_offset == shipped["mbt2018-mean"] - 600
    assert (a.ctx_offset, a.hp_offset, a.f_offset) == (shipped["mbt2018"], shipped["bmshj2018-hyperprior"],
                                                        shipped["bmshj2018-factorized"])
    assert "; then the densities re-fitted" not in a.f_history


def test_dry_run_prints_the_export_in_order_and_runs_nothing(recipe, tmp_path, capsys):
    runs = tmp_path / "runs"
    lines = dry_run(recipe, capsys, "export-all", "--runs", str(runs), "--tag", "t", *OFFSETS)
    assert not runs.exists()
    steps = [line.split()[-1] for line in lines if line.startswith("# --- ")]
    assert steps == recipe.expand("export-all")
    cmds = commands(lines)
    trains = [c for c in cmds if c.startswith("python -m fastcodec.train --")]
    w = f"{runs}/t"
    assert trains[0] == (f"python -m fastcodec.train --arch mbt2018-mean --data ../shared/data/train --out {w}/decay "
                         f"--steps '<step of {runs}/base/ckpt.pt>+1000' --lr 5e-5 --threads 2 --ema 0.999 --init "
                         f"mbt2018-mean --balance-qualities --compile-gdn --lr-mult film=10")
    assert "--arch mbt2018-mean --freeze g_a,g_s,gains --data ../shared/data/train --crop 512 --batch 4 --lr 1e-4 " \
           f"--steps '<step of {w}/decay/ckpt.pt>+600'" in trains[1] and "--ema 0.99 --balance-qualities" in trains[1]
    for arch, line in zip(("mbt2018", "he2021-checkerboard"), trains[2:4]):
        assert f"--arch {arch} --init {w}/derived/init_{arch}.safetensors " \
               "--freeze g_a,g_s,h_a,h_s,entropy_bottleneck,gains" in line
        assert "--crop 512 --batch 4 --lr 3e-5 --steps 400" in line and line.endswith("--ema 0.99")
    assert "--arch bmshj2018-hyperprior" in trains[4] and "--freeze g_a,g_s,gains" in trains[4]
    assert "--crop 512 --batch 4 --lr 1e-4 --steps 2000" in trains[4]
    assert "--arch bmshj2018-factorized" in trains[5] and "--freeze" not in trains[5]
    assert "--lr-mult film=10 --data ../shared/data/train --lr 1e-4 --steps 4000" in trains[5]
    assert trains[5].endswith("--ema 0.999 --balance-qualities --compile-gdn") and len(trains) == 6
    exports = [c for c in cmds if c.startswith("python -m fastcodec.train.export ")]
    assert len(exports) == 6
    assert "--step-offset 1000 " in exports[0] and "--calibration ../shared/data/train/mcmaster" in exports[0]
    assert sum("--base mbt2018-mean --step-offset 200 " in e for e in exports) == 2
    assert "--base mbt2018-mean --step-offset 300 " in exports[3]
    assert f"--zoo-dir {w}/factorized/fz" in exports[4]
    assert "--base mbt2018-mean --step-offset 8000 --notes 'HISTORY; 4,000 steps (t)" in exports[5]
    fits = [c for c in cmds if "fit_density" in c.split()[2] or "fit_gains" in c.split()[2]]
    assert fits[0].endswith(f"--out {w}/factorized/factorized_fit.safetensors --steps 1500")
    assert fits[1].endswith(f"--out {w}/factorized/factorized_gains.safetensors --steps 1000 --threads 2")
    compares = [c for c in cmds if c.startswith("python -m fastcodec.train.valcurve ")]
    assert compares[0] == (f"python -m fastcodec.train.valcurve {w}/shipped/mbt2018-mean.safetensors "
                           "mbt2018-mean --data ../shared/data --dirs val --threads 2")
    assert [c.split()[4] for c in compares] == list(recipe.ALL_MODELS)
    assert cmds[-6:-1] == compares
    assert cmds[-1].startswith("python -m fastcodec.cli.main eval --data ../shared/data/kodak --out results "
                               "--merge --models mbt2018-mean,")
    assert not any("/work/" in line or "session" in line.lower() for line in lines)


def test_base_run_and_burst(recipe, tmp_path, capsys):
    assert commands(dry_run(recipe, capsys, "base", "--runs", str(tmp_path))) == [
        f"python -m fastcodec.train --arch mbt2018-mean --data ../shared/data/train --out {tmp_path}/base --steps 200000 "
        "--lr 1e-4 --threads 2 --ema 0.999 --balance-qualities --compile-gdn --lr-mult film=10 --init mbt2018-mean"]
    cmds = commands(dry_run(recipe, capsys, "burst", "--runs", str(tmp_path), "--tag", "t", "--burst-out", "OUTDIR"))
    assert cmds[0] == "python -m pip install -q --no-build-isolation --no-deps -e ."
    assert cmds[3].startswith("timeout -s TERM 420 python -m fastcodec.train --arch mbt2018-mean --data .burst/data")
    assert "--steps 10000000 --lr 1e-4 --batch 32 --crop 128 --device cuda --ema 0.999 --init mbt2018-mean " \
           "--balance-qualities --lr-mult film=10 2>&1 | tee OUTDIR/train.log" in cmds[3]
    assert "--zoo-dir OUTDIR/zoo" in cmds[4]
    with pytest.raises(SystemExit, match="--ckpt"):
        recipe.main(["factorized-ship", "--dry-run", "--runs", str(tmp_path), *OFFSETS])


def test_runs_as_a_script_without_importing_torch(tmp_path):
    code = ("import importlib.util, sys; spec = importlib.util.spec_from_file_location('r', sys.argv[1]); "
            "m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m); "
            "m.main(['final', '--dry-run', '--runs', sys.argv[2]]); print('torch imported:', 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(RECIPE), str(tmp_path / "runs")],
                         capture_output=True, text=True, check=True).stdout
    assert out.rstrip().endswith("torch imported: False") and "fit_gains" in out
