"""toderici2017's coding speed on Kodak: encode (the encoder runs the decoder too, for its residuals)
and decode of `--iterations` iterations (1/8 bpp each before entropy coding), per width of the
model, 2 threads, medians. The time does not depend on how far the weights are trained (the same
layers run), so fresh weights are timed unless --weights names a trained file (then its width).

    python -m benchmarks.bench_recurrent [--images 2] [--iterations 8] [--widths 0.25,0.5] [--repeat 3]
    pytest benchmarks/bench_recurrent.py --benchmark-only
"""
import argparse
import time

import numpy as np
import pytest
import torch

from fastcodec.train.data import list_images, load_rgb

KODAK = "../shared/data/kodak"


def _model(width, weights=None):
    from fastcodec.models import build

    if weights:
        from fastcodec.zoo import load_model

        return load_model(weights).eval()
    torch.manual_seed(0)
    return build("toderici2017", width=width).eval()


def _tensor(im):
    return torch.from_numpy(im.copy()).permute(2, 0, 1)[None].float() / 255


def run(images, iterations, widths, repeat, weights=None):
    rows = []
    for width in ([None] if weights else widths):
        model = _model(width, weights)
        model.encode_image(_tensor(images[0][:64, :64]), 1)    # warm
        enc, dec, sizes = [], [], []
        for _ in range(repeat):
            for im in images:
                x = _tensor(im)
                t = time.perf_counter()
                streams = model.encode_image(x, iterations)
                enc.append(time.perf_counter() - t)
                t = time.perf_counter()
                model.decode_image(streams, im.shape[:2], iterations)
                dec.append(time.perf_counter() - t)
                sizes.append(sum(map(len, streams)) * 8 / (im.shape[0] * im.shape[1]))
        rows.append((model.width, sum(p.numel() for p in model.parameters()), float(np.median(enc)),
                     float(np.median(dec)), float(np.mean(sizes))))
    return rows


def main(argv=None):
    from benchmarks.bench_codec import machine_line

    p = argparse.ArgumentParser(prog="python -m benchmarks.bench_recurrent", description=__doc__.split("\n\n")[0])
    p.add_argument("--images", type=int, default=2)
    p.add_argument("--iterations", type=int, default=8)
    p.add_argument("--widths", default="0.25,0.5")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--weights", default=None)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    images = [load_rgb(q) for q in list_images(KODAK)[:a.images]]
    print(f"{machine_line()}; torch {torch.__version__}; {a.threads} threads; Kodak {a.images} images, "
          f"{a.iterations} iterations ({a.iterations / 8:g} bpp raw)")
    print("| width | parameters | encode | decode | coded bpp |\n|---|---|---|---|---|")
    for width, params, e, d, bpp in run(images, a.iterations, [float(w) for w in a.widths.split(",")], a.repeat,
                                        a.weights):
        print(f"| {width:g} | {params / 1e6:.1f} M | {e:.2f} s | {d:.2f} s | {bpp:.3f} |")
    return 0


@pytest.mark.parametrize("width", [0.25, 0.5])
def test_decode_8_iterations(benchmark, width):
    torch.set_num_threads(2)
    im = load_rgb(list_images(KODAK)[0])
    model = _model(width)
    streams = model.encode_image(_tensor(im), 8)
    benchmark(model.decode_image, streams, im.shape[:2], 8)


if __name__ == "__main__":
    raise SystemExit(main())
