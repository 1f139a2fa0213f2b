"""Trains a context model's context networks alone on cached latents: the first stage of a context
model warm-started from mbt2018-mean's transforms (docs/training.md, "Context models").

With g_a frozen, the latent y of a crop at a quality never changes, so it is computed once: a
few thousand random crops, each at one quality (all qualities equally often), y = g_a(x) * gain(q)
kept in memory (and in the run folder, so a resumed run does not recompute it). A step is then the
latent codec's training pass alone (h_a, h_s, the context networks; g_a and g_s never run): the
rate of the rounded latents (straight-through: what the coder codes) or of noisy ones. The
transforms, h_a, h_s, the z density and the gains stay frozen, so the model can ship as a derived
model of its base (`export --base mbt2018-mean`). Every --val-every steps the rate of the
validation photos' cached latents at three qualities is logged against the starting point.

Checkpoints are those of `fastcodec train` (ckpt.pt with the weights, Adam's state, the step and a
moving average of the weights), so `export --ema`, `valcurve --ema --arch ...` and a later joint run
(`fastcodec train --init`) read them.

    python -m fastcodec.train.fit_context --arch elic2022 --init mbt2018-mean \\
        --data ../shared/data/train --val ../shared/data/val --out runs/elic-ctx --steps 20000
"""
import argparse
import json
import signal
import sys
import time
from pathlib import Path

import numpy as np
import torch

from fastcodec.layers.mixed import round_ste  # noqa: F401  (the rate proxy named by --rate-quantization)

#: the modules a context stage trains (any that the model has)
CONTEXT_MODULES = ("hyper_embedding", "channel_context", "spatial_context", "param_aggregation",
                   "context_prediction", "entropy_parameters")


def context_parameters(model):
    """{name: parameter} of the context networks; everything else is frozen."""
    prefixes = tuple(m + "." for m in CONTEXT_MODULES)
    return {n: p for n, p in model.named_parameters() if n.startswith(prefixes)}


@torch.no_grad()
def cache_latents(model, sampler, count, crop, rng, log=print, batch=8):
    """(y [count, M, crop/16, crop/16] float32, q [count]) of random crops, qualities cycled."""
    n_q = len(model.rate_spec.lambdas)
    ys, qs = [], []
    model.eval()
    for start in range(0, count, batch):
        b = min(batch, count - start)
        x = sampler.batch(rng, b, crop)
        q = torch.from_numpy((start + np.arange(b)) % n_q).long()
        ys.append(model.analysis_train(x, q, autocast=False).float().contiguous())
        qs.append(q)
        if (start // batch) % 50 == 0:
            log(f"cached {start + b} of {count} crops")
    return torch.cat(ys), torch.cat(qs)


@torch.no_grad()
def val_latents(model, images, qualities):
    """[(y [1, M, h, w], q)] of whole validation photos (padded as coding pads them)."""
    out = []
    model.eval()
    for im in images:
        x = torch.from_numpy(np.array(im, dtype=np.uint8)).permute(2, 0, 1)[None].float() / 255
        x = model.pad(x)
        for q in qualities:
            qt = torch.tensor([q])
            out.append((model.analysis_train(x, qt, autocast=False).float(), qt, x.shape[2] * x.shape[3]))
    return out


def rate_bits(model, y, q):
    """Per-crop bits of y and z (likelihoods as the owner's training flag and rate_quantization say)."""
    _, lik = model.latent_codec.forward(y, q, autocast=False)
    return sum((-torch.log2(v)).flatten(1).sum(1) for v in lik.values())


@torch.no_grad()
def val_rate(model, latents, qualities):
    """{"quality" (1-based): mean bpp of the rounded latents} over the validation photos."""
    model.eval()
    per_q = {}
    for y, q, pixels in latents:
        per_q.setdefault(int(q) + 1, []).append(rate_bits(model, y, q).item() / pixels)
    model.train()
    return {str(k): float(np.mean(v)) for k, v in sorted(per_q.items())}


def fit_context(model, y_cache, q_cache, out_dir, steps, batch=8, lr=1e-4, ema=0.99, val=(), val_every=1000,
                log_every=100, ckpt_every=500, seed=0, clip=1.0, log=print):
    from fastcodec.train.loop import QualityBalance, WeightAverage, reorder_optimizer_state

    out_dir = Path(out_dir)
    ckpt_path = out_dir / "ckpt.pt"
    for p in model.parameters():
        p.requires_grad_(False)
    params = context_parameters(model)
    if not params:
        raise ValueError(f"{model.name} has no context networks to train ({', '.join(CONTEXT_MODULES)})")
    for p in params.values():
        p.requires_grad_(True)
    names = list(params)
    opt = torch.optim.Adam(list(params.values()), lr=lr, fused=True)
    step, ema_state, balance_means, saved_start = 0, None, None, None
    if ckpt_path.exists():
        state = torch.load(ckpt_path, weights_only=True, map_location="cpu")
        model.load_state_dict(state["model"])
        opt.load_state_dict(reorder_optimizer_state(state, model, names, opt.state_dict()["param_groups"]))
        step, ema_state, balance_means = int(state["step"]), state.get("ema"), state.get("balance_means")
        if "val_start" in state:
            saved_start = json.loads(state["val_start"])
        elif (out_dir / "val_start.json").exists():   # runs started before the checkpoint kept them
            saved_start = json.loads((out_dir / "val_start.json").read_text())
        log(f"resumed {ckpt_path} at step {step}")
    for group in opt.param_groups:
        group["lr"] = lr
    average = WeightAverage(model, ema, ema_state) if ema else None
    n_q = len(model.rate_spec.lambdas)
    balancer = QualityBalance(means=balance_means, count=n_q)
    rng = np.random.default_rng(seed + step)
    pixels = (y_cache.shape[2] * 16) * (y_cache.shape[3] * 16)
    val_q = sorted({int(q) for _, q, _ in val})
    start_rate = None
    if val:
        # the rates of the starting point, measured once and kept in the checkpoint (a run resumed
        # with other validation qualities measures the missing ones on the starting weights: gone,
        # so those are measured now and labelled so)
        start_rate = dict(saved_start or {})
        missing = [q for q in val_q if str(q + 1) not in start_rate]
        if missing:
            now = val_rate(model, [v for v in val if int(v[1]) in missing], missing)
            start_rate.update(now)
            log(json.dumps({"step": step, "val_bpp_start" if step == 0 else "val_bpp_start_added_at_resume": now}))
    logf = open(out_dir / "log.jsonl", "a")
    stop = []
    previous = {sig: signal.signal(sig, lambda *_: stop.append(1)) for sig in (signal.SIGTERM, signal.SIGINT)}
    acc, count, t0 = np.zeros(n_q), np.zeros(n_q), time.time()
    model.train()
    while step < steps and not stop:
        idx = torch.from_numpy(rng.choice(len(y_cache), batch, replace=False))
        y, q = y_cache[idx], q_cache[idx]
        if rng.random() < 0.5:      # the latents of a flipped crop are not those of the crop, but the
            y = y.flip(3)           # statistics the context networks learn are symmetric: cheap variety
        bpp = rate_bits(model, y, q) / pixels
        loss = (bpp * balancer.weights(q, bpp)).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if clip:
            torch.nn.utils.clip_grad_norm_(list(params.values()), clip)
        opt.step()
        if average is not None:
            average.update()
        step += 1
        np.add.at(acc, q.numpy(), bpp.detach().numpy())
        np.add.at(count, q.numpy(), 1)
        if step % log_every == 0:
            rec = {"step": step, "sec_per_step": (time.time() - t0) / log_every, "lr": lr, "batch": batch,
                   "rate_q": model.rate_quantization, "bpp": [round(v, 4) for v in (acc / np.maximum(count, 1)).tolist()]}
            logf.write(json.dumps(rec) + "\n")
            logf.flush()
            log(json.dumps(rec))
            acc, count, t0 = np.zeros(n_q), np.zeros(n_q), time.time()
        if step % ckpt_every == 0 or step == steps or stop:
            ckpt = {"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step,
                    "config": json.dumps(model.config()), "param_names": names, "balance_means": balancer.means,
                    "val_start": json.dumps(start_rate or {})}
            if average is not None:
                ckpt.update(ema=average.state(model), ema_decay=average.decay)
            torch.save(ckpt, out_dir / "ckpt.pt.tmp")
            (out_dir / "ckpt.pt.tmp").replace(ckpt_path)
        if val and (step % val_every == 0 or step == steps):
            from fastcodec.train.loop import averaged_copy

            judged = averaged_copy(model, average.state(model)) if average is not None else model
            rate = val_rate(judged, val, val_q)
            rec = {"step": step, "val_bpp" + ("_ema" if average is not None else ""): rate,
                   "vs_start_pct": {k: round(100 * (v / start_rate[k] - 1), 3) for k, v in rate.items()}}
            logf.write(json.dumps(rec) + "\n")
            logf.flush()
            log(json.dumps(rec))
    for sig, handler in previous.items():
        signal.signal(sig, handler)
    logf.close()
    return step


def main(argv=None):
    from fastcodec.models import build
    from fastcodec.train.__main__ import _fitting_tensors, run_config, warm_start
    from fastcodec.train.data import CropSampler, list_images, load_rgb
    from fastcodec.train.kodak import refuse_kodak

    p = argparse.ArgumentParser(prog="python -m fastcodec.train.fit_context", description=__doc__.split("\n\n")[0])
    p.add_argument("--arch", default="elic2022")
    p.add_argument("--init", required=True, help="weights to start from (a zoo name or .safetensors; matching tensors)")
    p.add_argument("--data", required=True, help="training photos (searched recursively)")
    p.add_argument("--exclude-dirs", default="set5,set14", help="subfolders of --data never trained on")
    p.add_argument("--val", default=None, help="folder of validation photos (never Kodak)")
    p.add_argument("--val-qualities", default="1,4,8")
    p.add_argument("--out", required=True, help="run folder: ckpt.pt, log.jsonl, latents.pt")
    p.add_argument("--steps", type=int, required=True, help="train until this total step count")
    p.add_argument("--crops", type=int, default=3000, help="cached training crops")
    p.add_argument("--crop", type=int, default=384)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--ema", type=float, default=0.99)
    p.add_argument("--val-every", type=int, default=1000)
    p.add_argument("--rate-quantization", choices=("noise", "round"), default="round")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args(argv)
    refuse_kodak("--data", a.data)
    if a.val:
        refuse_kodak("--val", a.val)
    if a.crop % 64:
        raise SystemExit(f"--crop must be a multiple of 64, got {a.crop}")
    torch.set_num_threads(a.threads)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    # the model's arguments as `fastcodec train` takes them: the checkpoint's, else the init's
    model = build(a.arch, **run_config(argparse.Namespace(out=a.out, init=a.init, arch=a.arch, N=128, M=192, config=None)))
    if (out / "ckpt.pt").exists():
        # the frozen transforms that the validation latents (and any missing cache) come from
        model.load_state_dict(torch.load(out / "ckpt.pt", weights_only=True)["model"])
    else:
        print(warm_start(model, a.init), flush=True)
        context = tuple(m + "." for m in CONTEXT_MODULES)
        _, matched = _fitting_tensors(model, a.init)
        missing = [k for k in model.state_dict() if not k.startswith(context) and k not in matched]
        if missing:   # the context stage trains on the init's transforms: every one of them must load
            raise SystemExit(f"--init {a.init}: {len(missing)} tensors of the transforms and hyperprior do not "
                             f"fit {a.arch}, e.g. {missing[:3]}")
    model.rate_quantization = a.rate_quantization
    cache = out / "latents.pt"
    if cache.exists():
        saved = torch.load(cache, weights_only=True)
        y_cache, q_cache = saved["y"], saved["q"]
        print(f"{len(y_cache)} cached latents from {cache}", flush=True)
    else:
        sampler = CropSampler(list_images(a.data, exclude_dirs=tuple(d for d in a.exclude_dirs.split(",") if d)))
        y_cache, q_cache = cache_latents(model, sampler, a.crops, a.crop, np.random.default_rng(a.seed + 12345),
                                         log=lambda s: print(s, flush=True))
        torch.save({"y": y_cache, "q": q_cache, "crop": a.crop}, cache)
    val = []
    if a.val:
        try:
            qualities = [int(model.rate_spec.index(model.rate_spec.check(int(q), "--val-qualities")))
                         for q in a.val_qualities.split(",")]
        except (TypeError, ValueError) as exc:
            raise SystemExit(f"--val-qualities: {exc}") from None
        val = val_latents(model, [load_rgb(v) for v in list_images(a.val)], qualities)
    fit_context(model, y_cache, q_cache, out, a.steps, batch=a.batch, lr=a.lr, ema=a.ema, val=val,
                val_every=a.val_every, seed=a.seed, log=lambda s: print(s, flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
