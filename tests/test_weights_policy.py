"""The policy for zoo weights in git (docs/weights.md): every commit since the policy that adds or
changes fastcodec/zoo/weights/<name>.safetensors names that file in a trailer line

    Weights: <name> val <figure> %      (BD-rate on ../shared/data/val against the shipped file, <= -0.5)
    Weights: <name> issue <N>           (the weights with which issue N ends)

Older commits are grandfathered. One `git log` call; skipped outside a git checkout."""
import json
import re
import shutil
import subprocess
from datetime import datetime, timezone
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
WEIGHTS = "fastcodec/zoo/weights"
POLICY_SINCE = datetime(2026, 12, 7, tzinfo=timezone.utc)   # the policy's commit date (author date, UTC)
MARGIN = -0.5                                                 # percent BD-rate on the validation photos
# commits merged against the policy that history cannot take back: {hash prefix: why it stands}
EXCEPTIONS = {}
TRAILER = re.compile(r"^Weights:[ \t]*(?P<name>[\w.-]+)[ \t]+(?:val[ \t]+(?P<val>[-+\u2212]?\d+(?:\.\d+)?)[ \t]*%"
                     r"|issue[ \t]+#?(?P<issue>\d+))[ \t]*$", re.MULTILINE)


def trailers(message):
    """{name: ("val", figure) or ("issue", number)} of a commit message's Weights: lines."""
    out = {}
    for m in TRAILER.finditer(message):
        if m["val"] is not None:
            out[m["name"]] = ("val", float(m["val"].replace("\u2212", "-")))
        else:
            out[m["name"]] = ("issue", int(m["issue"]))
    return out


def violations(message, changed):
    """What a commit changing the zoo files `changed` (names without .safetensors) lacks."""
    found = trailers(message)
    problems = []
    for name in sorted(changed):
        if name not in found:
            problems.append(f"no 'Weights: {name} val <figure> %' or 'Weights: {name} issue <N>' trailer")
        elif found[name][0] == "val" and found[name][1] > MARGIN:
            problems.append(f"{name}: val {found[name][1]:+.2f} % is not <= {MARGIN} %")
    return problems


def zoo_commits():
    """[(hash, author time, message, changed zoo names)] of the commits that add or change a zoo file.
    A commit without parents is left out: the first commit, or the boundary of a shallow clone, where
    every file looks added."""
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    log = subprocess.run([git, "-C", str(ROOT), "log", "--no-renames", "--diff-filter=ACMT",
                          "--format=%x1e%H%x1f%P%x1f%at%x1f%B%x1f", "--name-only", "--", WEIGHTS],
                         capture_output=True, text=True)
    if log.returncode != 0:
        pytest.skip(f"not a git checkout: the weights policy is checked on the history ({log.stderr.strip()[:120]})")
    out = []
    for record in log.stdout.split("\x1e")[1:]:
        sha, parents, when, message, files = record.split("\x1f")
        names = {Path(f).name[: -len(".safetensors")] for f in files.split()
                 if f.startswith(WEIGHTS + "/") and f.endswith(".safetensors")}
        if names and parents.strip():
            out.append((sha, datetime.fromtimestamp(int(when), timezone.utc), message, names))
    if not out:
        pytest.skip(f"no history of {WEIGHTS} in this checkout")
    return out


def test_trailers_are_read_and_the_margin_applies():
    message = ("mbt2018-mean: 40,000 more steps\n\nWeights: mbt2018-mean val \u22120.62 %\n"
               "Weights: mbt2018 val -0.51 %\nWeights: bmshj2018-hyperprior issue 7\n")
    assert trailers(message) == {"mbt2018-mean": ("val", -0.62), "mbt2018": ("val", -0.51),
                                 "bmshj2018-hyperprior": ("issue", 7)}
    assert violations(message, {"mbt2018-mean", "mbt2018", "bmshj2018-hyperprior"}) == []
    assert violations(message, {"he2021-checkerboard"}) == [
        "no 'Weights: he2021-checkerboard val <figure> %' or 'Weights: he2021-checkerboard issue <N>' trailer"]
    assert violations("x\n\nWeights: mbt2018 val -0.3 %\n", {"mbt2018"}) == ["mbt2018: val -0.30 % is not <= -0.5 %"]
    assert violations("Weights: mbt2018 val -1.2 % (held out)\n", {"mbt2018"}) != []   # the line is the trailer alone
    assert violations("x\n\nWeights: mbt2018 issue #12\n", {"mbt2018"}) == []


def test_zoo_commits_since_the_policy_carry_their_trailers():
    commits = zoo_commits()
    bad = [f"{sha[:10]} ({when:%Y-%m-%d}): {problem}"
           for sha, when, message, names in commits
           if when >= POLICY_SINCE and not any(sha.startswith(prefix) for prefix in EXCEPTIONS)
           for problem in violations(message, names)]
    assert not bad, "zoo weights committed against docs/weights.md:\n" + "\n".join(bad)


def test_every_zoo_file_is_in_the_manifest():
    """A file under fastcodec/zoo/weights that no manifest entry names would sit in every clone for
    nothing. (That each entry's file loads with its sha256 is tests/test_zoo.py's.)"""
    path = ROOT / "fastcodec" / "zoo" / "manifest.json"
    if not path.exists():
        pytest.skip(f"{path} is not in this checkout")
    manifest = json.loads(path.read_text())
    named = {e["file"] for e in manifest["models"]} | {e.get("training_record") for e in manifest["models"]}
    files = {p.name for p in (ROOT / WEIGHTS).iterdir() if p.is_file()}
    assert files - named == set(), f"zoo files no manifest entry names: {sorted(files - named)}"
