"""elic2022's coding speed beside mbt2018-mean's, the model whose transforms it shares (issue
target: decode within 1.3x), through the public API on Kodak, same threads, medians.

The speed of the integer context path does not depend on how far its networks are trained (the
same layers, the same integer arithmetic), so without --weights the elic2022 measured is built here
from the shipped mbt2018-mean (transforms, h_a, h_s, z density) with small random context
corrections, its prior path frozen on 3 McMaster photos and exported to a scratch zoo; --weights
takes an exported elic2022 file instead.

    python -m benchmarks.bench_elic [--images 4] [--quality 4] [--repeat 5] [--threads 2] [--weights F]
    pytest benchmarks/bench_elic.py --benchmark-only
"""
import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import fastcodec
from fastcodec.train.data import list_images, load_rgb

KODAK = "../shared/data/kodak"
CALIBRATION = "../shared/data/train/mcmaster"


def scratch_elic(folder, seed=0, std=0.01):
    """An exported elic2022 (see the module docstring) under folder; returns its weights path."""
    import shutil

    from fastcodec.models import build
    from fastcodec.train.__main__ import warm_start
    from fastcodec.train.export import export
    from fastcodec.zoo import WEIGHTS_DIR

    folder = Path(folder)
    (folder / "weights").mkdir(parents=True, exist_ok=True)
    shutil.copy(WEIGHTS_DIR / "mbt2018-mean.safetensors", folder / "weights" / "mbt2018-mean.safetensors")
    torch.manual_seed(seed)
    model = build("elic2022", film=True)
    warm_start(model, "mbt2018-mean")
    g = torch.Generator().manual_seed(seed + 1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.startswith("param_aggregation") and name.endswith("2.weight"):
                p.copy_(torch.randn(p.shape, generator=g) * std)
    model.eval()
    calibration = []
    for path in list_images(CALIBRATION)[:3]:
        x = torch.from_numpy(load_rgb(path).copy()).permute(2, 0, 1)[None].float() / 255
        for q in (0, 7):
            with torch.no_grad():
                xp, qt, _ = model.prepare(x, q)
                calibration.append(model.encode_latents(xp, qt))
    export(model, "elic2022", 0, None, notes="speed benchmark (untrained context)", zoo_dir=folder,
           calibration=calibration, base="mbt2018-mean")
    return folder / "weights" / "elic2022.safetensors"


def _median_times(codec, model_arg, images, repeat):
    enc, dec = [], []
    for _ in range(repeat):
        for im in images:
            t = time.perf_counter()
            blob = codec.encode(im)
            enc.append(time.perf_counter() - t)
            t = time.perf_counter()
            out = fastcodec.decode(blob, model=model_arg)
            dec.append(time.perf_counter() - t)
            assert out.shape == im.shape
    return float(np.median(enc)), float(np.median(dec))


def run(n_images=4, quality=4, repeat=5, threads=2, weights=None):
    torch.set_num_threads(threads)
    images = [load_rgb(p) for p in list_images(KODAK)[:n_images]]
    with tempfile.TemporaryDirectory() as tmp:
        path = str(weights or scratch_elic(tmp))
        runners = {"mbt2018-mean": (fastcodec.load("mbt2018-mean", quality), None),
                   "elic2022": (fastcodec.load(path, quality), path)}
        for codec, arg in runners.values():        # warm both
            fastcodec.decode(codec.encode(images[0]), model=arg)
        times = {name: [] for name in runners}
        for _ in range(repeat):                    # alternate, so drifts of the machine hit both
            for name, (codec, arg) in runners.items():
                times[name].append(_median_times(codec, arg, images, 1))
    return {name: tuple(float(np.median([t[i] for t in ts])) for i in range(2)) for name, ts in times.items()}


def main(argv=None):
    from benchmarks.bench_codec import machine_line

    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_elic", description=__doc__.split("\n\n")[0])
    p.add_argument("--images", type=int, default=4)
    p.add_argument("--quality", type=int, default=4)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--weights", default=None, help="an exported elic2022 weights file")
    a = p.parse_args(argv)
    print(f"{machine_line()}; torch {torch.__version__}; {a.threads} threads; Kodak {a.images} images, q{a.quality}")
    res = run(a.images, a.quality, a.repeat, a.threads, a.weights)
    base = res["mbt2018-mean"]
    print("| model | encode | decode | encode ratio | decode ratio |\n|---|---|---|---|---|")
    for name, (e, d) in res.items():
        print(f"| {name} | {e * 1e3:.0f} ms | {d * 1e3:.0f} ms | {e / base[0]:.2f}x | {d / base[1]:.2f}x |")
    return 0


@pytest.fixture(scope="module")
def elic_path(tmp_path_factory):
    return str(scratch_elic(tmp_path_factory.mktemp("zoo")))


@pytest.mark.parametrize("name", ["mbt2018-mean", "elic2022"])
def test_decode(benchmark, name, elic_path):
    torch.set_num_threads(2)
    im = load_rgb(list_images(KODAK)[0])
    arg = elic_path if name == "elic2022" else None
    blob = fastcodec.load(arg or name, 4).encode(im)
    benchmark(fastcodec.decode, blob, model=arg)


if __name__ == "__main__":
    raise SystemExit(main())
