"""`fastcodec encode DIR -o OUT`: the engines' files are the local API's bytes, a bad file is listed
and the others written, writes are atomic, a killed job resumes without recoding finished files."""
import shutil
import signal
import subprocess
import sys
import time

import pytest

from fastcodec import bitstream
from fastcodec.cli.main import main
from job_images import MODEL, QUALITY, bad_file, image_paths, reference_bytes

ARGS = ["--model", MODEL, "--quality", str(QUALITY)]


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("src")
    paths = []
    for p in image_paths(folder)[:8]:
        if p.parent != folder:
            shutil.copy(p, folder / p.name)
        paths.append(folder / p.name)
    return folder, {p.stem: blob for p, blob in zip(paths, reference_bytes(paths).values())}


def _outputs(out):
    return {p.stem: p.read_bytes() for p in out.glob("*.fcx")}


def test_local_engine_writes_every_good_file_and_lists_the_bad(images, tmp_path, capsys):
    folder, expected = images
    src = tmp_path / "src"
    shutil.copytree(folder, src)
    bad_file(src)
    assert main(["encode", str(src), "-o", str(tmp_path / "out"), *ARGS]) == 1
    err = capsys.readouterr().err
    assert "1 file(s) failed" in err and "not_an_image.png: UnidentifiedImageError" in err
    assert _outputs(tmp_path / "out") == expected


@pytest.mark.parametrize("engine", ["dask", "ray"])
def test_cluster_engines_write_the_local_bytes(images, tmp_path, engine):
    pytest.importorskip({"dask": "distributed", "ray": "ray.data"}[engine])
    folder, expected = images
    few = sorted(folder.glob("*.png"))[:3]
    assert main(["encode", *map(str, few), "-o", str(tmp_path / "out") + "/", *ARGS, "--engine", engine,
                 "--workers", "2"]) == 0
    assert _outputs(tmp_path / "out") == {p.stem: expected[p.stem] for p in few}


def test_resume_skips_valid_outputs_of_the_same_rate_only(images, tmp_path, capsys):
    folder, expected = images
    out = tmp_path / "out"
    out.mkdir()
    first = sorted(expected)[0]
    (out / f"{first}.fcx").write_bytes(expected[first])
    (out / f"{sorted(expected)[1]}.fcx").write_bytes(expected[sorted(expected)[1]][:-3])  # cut: re-encoded
    (out / f".{first}.fcx.999{'.tmp'}").write_bytes(b"half")  # a killed run's temporary file
    assert main(["encode", str(folder), "-o", str(out), *ARGS]) == 0
    assert "1 already done, skipped" in capsys.readouterr().out
    assert _outputs(out) == expected and not list(out.glob(".*"))
    assert main(["encode", str(folder), "-o", str(out), "--model", MODEL, "--quality", "4"]) == 0
    assert "skipped" not in capsys.readouterr().out  # another rate: every file re-encoded
    assert main(["encode", str(folder), "-o", str(out), *ARGS, "--no-resume"]) == 0
    assert "skipped" not in capsys.readouterr().out and _outputs(out) == expected


def test_killed_job_leaves_only_whole_files_and_resumes(images, tmp_path):
    folder, expected = images
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "fastcodec.cli.main", "encode", str(folder), "-o", str(out), *ARGS, "--workers", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    while len(list(out.glob("*.fcx"))) < 2 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    written = _outputs(out)
    assert 2 <= len(written) < len(expected), "the job was not killed in the middle"
    for name, data in written.items():
        bitstream.unpack(data)  # whole and valid (CRCs), never half-written
        assert data == expected[name]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert f"{len(written)} already done, skipped" in result.stdout
    assert _outputs(out) == expected and not list(out.glob(".*"))


def test_the_console_command_exits_with_its_status_and_whole_files(tmp_path):
    """`python -m fastcodec.cli.main` ends through run(), which skips the interpreter's teardown:
    the exit status and the written files must be what main() gave."""
    import subprocess
    import sys

    import fastcodec
    from fastcodec.cli.demo import SAMPLE

    out = tmp_path / "one.fcx"
    ok = subprocess.run([sys.executable, "-m", "fastcodec.cli.main", "encode", str(SAMPLE), "-o", str(out)],
                        capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "encoded 1 image(s)" in ok.stdout
    assert fastcodec.decode(out.read_bytes()).ndim == 3
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not an image")
    failed = subprocess.run([sys.executable, "-m", "fastcodec.cli.main", "encode", str(bad), "-o", str(tmp_path / "b.fcx")],
                            capture_output=True, text=True)
    assert failed.returncode == 1 and "bad.png" in (failed.stdout + failed.stderr)
