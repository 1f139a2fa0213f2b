"""python -m fastcodec.train: see `fastcodec train --help`."""
import argparse
import json
import sys
from pathlib import Path

DEFAULT_VAL_DIRS = ("set5", "set14")


def build_parser(parser=None):
    parser = parser or argparse.ArgumentParser(prog="fastcodec train")
    parser.add_argument("--arch", default="mbt2018-mean")
    parser.add_argument("--data", required=True, help="folder of training photos (searched recursively)")
    parser.add_argument("--out", required=True, help="run folder: ckpt.pt (full, resumable) and log.jsonl")
    parser.add_argument("--steps", type=int, required=True, help="train until this total step count")
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--crop", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--N", type=int, default=128)
    parser.add_argument("--M", type=int, default=192)
    parser.add_argument("--config", default=None,
                        help="constructor arguments of a fresh model as JSON, e.g. '{\"width\": 0.25}' for "
                             "toderici2017 (a resumed run or a warm start of the same architecture has its own)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cpu",
                        help="where to train: cpu (default), cuda, cuda:1, ...; checkpoints hold CPU tensors "
                             "either way")
    parser.add_argument("--val-dirs", default=",".join(DEFAULT_VAL_DIRS),
                        help="subfolders of --data held out for validation (comma-separated)")
    parser.add_argument("--autocast", choices=("auto", "on", "off"), default="auto",
                        help="bf16 autocast: 'auto' uses it only where the CPU computes bf16 natively "
                             "(AVX512-BF16/AMX: ~3.5x faster); on an AVX2-only CPU bf16 is emulated and "
                             "~9x slower than float32")
    parser.add_argument("--no-autocast", action="store_true", help="same as --autocast off")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--freeze", default="",
                        help="comma-separated modules kept fixed (e.g. g_a,g_s,h_a,h_s,entropy_bottleneck,gains); "
                             "with g_a and g_s both frozen the synthesis is skipped and the loss is the rate "
                             "alone; with g_a trained the distortion counts")
    parser.add_argument("--init", default=None,
                        help="start from these weights (.safetensors or a zoo name); tensors whose name and "
                             "shape match are loaded, so a context model can start from a mean-scale model")
    parser.add_argument("--rate-quantization", choices=("noise", "round"), default="noise",
                        help="likelihoods in training at noisy latents (the papers' proxy) or at the coded "
                             "symbols with a straight-through gradient (for entropy models on frozen transforms)")
    parser.add_argument("--lr-mult", default="",
                        help="comma-separated module=factor multiplying the learning rate of a module's "
                             "parameters (e.g. context_prediction=10)")
    parser.add_argument("--ema", type=float, default=0.0,
                        help="keep a moving average of the weights with this decay per step (e.g. 0.999; "
                             "0: none); saved in the checkpoint, validated beside the weights, exported with "
                             "python -m fastcodec.train.export --ema")
    parser.add_argument("--objective", default=None,
                        help="training objective (fastcodec.train.objectives: mse-rd, ms-ssim-rd; default: the "
                             "one for the model's rate metric)")
    parser.add_argument("--balance-qualities", action="store_true",
                        help="weight each crop's loss by 1 / its quality's running mean loss, so every "
                             "quality gets an equal share of the shared transforms (sum of log losses)")
    parser.add_argument("--trainable", default="",
                        help="comma-separated parameter-name prefixes trained even inside a --freeze module "
                             "(e.g. g_s.6. for the last layer of a frozen g_s; film. for the per-quality "
                             "modulation, frozen with g_a or g_s otherwise, in a derived model that stores its own copy)")
    parser.add_argument("--compile-gdn", action="store_true",
                        help="fuse GDN's elementwise work with torch.compile in training (CPU; ~6 %% faster "
                             "steps on mbt2018-mean; the first steps wait ~20 s for the compiler)")
    parser.add_argument("--qualities", default="",
                        help="comma-separated qualities (1-8) the crops are drawn from, each equally often "
                             "(default: all); e.g. 1 alone measures what sharing the transforms costs q1")
    parser.add_argument("--jpeg-downsample", type=int, default=1,
                        help="reduce JPEG training photos by this factor (box average) to remove their block "
                             "artifacts and 4:2:0 chroma; PNGs are kept at full size (default 1: off)")
    return parser


def parse_lr_mult(text):
    """'a=10,b.c=0.5' -> {'a': 10.0, 'b.c': 0.5}."""
    out = {}
    for item in filter(None, (t.strip() for t in text.split(","))):
        name, sep, value = item.partition("=")
        try:
            factor = float(value)
        except ValueError:
            factor = -1.0
        if not sep or not name or not factor > 0:
            raise SystemExit(f"--lr-mult: expected module=factor with factor > 0, got {item!r}")
        out[name] = factor
    return out


def _fitting_tensors(model, source):
    """(path, the tensors of `source` whose names and shapes match `model`'s)."""
    from fastcodec.zoo import WEIGHTS_DIR, load_weights, manifest

    entry = manifest().get(source)
    path = WEIGHTS_DIR / entry["file"] if entry else Path(source)
    _, _, state = load_weights(path)
    own = model.state_dict()
    return path, {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}


def warm_start(model, source):
    """Loads the tensors of `source` whose names and shapes match; returns a one-line summary."""
    path, matched = _fitting_tensors(model, source)
    model.load_state_dict(matched, strict=False)
    return f"warm start from {path}: {len(matched)} of {len(model.state_dict())} tensors"


def warm_started(model, source, prefix):
    """True when the warm-start weights hold tensors under prefix that fit `model` (name and shape:
    a context part saved for another latent width does not count)."""
    return any(k.startswith(prefix) for k in _fitting_tensors(model, source)[1])


def parse_qualities(text, spec):
    """--qualities "1,2" -> the 0-based indices of those qualities of the model's rate spec
    ([0, 1] for the MSE models); "" -> None (all)."""
    if not text.strip():
        return None
    try:
        qs = [int(t) for t in text.split(",") if t.strip()]
        if not qs:
            raise ValueError("no quality")
        return [int(spec.index(spec.check(q, "--qualities"))) for q in qs]
    except (TypeError, ValueError) as exc:
        raise SystemExit(f"--qualities: expected comma-separated qualities ({spec.describe()}), got {text!r}: {exc}") from None


def run_config(args):
    """Constructor arguments of the model: those of a checkpoint being resumed, else of the warm
    start's weights (e.g. bmshj2018-factorized's per-quality densities; of another architecture:
    its N, M and FiLM, plus --config), else --N/--M and --config. --config where the model's
    arguments come from elsewhere (a resumed run, a warm start of the same architecture) is an error."""
    import torch

    from fastcodec.zoo import WEIGHTS_DIR, load_weights, manifest

    extra = {}
    if getattr(args, "config", None):
        try:
            extra = json.loads(args.config)
        except ValueError as exc:
            raise SystemExit(f"--config: not JSON: {exc}") from None
        if not isinstance(extra, dict):
            raise SystemExit(f"--config: expected a JSON object, got {args.config!r}")
    ckpt = Path(args.out) / "ckpt.pt"
    if ckpt.exists():
        cfg = torch.load(ckpt, weights_only=True).get("config")
        if cfg:
            if extra:
                raise SystemExit(f"--config: {ckpt} is resumed with the model's own arguments")
            return json.loads(cfg)
    if args.init:
        entry = manifest().get(args.init)
        arch, cfg, _ = load_weights(WEIGHTS_DIR / entry["file"] if entry else Path(args.init))
        if arch == args.arch:
            if extra:
                raise SystemExit(f"--config: the warm start {args.init} gives the model its own arguments")
            return dict(cfg, N=cfg.get("N", args.N), M=cfg.get("M", args.M))
        # another architecture on the same transforms (a context model from mbt2018-mean): their
        # widths and per-quality modulation, without which the warm start would drop the FiLM values
        shared = {"N": cfg.get("N", args.N), "M": cfg.get("M", args.M), **({"film": True} if cfg.get("film") else {})}
        return {**_accepted(args.arch, shared), **extra}
    return {**_accepted(args.arch, {"N": args.N, "M": args.M}), **extra}


def _accepted(arch, kwargs):
    """kwargs without the arguments the architecture's constructor does not take (a recurrent coder
    has no N or M); film is build()'s, for models with per-quality modulation."""
    import inspect

    from fastcodec.models import architecture

    params = inspect.signature(architecture(arch).__init__).parameters
    if any(p.kind == p.VAR_KEYWORD for p in params.values()):
        return kwargs
    return {k: v for k, v in kwargs.items() if k in params or k == "film"}   # film: build()'s own


def run(args):
    import torch

    from fastcodec.models import build
    from fastcodec.train.data import CropSampler, list_images, load_rgb
    from fastcodec.train.kodak import refuse_kodak
    from fastcodec.train.loop import train

    from fastcodec import _allocator
    from fastcodec.layers.fast import cpu_has_native_bf16

    val_dirs = tuple(d for d in args.val_dirs.split(",") if d)
    refuse_kodak("--val-dirs", *(Path(args.data) / d for d in val_dirs))
    refuse_kodak("--data", args.data)
    _allocator.tune()   # batch activations of 30-70 MB: reuse them instead of page-faulting each step
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit(f"--device {args.device}: no CUDA device is available")
    if device.type == "cuda":
        # every step has the same shapes: let cuDNN time its algorithms once and keep the fastest
        torch.backends.cudnn.benchmark = True
    native_bf16 = torch.cuda.is_bf16_supported() if device.type == "cuda" else cpu_has_native_bf16()
    autocast = {"on": True, "off": False, "auto": native_bf16}[args.autocast] and not args.no_autocast
    print(f"bf16 autocast: {'on' if autocast else 'off'}", flush=True)
    train_paths = list_images(args.data, exclude_dirs=val_dirs)
    val_paths = [p for d in val_dirs for p in list_images(f"{args.data}/{d}")]
    print(f"{len(train_paths)} training images, {len(val_paths)} held out", flush=True)
    sampler = CropSampler(train_paths, jpeg_downsample=args.jpeg_downsample)
    model = build(args.arch, **run_config(args))
    model.rate_quantization = args.rate_quantization
    if args.init and not (Path(args.out) / "ckpt.pt").exists():
        print(warm_start(model, args.init), flush=True)
        if hasattr(model, "init_context_as_mean_scale") and not warm_started(model, args.init, "entropy_parameters."):
            model.init_context_as_mean_scale()
            print("context path starts as the pass-through of the mean-scale prior", flush=True)
    if not 0.0 <= args.ema < 1.0:
        raise SystemExit(f"--ema: expected a decay in [0, 1), got {args.ema}")
    if args.compile_gdn:
        from fastcodec.layers.gdn import compile_for_training
        compile_for_training()
    train(model, sampler, args.out, args.steps, batch_size=args.batch, crop=args.crop, lr=args.lr,
          val_images=[load_rgb(p) for p in val_paths], seed=args.seed, autocast=autocast,
          freeze=tuple(f for f in args.freeze.split(",") if f), lr_mult=parse_lr_mult(args.lr_mult), ema=args.ema,
          balance=args.balance_qualities, device=device, qualities=parse_qualities(args.qualities, model.rate_spec),
          trainable=tuple(t for t in args.trainable.split(",") if t), objective=args.objective)
    return 0


if __name__ == "__main__":
    sys.exit(run(build_parser().parse_args()))
