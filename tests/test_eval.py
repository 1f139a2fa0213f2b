"""`fastcodec eval`: the traditional codecs run live (fastcodec/eval/codecs.py, curves.py), their
curve cache and its key (curve_cache.py), the BD-rate table, the provenance of the results JSON and
the refusals of --merge. Tiny crops of the shipped sample image, so it runs in seconds."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fastcodec.eval import codecs, evaluate
from fastcodec.eval.curve_cache import CurveCache
from fastcodec.eval.curve_cache import key as cache_key
from fastcodec.eval.curves import check_available, codec_curves, measure_curve
from fastcodec.eval.images import image_set_sha256
from fastcodec.eval.metrics import psnr
from fastcodec.eval.provenance import machine, run_record
from fastcodec.zoo import WEIGHTS_DIR, manifest

SAMPLE = Path(__file__).resolve().parent.parent / "fastcodec" / "data" / "sample.png"


def crops():
    im = np.asarray(Image.open(SAMPLE).convert("RGB"))
    return [("a.png", np.ascontiguousarray(im[100:164, 200:296])), ("b.png", np.ascontiguousarray(im[250:330, 40:104]))]


def quiet(_):
    pass


def test_the_codecs_of_the_issue_are_known():
    assert set(codecs.CODECS) == {"jpeg", "webp", "jpeg2000", "avif", "heic", "jxl"}
    assert codecs.JPEG2000.fixed["irreversible"] is True and codecs.JPEG2000.fixed["mct"] == 1
    assert codecs.JPEG.fixed["subsampling"] == "4:2:0"
    data = codecs.encode("jpeg2000", crops()[0][1], 0.5)
    assert data[4:8] == b"jP  "  # a .jp2 file, its container counted as the other codecs' are


@pytest.mark.parametrize("name", sorted(codecs.CODECS))
def test_live_codec_curve(name):
    reason = codecs.missing(name)
    if reason is not None:
        pytest.skip(reason)
    images = crops()
    points = measure_curve(name, images, log=quiet)
    codec = codecs.get(name)
    assert [p[codec.parameter] for p in points] == list(codec.sweep)
    # bpp from the real bytes, PSNR of the 8-bit decoded image, averaged over the images
    data = [codecs.encode(name, im, codec.sweep[0]) for _, im in images]
    assert points[0]["bpp"] == pytest.approx(np.mean([8 * len(d) / (im.shape[0] * im.shape[1])
                                                      for d, (_, im) in zip(data, images)]), rel=1e-12)
    decoded = [codecs.decode(name, d) for d in data]
    assert all(d.shape == im.shape and d.dtype == np.uint8 for d, (_, im) in zip(decoded, images))
    assert points[0]["psnr"] == pytest.approx(np.mean([psnr(im, d) for d, (_, im) in zip(decoded, images)]), rel=1e-12)
    # a curve: more bits, more quality; the best point is a faithful image (colours the right way round)
    lo, hi = min(points, key=lambda p: p["bpp"]), max(points, key=lambda p: p["bpp"])
    assert hi["bpp"] > 2 * lo["bpp"] and hi["psnr"] > lo["psnr"] + 5
    assert hi["psnr"] > 33 and 0.95 < hi["ms_ssim"] <= 1


def test_a_missing_library_is_reported_not_dropped(monkeypatch, tmp_path, capsys):
    import sys

    from fastcodec.cli.main import main as cli

    monkeypatch.setitem(sys.modules, "pillow_heif", None)  # import pillow_heif raises ImportError
    monkeypatch.setitem(sys.modules, "imagecodecs", None)
    assert "pillow-heif" in codecs.missing("heic") and 'fastcodec[eval]' in codecs.missing("heic")
    assert "imagecodecs" in codecs.missing("jxl")
    with pytest.raises(ValueError, match="heic: needs pillow-heif.*jxl: needs imagecodecs"):
        check_available(["jpeg", "heic", "jxl"])
    # before any work: the folder is not even read
    assert cli(["eval", "--data", str(tmp_path / "absent"), "--codecs", "jpeg,heic", "--models", "none"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("fastcodec eval: error: codecs: heic: needs pillow-heif") and err.count("\n") == 1
    with pytest.raises(ValueError, match="unknown codec 'bpg'"):
        evaluate.parse_codecs("jpeg,bpg")


def test_cache_hits_only_where_the_key_matches(monkeypatch, tmp_path):
    monkeypatch.setitem(codecs.CODECS, "jpeg", codecs.Codec("jpeg", "quality", (10, 50, 90), {"subsampling": "4:2:0", "optimize": False}))
    images = crops()
    record = run_record("test")
    cache_path = tmp_path / "cache.json"
    first = codec_curves(["jpeg"], images, image_set_sha256(images), CurveCache(cache_path), record, log=quiet)["jpeg"]
    assert first["provenance"]["from_cache"] is False and cache_path.exists()

    calls = []
    encode = codecs.encode
    monkeypatch.setattr(codecs, "encode", lambda *a: calls.append(a[0]) or encode(*a))

    def again(imgs):
        calls.clear()
        out = codec_curves(["jpeg"], imgs, image_set_sha256(imgs), CurveCache(cache_path), record, log=quiet)["jpeg"]
        return out, len(calls)

    # the same pixels (under other names, as from another folder): a hit, nothing encoded
    hit, n = again([("x.png", images[0][1].copy()), ("y.png", images[1][1].copy())])
    assert n == 0 and hit["provenance"]["from_cache"] is True and hit["points"] == first["points"]
    # one pixel changed: another image set, measured again
    changed = [(images[0][0], images[0][1].copy()), images[1]]
    changed[0][1][0, 0, 0] ^= 1
    miss, n = again(changed)
    assert n == 6 and miss["provenance"]["from_cache"] is False
    # a subset of the images is another set
    assert again(images[:1])[1] == 3
    # another library version, other settings: measured again
    versions = codecs.library_versions
    monkeypatch.setattr(codecs, "library_versions", lambda name: {**versions(name), "libjpeg_turbo": "9.9.9"})
    assert again(images)[1] == 6
    monkeypatch.setattr(codecs, "library_versions", versions)
    assert again(images)[1] == 0
    monkeypatch.setitem(codecs.CODECS, "jpeg", codecs.Codec("jpeg", "quality", (5, 50), {"subsampling": "4:2:0", "optimize": False}))
    assert again(images)[1] == 4
    # the key covers codec, libraries, settings and pixels
    k = cache_key("jpeg", {"pillow": "1"}, {"sweep": [1]}, "0" * 64)
    assert len({k, cache_key("webp", {"pillow": "1"}, {"sweep": [1]}, "0" * 64),
                cache_key("jpeg", {"pillow": "2"}, {"sweep": [1]}, "0" * 64),
                cache_key("jpeg", {"pillow": "1"}, {"sweep": [2]}, "0" * 64),
                cache_key("jpeg", {"pillow": "1"}, {"sweep": [1]}, "1" * 64)}) == 5


def test_a_foreign_cache_file_is_refused(tmp_path):
    path = tmp_path / "kodak_traditional_measured.json"
    path.write_text(json.dumps({"meta": {}, "codecs": {"jpeg420": []}}))  # the old anchors file: no keys
    with pytest.raises(ValueError, match="not a format-1 codec curve cache"):
        CurveCache(path)
    path.write_text("{")
    with pytest.raises(ValueError, match="not a codec curve cache"):
        CurveCache(path)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """One `fastcodec eval` of a weights file (a copy of mbt2018-mean's) against live JPEG and WebP."""
    root = tmp_path_factory.mktemp("eval")
    data = root / "set"
    data.mkdir()
    for name, im in crops():
        Image.fromarray(im).save(data / name)
    weights = root / "mine.safetensors"
    shutil.copy(WEIGHTS_DIR / manifest()["mbt2018-mean"]["file"], weights)
    args = ["--data", str(data), "--codecs", "jpeg,webp", "--models", str(weights), "--qualities", "1,3,5,8",
            "--cache", str(root / "cache.json"), "--out", str(root / "out"), "--threads", "1"]
    return root, data, weights, args


def test_eval_prints_the_bd_table_and_records_provenance(run, capsys):
    root, data, weights, args = run
    assert evaluate.main(args) == 0
    out = capsys.readouterr().out
    header = out.index("BD-rate, PSNR-RGB, PCHIP")
    table = out[header:].splitlines()
    assert table[1].split() == ["model", "jpeg", "webp"] and table[2].split()[0] == "mine"
    result = json.loads((root / "out" / "set_rd.json").read_text())
    bd = result["bd_rate_pct_vs"]["mine"]
    assert set(bd) == {"jpeg", "webp"} and all(isinstance(bd[c]["pchip"], float) for c in bd)
    assert table[2].split()[1:] == [f"{bd[c]['pchip']:+.1f}%" for c in ("jpeg", "webp")]
    assert len(result["codecs"]["jpeg"]) == len(codecs.JPEG.sweep) and result["images"] == 2
    prov = result["provenance"]["models"]["mine"]
    assert prov["weights"] == str(weights) and prov["weights_sha256"] == manifest()["mbt2018-mean"]["sha256"]
    assert prov["fastcodec"] == __import__("fastcodec").__version__
    assert prov["machine"]["cpu"] and prov["machine"]["torch"] == __import__("torch").__version__
    assert "cpu_flags" in prov["machine"] and prov["date_utc"].endswith("Z")
    assert prov["command"] == "fastcodec eval " + " ".join(args)
    jpeg = result["provenance"]["codecs"]["jpeg"]
    assert jpeg["library"]["pillow"] and jpeg["settings"]["fixed"] == {"subsampling": "4:2:0", "optimize": False} and len(jpeg["cache_key"]) == 64


def test_merge_keeps_rows_of_the_same_weights_and_refuses_others(run, capsys):
    root, data, weights, args = run
    path = root / "out" / "set_rd.json"
    if not path.exists():
        assert evaluate.main(args) == 0
    base = ["--data", str(data), "--cache", str(root / "cache.json"), "--out", str(root / "out"), "--merge",
            "--models", "none", "--codecs", "none"]
    assert evaluate.main(base) == 0  # same weights, same images: kept
    kept = json.loads(path.read_text())
    assert "mine" in kept["models"] and kept["provenance"]["models"]["mine"]["weights_sha256"]
    assert kept["codecs"]["jpeg"] and kept["bd_rate_pct_vs"]["mine"]["jpeg"]["pchip"] is not None
    before = path.read_text()
    # other images
    with pytest.raises(ValueError, match="measured on other images"):
        evaluate.main(base + ["--limit", "1"])
    assert path.read_text() == before  # a refusal writes nothing
    # the weights file changed since its rows were measured
    original = weights.read_bytes()
    weights.write_bytes(original + b"\0")
    try:
        with pytest.raises(ValueError, match="rows of mine made from other weights"):
            evaluate.main(base)
    finally:
        weights.write_bytes(original)
    assert path.read_text() == before
    # rows with no record of their weights (a file from before provenance)
    legacy = json.loads(before)
    del legacy["provenance"]["models"]["mine"]
    path.write_text(json.dumps(legacy))
    with pytest.raises(ValueError, match="without the sha256 of their weights"):
        evaluate.main(base)
    # evaluating the model again replaces its rows: nothing to refuse
    assert evaluate.main(base[:-4] + ["--models", str(weights), "--qualities", "1,8", "--codecs", "none"]) == 0
    assert [p["quality"] for p in json.loads(path.read_text())["models"]["mine"]] == [1, 8]


def test_merge_of_a_file_from_before_provenance(tmp_path):
    path = tmp_path / "kodak_rd.json"
    point = {"quality": 1, "bpp": 0.2, "psnr": 28.0, "ms_ssim": 0.9}
    path.write_text(json.dumps({"images": 2, "data": "x", "models": {"a": [point], "b": [point]}, "bd_rate_pct_vs": {}}))
    assert evaluate.mergeable(path, "f" * 64, {"a", "b"}, {"jpeg"}) == ({}, {})  # every row replaced
    with pytest.raises(ValueError, match="records no image set sha256.*rows of b cannot be checked"):
        evaluate.mergeable(path, "f" * 64, {"a"}, {"jpeg"})


def test_machine_record():
    import torch

    m = machine()
    assert m["cpu"] and m["cores"] >= 1 and m["torch"] == torch.__version__
    assert m["torch_cpu_capability"] == torch.backends.cpu.get_cpu_capability()
