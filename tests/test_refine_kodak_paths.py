"""benchmarks/refine_kodak.py writes the folders of a summary relative to the repository root when
they lie inside it, so that committed results files carry no paths of the machine they came from."""
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.refine_kodak import recorded_path  # noqa: E402


def test_folders_inside_the_repository_are_written_relative(tmp_path, monkeypatch):
    root = str(tmp_path / "repo")
    assert recorded_path(os.path.join(root, "runs", "refine27"), root) == "runs/refine27"
    assert recorded_path(root, root) == "."
    monkeypatch.chdir(tmp_path)
    assert recorded_path("repo/runs/x", root) == "runs/x"          # relative to the current directory
    assert recorded_path("../shared/data/kodak", root) == "../shared/data/kodak"  # outside: as given
    assert recorded_path(str(tmp_path / "repository2" / "x"), root) == str(tmp_path / "repository2" / "x")


def test_default_root_is_this_repository():
    assert recorded_path(ROOT / "results" / "refine") == "results/refine"
