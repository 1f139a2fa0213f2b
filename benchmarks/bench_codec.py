"""End-to-end image coding speed: fastcodec's encode_batch/decode_batch on Kodak (workers 1 and 2)
side by side with CompressAI's compress/decompress of the same architecture and the same weights
(loaded into CompressAI with fastcodec.models.compressai_compat, gains folded), same threads.

    python -m benchmarks.bench_codec [--images 24] [--models mbt2018-mean] [--quality 3] [--repeat 3]
                                     [--classic jpeg,webp,avif,heic]
    pytest benchmarks/bench_codec.py --benchmark-only

Each run also checks that decoding gives back an image of the right shape and reports the mean
PSNR of both, so a fast path cannot hide a quality loss. With --repeat R the whole comparison runs
R times in turn (fastcodec, then CompressAI, per model, per round) and the table gives the median
time of each runner and the median, lowest and highest of the R per-round speed-ups: one pass
moved CompressAI's own time by up to 16 % between runs (measured).

--classic adds the traditional codecs of fastcodec.eval.codecs to the same run, each at the setting
of its sweep whose bpp on these images is closest to the first model's, timed on one image at a
time like the others. The header names the CPU, its vector flags, the backend each model's
transforms chose (fastcodec.models.dispatch) and the variables that emulate another CPU kind
(ONEDNN_MAX_CPU_ISA, ATEN_CPU_CAPABILITY, FASTCODEC_BACKEND), so rows from several machines or
emulations can sit in one table.
"""
import argparse
import time

from fastcodec import _openmp

# what a program that imports fastcodec before torch gets (fastcodec/_openmp.py); CompressAI runs
# in the same process, under the same setting
_openmp.configure()

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import fastcodec
from fastcodec.train.data import list_images, load_rgb
from fastcodec.eval.metrics import psnr

KODAK = "../shared/data/kodak"


def kodak(n):
    return [load_rgb(p) for p in list_images(KODAK)[:n]]


COMPRESSAI_CTORS = {"bmshj2018-hyperprior": "bmshj2018_hyperprior", "mbt2018-mean": "mbt2018_mean",
                    "bmshj2018-factorized": "bmshj2018_factorized", "mbt2018": "mbt2018"}


def compressai_model(name, quality):
    """CompressAI's model of the same architecture and size (N, M of ours, not of CompressAI's zoo
    entry for a quality: its mbt2018 uses N=192 at qualities 1-4) holding the shipped fastcodec
    weights. Every tensor must carry over, but the z density when CompressAI's has another
    depth (timing only then)."""
    from compressai.zoo.image import model_architectures
    from fastcodec.models.compressai_compat import to_compressai_state_dict
    from fastcodec.zoo import load_model

    ours = load_model(name)
    theirs = model_architectures[name](N=ours.N, M=ours.M)
    state = theirs.state_dict()
    ours_state = to_compressai_state_dict(ours, quality)
    eb = ours.entropy_bottleneck
    if len(eb.filters) != 4:  # CompressAI's bottleneck has 4 hidden layers; keep its own (timing only)
        ours_state = {k: v for k, v in ours_state.items() if not k.startswith("entropy_bottleneck.")}
    missing = [k for k in state if k not in ours_state and not k.startswith("entropy_bottleneck.")
               and not k.endswith(("_cdf_length", "_offset", "_quantized_cdf", "scale_table", "scale_bound", "pedestal", ".bound", ".mask"))]
    bad = [k for k, v in ours_state.items() if k not in state or state[k].shape != v.shape]
    if missing or bad:
        raise RuntimeError(f"{name}: weights do not carry over to CompressAI (missing {missing[:3]}, "
                           f"mismatched {bad[:3]})")
    state.update(ours_state)
    theirs.load_state_dict(state)
    theirs.update(force=True)
    return theirs.eval()


def compressai_roundtrip(model, images):
    out = []
    with torch.inference_mode():
        for im in images:
            x = torch.from_numpy(im.copy()).permute(2, 0, 1)[None].float() / 255
            h, w = im.shape[:2]
            pad_h, pad_w = (64 - h % 64) % 64, (64 - w % 64) % 64
            xp = torch.nn.functional.pad(x, (0, pad_w, 0, pad_h))
            c = model.compress(xp)
            x_hat = model.decompress(c["strings"], c["shape"])["x_hat"][:, :, :h, :w]
            out.append((x_hat[0].permute(1, 2, 0).clamp(0, 1) * 255).round().byte().numpy())
    return out


def _time(fn):
    t0 = time.perf_counter()
    result = fn()
    return time.perf_counter() - t0, result


def run(names, n_images, quality, threads=2, repeat=1):
    """[(name, runner, encode s/image, decode s/image, bpp, PSNR, [speed-up per round] or None)]:
    medians over `repeat` rounds; the speed-ups against CompressAI's time of the same round."""
    torch.set_num_threads(threads)
    images = kodak(n_images)
    rounds = [run_once(names, images, quality) for _ in range(repeat)]
    rows = []
    for i, (name, runner, *_rest) in enumerate(rounds[0]):
        same = [r[i] for r in rounds]
        enc, dec = (float(np.median([r[k] for r in same])) for k in (2, 3))
        ups = None
        ref = [next((x for x in rnd if x[0] == name and x[1].startswith("CompressAI")), None) for rnd in rounds]
        if ref[0] is not None and not runner.startswith("CompressAI"):
            ups = [(c[2] + c[3]) / (r[2] + r[3]) for c, r in zip(ref, same)]
        rows.append((name, runner, enc, dec, same[0][4], same[0][5], ups))
    return rows


def run_once(names, images, quality):
    rows = []
    for name in names:
        codec = fastcodec.load(name, quality)
        codec.encode(images[0])  # warm up (tables, allocator)
        for workers in (1, 2):
            t_enc, blobs = _time(lambda: codec.encode_batch(images, workers=workers))
            t_dec, outs = _time(lambda: fastcodec.decode_batch(blobs, workers=workers))
            bpp = 8 * sum(map(len, blobs)) / sum(im.shape[0] * im.shape[1] for im in images)
            rows.append((name, f"fastcodec, {workers} worker(s)", t_enc / len(images), t_dec / len(images),
                         bpp, float(np.mean([psnr(a, b) for a, b in zip(images, outs)]))))
        if name not in COMPRESSAI_CTORS:  # no CompressAI model of this architecture (he2021-checkerboard)
            continue
        try:
            theirs = compressai_model(name, quality)
        except ImportError:
            continue
        compressai_roundtrip(theirs, images[:1])
        with torch.inference_mode():
            xs = [torch.nn.functional.pad(torch.from_numpy(im.copy()).permute(2, 0, 1)[None].float() / 255,
                                          (0, (64 - im.shape[1] % 64) % 64, 0, (64 - im.shape[0] % 64) % 64))
                  for im in images]
            t_enc, cs = _time(lambda: [theirs.compress(x) for x in xs])
            t_dec, decs = _time(lambda: [theirs.decompress(c["strings"], c["shape"]) for c in cs])
        outs = [(d["x_hat"][0, :, :im.shape[0], :im.shape[1]].permute(1, 2, 0).clamp(0, 1) * 255).round().byte().numpy()
                for d, im in zip(decs, images)]
        bpp = 8 * sum(len(s[0]) for c in cs for s in c["strings"]) / sum(im.shape[0] * im.shape[1] for im in images)
        rows.append((name, "CompressAI 1.2.8 (same weights)", t_enc / len(images), t_dec / len(images), bpp,
                     float(np.mean([psnr(a, b) for a, b in zip(images, outs)]))))
    return rows


def classic_rows(codec_names, images, target_bpp, repeat=1):
    """[(codec, "setting", encode s/image, decode s/image, bpp, PSNR, None)] at the sweep setting
    closest to target_bpp; medians over `repeat` rounds."""
    from fastcodec.eval import codecs

    pixels = sum(im.shape[0] * im.shape[1] for im in images)
    rows = []
    for name in codec_names:
        codec = codecs.get(name)
        bpps = {v: 8 * sum(len(codecs.encode(name, im, v)) for im in images) / pixels for v in codec.sweep}
        value = min(bpps, key=lambda v: abs(bpps[v] - target_bpp))
        encs, decs = [], []
        for _ in range(repeat):
            t_enc, blobs = _time(lambda: [codecs.encode(name, im, value) for im in images])
            t_dec, outs = _time(lambda: [codecs.decode(name, b) for b in blobs])
            encs.append(t_enc / len(images))
            decs.append(t_dec / len(images))
        rows.append((name, f"{name} ({codec.provider}, {codec.parameter} {value})", float(np.median(encs)),
                     float(np.median(decs)), bpps[value], float(np.mean([psnr(a, b) for a, b in zip(images, outs)])), None))
    return rows


def machine_line():
    """The CPU, its vector flags and any emulation variables in effect."""
    import os

    from fastcodec.models.dispatch import cpu_identity

    env = {k: os.environ[k] for k in ("ONEDNN_MAX_CPU_ISA", "ATEN_CPU_CAPABILITY", "FASTCODEC_BACKEND")
           if k in os.environ}
    return cpu_identity() + (f", emulating with {env}" if env else "")


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--images", type=int, default=24)
    p.add_argument("--models", default=None)
    p.add_argument("--quality", type=int, default=3)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=1, help="rounds of the whole comparison (medians reported)")
    p.add_argument("--classic", default="", help="traditional codecs to time in the same run (jpeg,webp,avif,heic,...)")
    a = p.parse_args(argv)
    if a.repeat < 1:
        raise SystemExit("--repeat must be at least 1")
    names = a.models.split(",") if a.models else fastcodec.list_models()
    rows = run(names, a.images, a.quality, a.threads, a.repeat)
    if a.classic:
        target = next(r[4] for r in rows if r[1].startswith("fastcodec"))
        rows += classic_rows(a.classic.split(","), kodak(a.images), target, a.repeat)
    chosen = {n: r["backend"] for n, r in fastcodec.backends(names).items()}
    print(f"{machine_line()}; {a.images} Kodak images, quality {a.quality}, torch threads {a.threads}, "
          f"transform backends {chosen}, {a.repeat} round(s): median times\n")
    print("| model | runner | encode s/image | decode s/image | images/s (enc+dec) | bpp | PSNR | speed-up vs CompressAI "
          "(enc+dec; median [lowest, highest] of the rounds) | decode speed-up |")
    print("|---|---|---|---|---|---|---|---|---|")
    ref = {r[0]: r for r in rows if r[1].startswith("CompressAI")}
    for name, runner, enc, dec, bpp, q, ups in rows:
        base = ref.get(name)
        speed, dspeed = "n/a", "n/a"
        if ups:
            speed = f"{np.median(ups):.2f}x" + (f" [{min(ups):.2f}, {max(ups):.2f}]" if len(ups) > 1 else "")
            dspeed = f"{base[3] / dec:.1f}x"
        print(f"| {name} | {runner} | {enc:.3f} | {dec:.3f} | {1 / (enc + dec):.2f} | {bpp:.4f} | {q:.2f} | {speed} | {dspeed} |")


@pytest.mark.parametrize("workers", [1, 2])
def test_encode_batch_kodak(benchmark, workers):
    if not fastcodec.list_models():
        pytest.skip("no shipped model")
    images = kodak(4)
    codec = fastcodec.load(quality=3)
    blobs = benchmark.pedantic(lambda: codec.encode_batch(images, workers=workers), rounds=2, iterations=1)
    assert [o.shape for o in fastcodec.decode_batch(blobs)] == [im.shape for im in images]


if __name__ == "__main__":
    main()
