"""Kodak is never fitted on nor chosen with (fastcodec/train/kodak.py): every tool that fits or
chooses from photos refuses a Kodak folder, naming the argument; `fastcodec eval` still measures it."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from PIL import Image  # noqa: E402

from fastcodec.train.kodak import refuse_kodak, why_kodak  # noqa: E402


def _photo(path, seed=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (32, 48, 3), dtype=np.uint8)).save(path)
    return path


@pytest.fixture
def folders(tmp_path):
    """photos/: ordinary names; kodak/: a folder named so; renamed/: the Kodak files under a plain
    folder name; mixed/: ordinary photos with one Kodak file deep inside."""
    _photo(tmp_path / "photos" / "a.png")
    _photo(tmp_path / "photos" / "set5" / "b.png")
    _photo(tmp_path / "kodak" / "a.png")
    _photo(tmp_path / "renamed" / "kodim07.png")
    _photo(tmp_path / "mixed" / "a.png")
    _photo(tmp_path / "mixed" / "sub" / "deeper" / "KODIM23.PNG")
    (tmp_path / "linked").symlink_to(tmp_path / "kodak")
    return tmp_path


def test_what_counts_as_kodak(folders):
    assert why_kodak(folders / "photos") is None
    assert why_kodak(folders / "photos" / "a.png") is None
    assert why_kodak("../shared/data/train") is None and why_kodak("../shared/data/val") is None
    assert "'kodak' is on its path" in why_kodak(folders / "kodak")
    assert "'Kodak24' is on its path" in why_kodak("elsewhere/Kodak24")   # need not exist
    assert "kodim07.png is a Kodak file name" in why_kodak(folders / "renamed" / "kodim07.png")
    assert "it holds kodim07.png" in why_kodak(folders / "renamed")
    assert "it holds sub/deeper/KODIM23.PNG" in why_kodak(folders / "mixed")
    assert "is on its path" in why_kodak(folders / "linked")    # a link to the Kodak folder
    assert why_kodak(folders / "nowhere") is None
    refuse_kodak("--data", folders / "photos")
    with pytest.raises(SystemExit, match=r"^--data: .*renamed is Kodak \(it holds kodim07.png.*\); Kodak is kept "
                                         r"for the final report \(fastcodec eval\)"):
        refuse_kodak("--data", folders / "photos", folders / "renamed")


def test_train_refuses_kodak(folders):
    from fastcodec.cli.main import main

    base = ["train", "--out", str(folders / "run"), "--steps", "1", "--arch", "mbt2018-mean", "--N", "8", "--M", "12"]
    with pytest.raises(SystemExit, match="^--data: .*mixed is Kodak"):
        main(base + ["--data", str(folders / "mixed"), "--val-dirs", "set5"])
    _photo(folders / "photos" / "kodak" / "c.png")
    with pytest.raises(SystemExit, match="^--val-dirs: .*kodak is Kodak"):
        main(base + ["--data", str(folders / "photos"), "--val-dirs", "set5,kodak"])
    assert not (folders / "run").exists()


def test_export_refuses_kodak_calibration(folders):
    from fastcodec.models import build
    from fastcodec.train import export

    with pytest.raises(SystemExit, match="^--calibration: .*renamed is Kodak"):
        export.main(["no-such-ckpt.pt", "--arch", "mbt2018-mean", "--name", "x", "--zoo-dir", str(folders / "zoo"),
                     "--calibration", str(folders / "renamed")])
    with pytest.raises(SystemExit, match="^--calibration: .*kodak is Kodak"):
        export.calibration_latents(build("mbt2018-mean", N=8, M=12).eval(), folders / "kodak")
    assert not (folders / "zoo").exists()


@pytest.mark.parametrize("tool", ["fit_density", "fit_gains"])
def test_fits_refuse_kodak(folders, tool):
    module = importlib.import_module(f"fastcodec.train.{tool}")
    argv = ["--init", "bmshj2018-factorized", "--data", str(folders / "kodak"), "--out", str(folders / "out.safetensors")]
    if tool == "fit_density":
        argv += ["--arch", "bmshj2018-factorized"]
    with pytest.raises(SystemExit, match="^--data: .*kodak is Kodak"):
        module.main(argv)
    assert not (folders / "out.safetensors").exists()


def test_valcurve_refuses_kodak(folders):
    from fastcodec.train import valcurve

    with pytest.raises(SystemExit, match="^--data/--dirs: .*kodak is Kodak"):
        valcurve.main(["mbt2018-mean", "--data", str(folders), "--dirs", "photos,kodak"])


def test_recipe_refuses_kodak(folders):
    spec = importlib.util.spec_from_file_location(
        "fastcodec_recipe_kodak", Path(__file__).resolve().parents[1] / "fastcodec" / "train" / "recipe.py")
    recipe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recipe)
    plain = ["--runs", str(folders / "runs"), "--data", str(folders / "photos"), "--calibration",
             str(folders / "photos"), "--val", str(folders / "photos")]
    assert recipe.parse(["base", *plain]).data == str(folders / "photos")
    for argument in ("--data", "--calibration", "--val"):
        argv = ["base", *plain]
        argv[argv.index(argument) + 1] = str(folders / "renamed")
        with pytest.raises(SystemExit, match=f"^{argument}: .*renamed is Kodak"):
            recipe.parse(argv)


def test_eval_still_measures_kodak(folders, tmp_path, capsys):
    """Evaluation is what Kodak is for: `fastcodec eval` runs on the Kodak folder."""
    import json

    import torch

    from fastcodec.cli.main import main
    from fastcodec.models import build
    from fastcodec.train.export import export

    torch.manual_seed(0)
    export(build("mbt2018-mean", N=8, M=12), "tiny", 1, zoo_dir=tmp_path / "zoo")
    weights = tmp_path / "zoo" / "weights" / "tiny.safetensors"
    assert main(["eval", "--data", str(folders / "renamed"), "--models", str(weights), "--qualities", "1,8",
                 "--codecs", "none", "--out", str(tmp_path / "results"), "--threads", "1"]) == 0
    result = json.loads(next((tmp_path / "results").glob("*_rd.json")).read_text())
    assert result["images"] == 1 and "tiny" in result["models"]
