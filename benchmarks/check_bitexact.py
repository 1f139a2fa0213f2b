"""Cross-environment decoding check: streams made here decode to exactly the same latents in a
decoder process whose float environment is deliberately different — ATen's scalar kernels instead
of its SIMD ones (ATEN_CPU_CAPABILITY=default), one thread instead of two, a different
OMP/MKL setup — for every shipped model, the given qualities and the Kodak images.

    python -m benchmarks.check_bitexact [--images 24] [--qualities 1,4,8] [--models ...]
    python -m benchmarks.check_bitexact --encoder-device cuda    # GPU encode -> CPU decode

With --encoder-device cuda the encoder runs the transforms on the GPU and the integer prior path
through the Triton kernels (h_s, and the context loop with context_backend="triton"); the decoder
process stays on the CPU (C++ core).

The encoder side runs twice, float32 and bf16 transforms (bf16 is emulated and slow on CPUs without
native bf16): both encoders' streams must decode exactly. Prints one line per model and the count
of mismatching latents (the target is 0); exit status 1 on any mismatch or decoding error.
"""
import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

KODAK = "../shared/data/kodak"


def latent(model, strings, latent_shape, q):
    """The decoded latent y_hat of a stream (the transforms' input), bypassing g_s."""
    synth = model.synthesize
    model.synthesize = lambda y_hat, q: y_hat
    try:
        with torch.inference_mode():
            return model._decompress(strings, tuple(latent_shape), model._q(q)).float().cpu().numpy()
    finally:
        model.synthesize = synth


def encode_all(names, images, qualities, out_dir, bf16, device="cpu"):
    from fastcodec.zoo import load_model

    records = []
    for name in names:
        model = load_model(name).to(device)
        if device != "cpu" and hasattr(model, "context_backend"):
            model.context_backend = "triton"
        type(model).bf16_transforms = bf16
        for q in qualities:
            for i, im in enumerate(images):
                x = torch.from_numpy(im.copy()).permute(2, 0, 1)[None].float() / 255
                c = model.compress(x, q - 1)
                y_hat = latent(model, c["strings"], c["latent"], q - 1)
                path = Path(out_dir) / f"{name}_q{q}_{i}_{'bf16' if bf16 else 'fp32'}_{device}.npz"
                np.savez(path, y_hat=y_hat, latent=np.array(c["latent"]), q=q - 1,
                         **{f"s{k}": np.frombuffer(s, np.uint8) for k, s in enumerate(c["strings"])})
                records.append((name, str(path)))
        type(model).bf16_transforms = None
    return records


def decode_all(list_file):
    """Child process: decode every record, compare latents; prints 'name mismatches errors'."""
    from fastcodec.zoo import load_model

    torch.set_num_threads(1)
    models, stats = {}, {}
    for line in Path(list_file).read_text().splitlines():
        name, path = line.split("\t")
        model = models.setdefault(name, load_model(name))
        d = np.load(path)
        strings = [d[f"s{k}"].tobytes() for k in range(model.num_streams)]
        s = stats.setdefault(name, [0, 0, 0])
        s[0] += 1
        try:
            y_hat = latent(model, strings, d["latent"].tolist(), d["q"].item())
            s[1] += int((y_hat != d["y_hat"]).sum())
        except Exception as e:  # noqa: BLE001 - any failure to decode counts
            s[2] += 1
            print(f"decode error {path}: {e}", file=sys.stderr)
    for name, (n, mism, err) in stats.items():
        print(f"{name}\t{n}\t{mism}\t{err}")


def main(argv=None):
    p = argparse.ArgumentParser()
    p.add_argument("--images", type=int, default=24)
    p.add_argument("--qualities", default="1,4,8")
    p.add_argument("--models", default=None)
    p.add_argument("--no-bf16", action="store_true", help="skip the bf16-encoder pass")
    p.add_argument("--encoder-device", default="cpu", help="cpu or cuda: where the encoder runs")
    p.add_argument("--decode-list", default=None, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.decode_list:
        return decode_all(a.decode_list)
    import fastcodec
    from fastcodec.train.data import list_images, load_rgb

    torch.set_num_threads(2)
    names = a.models.split(",") if a.models else fastcodec.list_models()
    images = [load_rgb(pth) for pth in list_images(KODAK)[:a.images]]
    qualities = [int(q) for q in a.qualities.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        records = encode_all(names, images, qualities, tmp, bf16=False, device=a.encoder_device)
        if not a.no_bf16:
            records += encode_all(names, images, qualities, tmp, bf16=True, device=a.encoder_device)
        lst = Path(tmp) / "list.tsv"
        lst.write_text("\n".join(f"{n}\t{pth}" for n, pth in records) + "\n")
        env = dict(os.environ, ATEN_CPU_CAPABILITY="default", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
                   MKL_CBWR="COMPATIBLE")
        out = subprocess.run([sys.executable, "-m", "benchmarks.check_bitexact", "--decode-list", str(lst)],
                             env=env, capture_output=True, text=True)
    if out.returncode != 0:
        print(out.stderr)
        return 1
    print(f"{len(images)} Kodak images, qualities {qualities}, encoders fp32{'' if a.no_bf16 else ' + bf16'} "
          f"on {a.encoder_device}; "
          "decoder: ATEN_CPU_CAPABILITY=default, 1 thread\n")
    print("| model | streams | mismatching latent values | decode errors |")
    print("|---|---|---|---|")
    bad = 0
    for line in out.stdout.strip().splitlines():
        name, n, mism, err = line.split("\t")
        bad += int(mism) + int(err)
        print(f"| {name} | {n} | {mism} | {err} |")
    if out.stderr.strip():
        print(out.stderr.strip()[-2000:])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
