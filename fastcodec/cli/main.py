"""`fastcodec` command line. Errors print one line and exit non-zero; never a traceback for a
user error."""
import argparse
import sys

from fastcodec.errors import FastcodecError


def _cmd_demo(args):
    from fastcodec.cli.demo import run_demo

    run_demo(seed=args.seed, channels=args.channels, height=args.height, width=args.width)
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="fastcodec", description="Learned lossy image compression.")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="entropy-code a Gaussian latent with both coders and report rate and speed")
    demo.add_argument("--seed", type=int, default=0)
    demo.add_argument("--channels", type=int, default=192)
    demo.add_argument("--height", type=int, default=32)
    demo.add_argument("--width", type=int, default=48)
    demo.set_defaults(func=_cmd_demo)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (FastcodecError, ValueError, TypeError, OSError) as exc:
        print(f"fastcodec {args.command}: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
