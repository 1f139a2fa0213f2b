"""`fastcodec` command line. Errors print one line and exit non-zero; never a traceback for a
user error."""
import argparse
import os
import sys

from fastcodec.errors import FastcodecError


def _cmd_demo(args):
    from fastcodec.cli import demo

    if args.coding:
        demo.run_demo(seed=args.seed, channels=args.channels, height=args.height, width=args.width)
    else:
        demo.run_image_demo(args.image, args.model, args.quality)
    return 0


def _cmd_encode(args):
    from fastcodec.cli.files import encode_files

    return encode_files(args.inputs, args.output, args.model, args.quality, args.workers, args.refine, args.engine,
                        args.address, not args.no_resume, args.bpp)


def _cmd_decode(args):
    from fastcodec.cli.files import decode_files

    return decode_files(args.inputs, args.output, args.workers, args.format, args.allow_truncated)


def _cmd_truncate(args):
    import fastcodec

    if (args.steps is None) == (args.bpp is None):
        raise FastcodecError("truncate: give --steps or --bpp (one of them)")
    blob = open(args.input, "rb").read()
    try:
        out = fastcodec.truncate(blob, args.steps, bpp=args.bpp)
    except ValueError as exc:
        raise FastcodecError(f"truncate: {exc}") from None
    from fastcodec.cli.files import atomic_write
    from pathlib import Path

    atomic_write(Path(args.output), out)
    steps, _ = fastcodec.progressive_steps(out)
    header = fastcodec.bitstream.read_header(out)
    print(f"{args.output}: {steps} step(s), {len(out)} bytes, "
          f"{8 * len(out) / (header.height * header.width):.4f} bpp (from {len(blob)} bytes)")
    return 0


def _cmd_info(args):
    from fastcodec.cli.files import info_files

    if args.backends:
        return _print_backends(args.inputs, args.json)
    if not args.inputs:
        raise FastcodecError("info: give .fcx files (or --backends)")
    return info_files(args.inputs, args.json)


def _print_backends(names, as_json):
    import json

    from fastcodec.api import backends

    for name, record in backends(names or None).items():
        if as_json:
            print(json.dumps({"model": name, **record}))
            continue
        ms = record.get("ms")
        timed = ", ".join(f"{b} {t:g} ms" for b, t in ms.items()) if ms else "not timed"
        print(f"{name}: {record['backend']} ({record['source']}; {timed})")
    return 0


def _cmd_models(args):
    from fastcodec.zoo import manifest

    entries = manifest()
    if not entries:
        print("no shipped models yet")
    for name, e in sorted(entries.items()):
        print(f"{name}: {e['architecture']} {e['config']}, qualities {e['qualities'][0]}-{e['qualities'][-1]}, "
              f"{e['steps']} training steps")
    return 0


def _cmd_train(args):
    from fastcodec.train.__main__ import run

    return run(args)


def _cmd_eval(args):
    from fastcodec.eval.evaluate import main as eval_main

    return eval_main([a for a in args.rest if a != "--"])


def build_parser():
    parser = argparse.ArgumentParser(prog="fastcodec", description="Learned lossy image compression.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="encode and decode the shipped sample image, against JPEG at the same size")
    demo.add_argument("--image", default=None, help="another image instead of the shipped sample")
    demo.add_argument("--model", default=None)
    demo.add_argument("--quality", type=float, default=3)
    demo.add_argument("--coding", action="store_true",
                      help="instead: entropy-code a Gaussian latent with both coders, report rate and speed")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--channels", type=int, default=192)
    demo.add_argument("--height", type=int, default=32)
    demo.add_argument("--width", type=int, default=48)
    demo.set_defaults(func=_cmd_demo)
    enc = sub.add_parser("encode", help="encode images (files or folders) to .fcx")
    enc.add_argument("inputs", nargs="+")
    enc.add_argument("-o", "--output", default=None, help="output file (one input) or folder")
    enc.add_argument("--model", default=None, help="shipped model name or .safetensors path")
    enc.add_argument("--quality", type=float, default=3)
    enc.add_argument("--bpp", type=float, default=None,
                     help="progressive models: cut each file to the most steps within this many bits per pixel")
    enc.add_argument("--workers", type=int, default=None,
                     help="threads (local), actors (ray) or local workers (dask); default: all cores")
    enc.add_argument("--engine", default="local", choices=["local", "ray", "dask"],
                     help="where to encode: this process, a Ray cluster or a Dask cluster (fastcodec[ray], fastcodec[dask])")
    enc.add_argument("--address", default=None,
                     help="the cluster to join (ray: e.g. ray://host:10001 or auto; dask: tcp://scheduler:8786); "
                          "default: start a local one")
    enc.add_argument("--no-resume", action="store_true",
                     help="re-encode files whose output already exists (default: skip valid outputs of this model and rate)")
    enc.add_argument("--refine", type=int, default=0,
                     help="steps of encoder-side latent refinement: smaller files, ~N times slower encoding (e.g. 100)")
    enc.set_defaults(func=_cmd_encode)
    dec = sub.add_parser("decode", help="decode .fcx files (or folders of them) to images")
    dec.add_argument("inputs", nargs="+")
    dec.add_argument("-o", "--output", default=None, help="output file (one input) or folder")
    dec.add_argument("--format", default="png", choices=["png", "bmp", "tiff", "ppm"])
    dec.add_argument("--workers", type=int, default=None)
    dec.add_argument("--allow-truncated", action="store_true",
                     help="decode a progressive file cut short from the steps it holds whole (else an error)")
    dec.set_defaults(func=_cmd_decode)
    trunc = sub.add_parser("truncate", help="cut a progressive .fcx file to fewer steps (no re-encoding)")
    trunc.add_argument("input")
    trunc.add_argument("-o", "--output", required=True)
    trunc.add_argument("--steps", type=int, default=None, help="keep this many steps")
    trunc.add_argument("--bpp", type=float, default=None, help="keep the most steps within this many bits per pixel")
    trunc.set_defaults(func=_cmd_truncate)
    info = sub.add_parser("info", help="print the header of .fcx files, or with --backends how each model's "
                          "transforms run on this machine")
    info.add_argument("inputs", nargs="*", help=".fcx files (with --backends: model names; none: every shipped model)")
    info.add_argument("--json", action="store_true")
    info.add_argument("--backends", action="store_true", help="the transform backend chosen for each model here "
                      "(measured once per machine, FASTCODEC_BACKEND overrides)")
    info.set_defaults(func=_cmd_info)
    models = sub.add_parser("models", help="list the shipped models")
    models.set_defaults(func=_cmd_models)
    from fastcodec.train.__main__ import build_parser as train_parser

    train = sub.add_parser("train", help="train a model on a folder of photos (resumable)")
    train_parser(train)
    train.set_defaults(func=_cmd_train)
    ev = sub.add_parser("eval", help="RD evaluation on a folder of images against JPEG, WebP, JPEG 2000, AVIF, HEIC run "
                        "live: BD-rate table, JSON with provenance, plot (see fastcodec eval --help)")
    ev.add_argument("rest", nargs=argparse.REMAINDER)
    ev.set_defaults(func=_cmd_eval)
    return parser


def _parse(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["eval"]:  # its options belong to the evaluation's own parser
        argv = ["eval", "--"] + argv[1:]
    return build_parser().parse_args(argv)


def _execute(args):
    if args.command != "train":  # coding commands: before torch loads (fastcodec/_openmp.py)
        from fastcodec import _openmp

        _openmp.configure()
    try:
        return args.func(args)
    except (FastcodecError, ValueError, TypeError, OSError) as exc:
        print(f"fastcodec {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        resume = "; the files written are whole, run it again to go on" if args.command == "encode" else ""
        print(f"fastcodec {args.command}: interrupted{resume}", file=sys.stderr)
        return 130


def main(argv=None):
    return _execute(_parse(argv))


#: commands whose process may end without Python's teardown (see run())
_FAST_EXIT = {"encode", "decode", "info", "models", "demo"}


def run():
    """The `fastcodec` console command: main(), then, for the coding commands on the local engine,
    the end of the process without the interpreter's teardown of torch's modules, which takes ~1.2 s
    (measured: `python -c "import torch"` 3.6 s, with os._exit 2.5 s, AVX2 EPYC, 2026-12-07). Every
    output file is already closed and renamed (atomic writes) by then; stdout and stderr are flushed
    here. The Ray and Dask engines keep the normal exit (their shutdown hooks run at exit)."""
    args = _parse()
    rc = _execute(args)
    if (args.command in _FAST_EXIT and getattr(args, "engine", "local") == "local"
            and os.environ.get("FASTCODEC_FAST_EXIT", "1") != "0"):
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(rc if isinstance(rc, int) else 1)
    sys.exit(rc)


if __name__ == "__main__":
    run()
