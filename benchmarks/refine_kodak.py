"""Encoder-side refinement on the whole of Kodak, encoded where it is fast and scored here.

Refinement (docs/refine.md) costs ~0.3 s per step per Kodak image on the project CPU: 100 steps on
24 images x 8 qualities is ~1.6 CPU-hours per model. On a GPU the same encodes take minutes, and
because the prior path is integer arithmetic the streams decode bit-exactly on any machine, so the
split is: `encode` makes the user's container bytes (`fastcodec.load(name, q, device, refine).encode`)
on the device, with a digest of the latents the device itself decodes from them; `score` decodes
every file here on the CPU (`fastcodec.decode`), checks the latents against the device's digest,
and measures what `fastcodec eval` measures (bpp of the real bytes, PSNR-RGB of the 8-bit output,
MS-SSIM), BD-rate against the traditional codecs (run live, as `fastcodec eval` runs them) and
against the plain curves.

    python -m benchmarks.refine_kodak encode --device cuda --refine 100 --out DIR [--deadline 400]
    python -m benchmarks.refine_kodak score DIR --plain results/kodak_rd.json --out results/refine/kodak24_rd.json

`encode` runs its tasks model by model, quality by quality, image by image on `--workers` processes
and takes no new task after `--deadline` seconds; `score` keeps only the (model, quality) points
whose 24 images are all there."""
import argparse
import hashlib
import json
import multiprocessing as mp
import os
import time
from pathlib import Path

import numpy as np

ORDER = ("bmshj2018-factorized", "bmshj2018-hyperprior", "mbt2018-mean", "he2021-checkerboard", "mbt2018")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def recorded_path(path, root=ROOT):
    """How a folder is written into a summary: relative to the repository root (`root`) when it lies
    inside it, so that results files carry no paths of the machine they were made on; a path outside
    it as it was given (../shared/data/kodak stays that)."""
    full = os.path.abspath(path)
    if full == root or full.startswith(root.rstrip(os.sep) + os.sep):
        return Path(os.path.relpath(full, root)).as_posix()
    return str(path)


def latent_digest(model, blob, device_q):
    """sha256 of the latent y_hat that `model` decodes from the streams of a container blob."""
    import torch

    from benchmarks.check_bitexact import latent
    from fastcodec import bitstream

    header, streams = bitstream.unpack(blob)
    stride = model.stride
    shape = (-(-header.height // stride) * stride // 16, -(-header.width // stride) * stride // 16)
    with torch.inference_mode():
        y_hat = latent(model, streams[: model.num_streams], shape, device_q)
    return hashlib.sha256(np.ascontiguousarray(y_hat, np.float32).tobytes()).hexdigest()


def _worker(rank, tasks, images, a, deadline, lock):
    import torch

    import fastcodec
    from fastcodec.train.data import load_rgb

    torch.set_num_threads(a.threads)
    out = Path(a.out)
    while time.time() < deadline:
        try:
            name, q, i = tasks.get_nowait()
        except Exception:  # noqa: BLE001 - queue.Empty: nothing left
            return
        stem, path = images[i]
        rgb = load_rgb(path)
        codec = fastcodec.load(name, q, device=a.device, refine=a.refine)
        if a.device != "cpu" and hasattr(codec.model, "context_backend"):
            codec.model.context_backend = "triton"
        t0 = time.perf_counter()
        try:
            blob = codec.encode(rgb)
        except Exception as exc:  # noqa: BLE001 - a kernel that fails here: log it, retry on torch's ops
            print(f"worker {rank}: {name} q{q} {stem}: {exc!r}; GDN on torch's ops from now on", flush=True)
            for m in codec.model.modules():
                if hasattr(m, "backend") and m.backend == "auto":
                    m.backend = "torch"
            t0 = time.perf_counter()
            blob = codec.encode(rgb)
        if a.device != "cpu":
            torch.cuda.synchronize()
        enc_s = time.perf_counter() - t0
        digest = latent_digest(codec.model, blob, q - 1)
        path_out = out / name / f"q{q}" / f"{stem}.fcx"
        path_out.parent.mkdir(parents=True, exist_ok=True)
        path_out.write_bytes(blob)
        rec = {"model": name, "quality": q, "image": stem, "bytes": len(blob), "enc_s": enc_s,
               "latent_sha256": digest, "device": a.device, "refine": a.refine, "worker": rank}
        with lock:
            with open(out / "records.jsonl", "a") as f:
                f.write(json.dumps(rec) + "\n")
        print(json.dumps(rec), flush=True)


def encode(a):
    from fastcodec.train.data import list_images

    images = [(p.stem, str(p)) for p in list_images(a.data)[: a.limit]]
    names = a.models.split(",") if a.models else list(ORDER)
    qualities = [int(q) for q in a.qualities.split(",")]
    Path(a.out).mkdir(parents=True, exist_ok=True)
    ctx = mp.get_context("spawn")
    tasks, lock = ctx.Queue(), ctx.Lock()
    for name in names:
        for q in qualities:
            for i in range(len(images)):
                tasks.put((name, q, i))
    deadline = time.time() + a.deadline
    procs = [ctx.Process(target=_worker, args=(r, tasks, images, a, deadline, lock)) for r in range(a.workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    codes = [p.exitcode for p in procs]
    left = 0
    while True:
        try:
            tasks.get(timeout=1)
            left += 1
        except Exception:  # noqa: BLE001 - queue.Empty: drained
            break
    print(f"worker exit codes {codes}; {left} task(s) not started (the deadline)", flush=True)
    return 0 if all(c == 0 for c in codes) else 1


def score(a):
    import torch

    import fastcodec
    from fastcodec.train.data import list_images, load_rgb
    from fastcodec.eval.curve_cache import CurveCache, default_path
    from fastcodec.eval.curves import codec_curves
    from fastcodec.eval.evaluate import bd_table, parse_codecs
    from fastcodec.eval.images import image_set_sha256
    from fastcodec.eval.metrics import ms_ssim, psnr
    from fastcodec.eval.provenance import run_record
    from fastcodec.zoo import load_model

    torch.set_num_threads(a.threads)
    folder = Path(a.dir)
    records = [json.loads(line) for line in (folder / "records.jsonl").read_text().splitlines() if line.strip()]
    coded = {r["image"] for r in records}
    originals = {p.stem: p for p in list_images(a.data) if p.stem in coded}
    groups = {}
    for r in records:
        groups.setdefault((r["model"], r["quality"]), []).append(r)
    results, mismatches, errors, skipped = {}, 0, 0, []
    models = {}
    for (name, q), rows in sorted(groups.items(), key=lambda kv: (ORDER.index(kv[0][0]) if kv[0][0] in ORDER else 99,
                                                                   kv[0][1])):
        if len({r["image"] for r in rows}) != len(originals):
            skipped.append(f"{name} q{q}: {len(rows)} of {len(originals)} images")
            continue
        model = models.setdefault(name, load_model(name))
        vals = []
        for r in sorted(rows, key=lambda r: r["image"]):
            blob = (folder / name / f"q{q}" / f"{r['image']}.fcx").read_bytes()
            im = load_rgb(originals[r["image"]])
            t0 = time.perf_counter()
            try:
                rec = fastcodec.decode(blob)
            except fastcodec.BitstreamError as exc:
                errors += 1
                print(f"decode error {name} q{q} {r['image']}: {exc}", flush=True)
                continue
            dec_s = time.perf_counter() - t0
            mismatches += latent_digest(model, blob, q - 1) != r["latent_sha256"]
            vals.append((8 * len(blob) / (im.shape[0] * im.shape[1]), psnr(im, rec), ms_ssim(im, rec), r["enc_s"], dec_s))
        v = np.array(vals)
        label = f"{name}+refine{rows[0]['refine']}"
        point = {"quality": q, "bpp": float(v[:, 0].mean()), "psnr": float(v[:, 1].mean()),
                 "ms_ssim": float(v[:, 2].mean()), "enc_s_median": float(np.median(v[:, 3])),
                 "dec_s_median": float(np.median(v[:, 4])), "encoder_device": rows[0]["device"]}
        print(label, json.dumps(point), flush=True)
        results.setdefault(label, []).append(point)
    # the traditional codecs, live on the same images (or from the curve cache where its key matches)
    images = [(p.name, load_rgb(p)) for p in sorted(originals.values())]
    curves = codec_curves(parse_codecs(a.codecs), images, image_set_sha256(images),
                          CurveCache(None if a.cache == "none" else (a.cache or default_path())),
                          run_record("python -m benchmarks.refine_kodak score " + recorded_path(a.dir)),
                          log=lambda s: print(s, flush=True))
    codec_points = {c: v["points"] for c, v in curves.items()}
    if a.plain:
        plain = json.loads(Path(a.plain).read_text())
        for label in list(results):
            name = label.split("+refine")[0]
            if name in plain["models"]:
                results[name] = plain["models"][name]
    bd = {label: bd_table(points, codec_points) for label, points in results.items()}
    from fastcodec.zoo import manifest

    weights = {name: manifest()[name]["sha256"] for name in models if name in manifest()}
    summary = {"images": len(originals), "data": recorded_path(a.data), "encoded_in": recorded_path(folder),
               "weights_sha256": weights,
               "models": results, "codecs": codec_points,
               "codec_provenance": {c: v["provenance"] for c, v in curves.items()},
               "bd_rate_pct_vs": bd, "latent_mismatches": int(mismatches), "decode_errors": errors,
               "incomplete_points": skipped}
    Path(a.out).parent.mkdir(parents=True, exist_ok=True)
    Path(a.out).write_text(json.dumps(summary, indent=2) + "\n")
    print(f"latent mismatches {mismatches}, decode errors {errors}, incomplete points {len(skipped)}")
    for label in results:
        if "+refine" in label:
            print(label, {c: round(v["pchip"], 2) for c, v in bd[label].items()})
    return 1 if mismatches or errors else 0


def main(argv=None):
    from fastcodec.eval.codecs import DEFAULT_CODECS

    p = argparse.ArgumentParser(prog="python -m benchmarks.refine_kodak")
    sub = p.add_subparsers(dest="cmd", required=True)
    e = sub.add_parser("encode")
    e.add_argument("--device", default="cuda")
    e.add_argument("--refine", type=int, default=100)
    e.add_argument("--models", default=None, help=f"comma-separated (default, in this order: {','.join(ORDER)})")
    e.add_argument("--qualities", default="1,2,3,4,5,6,7,8")
    e.add_argument("--limit", type=int, default=None, help="first N images only")
    e.add_argument("--workers", type=int, default=4)
    e.add_argument("--threads", type=int, default=2, help="torch threads per worker")
    e.add_argument("--deadline", type=float, default=400.0, help="seconds after which no new task starts")
    e.add_argument("--out", required=True)
    s = sub.add_parser("score")
    s.add_argument("dir")
    s.add_argument("--plain", default=None, help="a `fastcodec eval` kodak_rd.json whose plain curves to include")
    s.add_argument("--out", required=True)
    s.add_argument("--threads", type=int, default=2)
    for x in (e, s):
        x.add_argument("--data", default="../shared/data/kodak")
    s.add_argument("--codecs", default=",".join(DEFAULT_CODECS), help="traditional codecs, run live (as fastcodec eval)")
    s.add_argument("--cache", default=None, help="codec curve cache file (default: fastcodec eval's; none: always measure)")
    a = p.parse_args(argv)
    return encode(a) if a.cmd == "encode" else score(a)


if __name__ == "__main__":
    raise SystemExit(main())
