"""Exports a training checkpoint to the zoo: fp16 safetensors (no optimizer state) with the
architecture and configuration in its metadata, the training record beside it, and the manifest
entry (name, architecture, qualities, lambdas, steps, sha256)."""
import json
from pathlib import Path

import torch

from fastcodec.models import build
from fastcodec.zoo import MANIFEST, WEIGHTS_DIR, sha256_file


def training_record(log_path):
    """The run's curve: the training log (every interval) and the validation points."""
    train, val = [], []
    if Path(log_path).exists():
        for line in Path(log_path).read_text().splitlines():
            rec = json.loads(line)
            (val if "val" in rec else train).append(rec)
    return {"train": train, "val": val}


def export(model, name, steps, log_path=None, notes="", zoo_dir=None, calibration=None, base=None):
    """Writes the weights, the training record and the manifest entry; returns the entry.
    zoo_dir: the zoo folder (default: the package's own). base: a model of the same zoo whose
    equal tensors (e.g. frozen shared transforms) are not stored again; the file then records the
    base's sha256 and loads only beside that exact base file."""
    from safetensors.torch import save_file

    weights_dir = Path(zoo_dir) / "weights" if zoo_dir else WEIGHTS_DIR
    manifest_path = Path(zoo_dir) / "manifest.json" if zoo_dir else MANIFEST
    weights_dir.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()}
    # The integer coding tables of the stored (fp16-rounded) weights, so every machine codes with them.
    rounded = build(model.name, **model.config())
    rounded.load_state_dict({k: v.float() for k, v in state.items()})
    if calibration:  # freeze the prior path of the stored weights into integers
        rounded.freeze_prior(calibration)
    state.update(rounded.extra_state())   # coding tables, integer networks
    file = f"{name}.safetensors"
    meta = {"architecture": model.name, "config": json.dumps(model.config()), "steps": str(steps)}
    if base:
        from fastcodec.zoo import load_weights

        base_path = weights_dir / f"{base}.safetensors"
        _, _, base_state = load_weights(base_path)
        from fastcodec.zoo import GROUPS

        shared = [k for k, v in state.items() if k in base_state and base_state[k].shape == v.shape
                  and torch.equal(base_state[k].to(v.dtype), v)]
        for group in GROUPS:  # a group is stored whole, or not at all
            keys = [k for k in state if k.startswith(group)]
            same = all(k in shared for k in keys) and {k for k in base_state if k.startswith(group)} == set(keys)
            if not same:
                shared = [k for k in shared if not k.startswith(group)]
        state = {k: v for k, v in state.items() if k not in shared}
        meta.update(base=base, base_sha256=sha256_file(base_path), shared_tensors=json.dumps(sorted(shared)))
    save_file(state, str(weights_dir / file), metadata=meta)
    record = training_record(log_path) if log_path else {"train": [], "val": []}
    (weights_dir / f"{name}.train.json").write_text(json.dumps(record, indent=0) + "\n")
    entry = {
        "name": name,
        "architecture": model.name,
        "config": model.config(),
        "rate": model.rate_spec.describe(),
        "qualities": [int(v) if v == int(v) else v for v in model.rate_spec.points()],
        "lambdas": list(model.rate_spec.lambdas),
        "loss": ("mean over the iterations of |x - x_hat_t| (L1)" if model.rate_spec.progressive_steps
                 else f"lambda * 255^2 * {model.rate_spec.metric.upper()} + bpp"),
        "steps": int(steps),
        "file": file,
        "sha256": sha256_file(weights_dir / file),
        "training_record": f"{name}.train.json",
        "integer_prior": bool(calibration) and hasattr(model, "h_s"),
        "base": base,
        "notes": notes,
    }
    models = json.loads(manifest_path.read_text())["models"] if manifest_path.exists() else []
    models = [m for m in models if m["name"] != name] + [entry]
    manifest_path.write_text(json.dumps({"format": 1, "models": sorted(models, key=lambda m: m["name"])}, indent=2) + "\n")
    return entry


@torch.no_grad()
def calibration_latents(model, image_dir, limit=12, qualities=(0, 3, 7)):
    """(y, rounded z) of photos (not Kodak) at a few qualities: the activation ranges the integer
    prior is frozen for."""
    from fastcodec.train.data import list_images, load_rgb
    from fastcodec.train.kodak import refuse_kodak

    refuse_kodak("--calibration", image_dir)
    zs = []
    for path in list_images(image_dir)[:limit]:
        x = torch.from_numpy(load_rgb(path).copy()).permute(2, 0, 1)[None].float() / 255
        x = model.pad(x)
        for q in qualities:
            y = model.analyze(x, torch.tensor([q])).float().contiguous()
            zs.append((y, torch.round(model.hyper_analyze(y)).contiguous()))
    return zs


def calibration_images(image_dir, limit=8, crop=256):
    """The top-left crops of the first photos of a folder (not Kodak), float [1, 3, h, w] in [0, 1]:
    what a model whose `calibration` is "images" freezes its integer networks on."""
    from fastcodec.train.data import list_images, load_rgb
    from fastcodec.train.kodak import refuse_kodak

    refuse_kodak("--calibration", image_dir)
    return [torch.from_numpy(load_rgb(p)[:crop, :crop].copy()).permute(2, 0, 1)[None].float() / 255
            for p in list_images(image_dir)[:limit]]


def checkpoint_model(ckpt_path, arch, ema=False, N=128, M=192):
    """(model, checkpoint) of a `fastcodec train` checkpoint: its weights, or with ema its moving
    average; checkpoints do not record their architecture, so arch names it."""
    from fastcodec.models import build

    state = torch.load(ckpt_path, weights_only=True)
    if ema and "ema" not in state:
        raise SystemExit(f"{ckpt_path} holds no weight average (train with --ema)")
    model = build(arch, **(json.loads(state["config"]) if "config" in state else {"N": N, "M": M}))
    try:
        model.load_state_dict(state["ema" if ema else "model"])
    except RuntimeError as e:
        raise SystemExit(f"{ckpt_path}: not a {arch} checkpoint: {str(e).splitlines()[0]}")
    return model, state


def export_checkpoint(ckpt_path, arch, name, N=128, M=192, notes="", calibration_dir=None, base=None,
                      step_offset=0, zoo_dir=None, ema=False):
    """ckpt_path: a `fastcodec train` checkpoint, or a float .safetensors file (as fastcodec.train.fit_density
    writes: no step count of its own, so the recorded steps are step_offset). ema: export the
    checkpoint's moving average of the weights (`fastcodec train --ema`) instead of the weights."""
    from fastcodec.models import build
    from fastcodec.train.kodak import refuse_kodak

    if calibration_dir:  # before any work, and for models without a prior path to freeze too
        refuse_kodak("--calibration", calibration_dir)
    if str(ckpt_path).endswith(".safetensors"):
        from fastcodec.zoo import load_weights

        if ema:
            raise SystemExit(f"{ckpt_path}: --ema applies to training checkpoints, not to weight files")
        stored_arch, config, weights = load_weights(ckpt_path)
        if stored_arch != arch:
            raise SystemExit(f"{ckpt_path} holds a {stored_arch} model, not {arch}")
        state = {"model": weights, "config": json.dumps(config), "step": 0}
        model = build(arch, **config)
        model.load_state_dict(weights)
    else:
        model, state = checkpoint_model(ckpt_path, arch, ema, N, M)
    model.eval()
    zs = None
    if calibration_dir and getattr(model, "calibration", None) == "images":   # freezes on photos
        zs = calibration_images(calibration_dir)
    elif calibration_dir and hasattr(model, "h_a"):
        zs = calibration_latents(model, calibration_dir)
    return export(model, name, state["step"] + step_offset, Path(ckpt_path).parent / "log.jsonl", notes=notes,
                  calibration=zs, base=base, zoo_dir=zoo_dir)


def main(argv=None):
    import argparse

    p = argparse.ArgumentParser(description="export a checkpoint to fastcodec/zoo (or to another zoo folder)")
    p.add_argument("ckpt", help="a fastcodec train checkpoint (.pt) or float weights (.safetensors)")
    p.add_argument("--arch", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--N", type=int, default=128)
    p.add_argument("--M", type=int, default=192)
    p.add_argument("--notes", default="")
    p.add_argument("--calibration", default=None,
                   help="folder of photos (never Kodak) to freeze the prior path into integers with")
    p.add_argument("--base", default=None, help="zoo model whose equal tensors are shared, not stored again")
    p.add_argument("--step-offset", type=int, default=0,
                   help="steps the run's warm start had already trained (added to the recorded count)")
    p.add_argument("--ema", action="store_true", help="export the checkpoint's moving average of the weights")
    p.add_argument("--zoo-dir", default=None,
                   help="write weights/NAME.safetensors and manifest.json under this folder instead of the "
                        "package's zoo (e.g. a run's resume point: `fastcodec train --init "
                        "ZOO_DIR/weights/NAME.safetensors`)")
    a = p.parse_args(argv)
    entry = export_checkpoint(a.ckpt, a.arch, a.name, a.N, a.M, a.notes, a.calibration, a.base, a.step_offset,
                              zoo_dir=a.zoo_dir, ema=a.ema)
    print(json.dumps(entry, indent=2))
    return entry


if __name__ == "__main__":
    main()
