"""The training loop: a rate-distortion objective (fastcodec.train.objectives; lambda_q * 255^2 * MSE
+ bpp for the shipped models) with a random quality per crop (one set of weights for every quality), Adam, resumable checkpoints, a JSON-lines log and a
periodic validation on held-out photos (never Kodak)."""
import json
import math
import signal
import time
from pathlib import Path

import numpy as np
import torch

from fastcodec.models.qualities import NUM_QUALITIES
from fastcodec.train.objectives import MseRD, rate_bpp
from fastcodec.train.objectives import objective as objective_named


def rd_terms(model, x, q, autocast):
    """Per-crop (mse, bpp) tensors of one forward pass, and its output."""
    out = model(x, q, autocast=autocast)
    bpp = rate_bpp(out, x.shape[2] * x.shape[3])
    if out["x_hat"] is None:  # synthesis frozen and skipped: rate-only training
        return torch.zeros(x.shape[0], device=x.device), bpp, out
    return MseRD().distortion(out["x_hat"], x), bpp, out


@torch.no_grad()
def validate(model, images, qualities=(0, 3, 7)):
    """Mean bpp (from likelihoods) and PSNR (8-bit) per quality on full images, eval mode, on the
    model's device."""
    model.eval()
    device = next(model.parameters()).device
    synthesis, model.synthesis_in_training = model.synthesis_in_training, True
    result = {}
    progressive = model.rate_spec.progressive_steps is not None
    if progressive:   # a progressive model: the qualities are step counts - 1 (q 3: 4 iterations)
        qualities = tuple(q for q in qualities if q < model.rate_spec.progressive_steps)
    for q in qualities:
        bpps, psnrs = [], []
        for im in images:
            h, w = im.shape[:2]
            H, W = model.padded_size(h, w)
            x = torch.from_numpy(np.array(im, dtype=np.uint8)).permute(2, 0, 1)[None].float() / 255  # a writable copy
            xp = torch.nn.functional.pad(x, (0, W - w, 0, H - h), mode="replicate").to(device)
            _, bpp, out = rd_terms(model, xp, torch.tensor([q], device=device), autocast=False)
            x_hat = out["reconstructions"][q] if progressive else out["x_hat"]
            if progressive:
                bpp = torch.tensor([(q + 1) * model.bits / 256])
            x_hat = x_hat[:, :, :h, :w].clamp(0, 1).mul(255).round().cpu()
            mse = ((x_hat - x.mul(255).round()) ** 2).mean().item()
            bpps.append(bpp.item() * H * W / (h * w))
            psnrs.append(10 * math.log10(255 ** 2 / max(mse, 1e-10)))
        result[f"q{q + 1}"] = {"bpp": float(np.mean(bpps)), "psnr": float(np.mean(psnrs))}
    model.synthesis_in_training = synthesis
    model.train()
    return result


def reorder_optimizer_state(ckpt, model, names=None, groups=None):
    """The checkpoint's optimizer state with its per-parameter entries matched to `model` by
    parameter name (optimizer states are keyed by position, and positions move when a module's
    construction order changes or parameters change learning-rate group). names: the trainable
    parameters in the optimizer's order (default: the model's order); groups: the optimizer's own
    param_groups to load into (default: one group). Checkpoints written before names were saved
    listed the gain vectors last."""
    opt_state = ckpt["optimizer"]
    if names is None:
        names = [n for n, p in model.named_parameters() if p.requires_grad]
    saved = ckpt.get("param_names") or [n for n in names if not n.startswith("gains.")] + [
        n for n in names if n.startswith("gains.")]
    same_groups = groups is None or len(groups) == len(opt_state["param_groups"])
    if saved == names and same_groups:
        return opt_state
    position = {n: i for i, n in enumerate(saved)}
    state = {i: opt_state["state"][position[n]] for i, n in enumerate(names)
             if n in position and position[n] in opt_state["state"]}
    if groups is None:
        groups = [dict(opt_state["param_groups"][0], params=list(range(len(names))))]
    return {"state": state, "param_groups": groups}


def lr_groups(model, lr, lr_mult):
    """(names, param groups) of the trainable parameters: lr_mult {module prefix: factor} gives the
    parameters under a prefix lr * factor (e.g. a context convolution that starts at zero learns
    faster than the entropy-parameter network it feeds); groups ordered by factor."""
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    mult = lambda n: next((float(f) for pre, f in (lr_mult or {}).items() if n == pre or n.startswith(pre + ".")), 1.0)
    factors = sorted({mult(n) for n, _ in named})
    groups = [{"params": [p for n, p in named if mult(n) == f], "lr": lr * f, "lr_mult": f} for f in factors]
    names = [n for f in factors for n, _ in named if mult(n) == f]
    return names, groups


class WeightAverage:
    """Exponential moving average of the trainable parameters (Polyak averaging): after each step
    avg <- decay * avg + (1 - decay) * param. At a constant learning rate the weights wander around
    the minimum by about the step size; their average sits closer to it, without waiting for a
    learning-rate decay (docs/training.md). state() is a full state_dict (the averaged
    parameters, the rest as the model has them) that loads like a model's."""

    def __init__(self, model, decay, state=None):
        self.decay = float(decay)
        self.names = [n for n, p in model.named_parameters() if p.requires_grad]
        params = dict(model.named_parameters())
        self.params = [params[n] for n in self.names]
        self.avg = [(state[n] if state is not None and n in state else params[n].detach()).clone().float()
                    .to(params[n].device) for n in self.names]

    @torch.no_grad()
    def update(self):
        torch._foreach_lerp_(self.avg, [p.detach() for p in self.params], 1.0 - self.decay)

    def state(self, model):
        out = {k: v.detach().clone() for k, v in model.state_dict().items()}
        out.update({n: a.clone() for n, a in zip(self.names, self.avg)})
        return out


class QualityBalance:
    """Per-quality loss weights 1 / (running mean of that quality's loss): the shared transforms then
    follow the gradient of sum_q log(L_q), an equal relative improvement at every quality, instead of
    sum_q L_q, in which the high qualities (lambda * 255^2 * MSE of 5-10 against ~1 at quality 1)
    outweigh the low ones ~8:1. Scaling one quality's loss by a constant leaves that quality's own
    rate-distortion trade-off as it was; it moves only the share of the shared weights each quality
    gets. BD-rate averages log rate over the curve, so it is the closer objective.
    decay: of the running means (per step in which the quality occurs)."""

    def __init__(self, decay=0.99, means=None, count=NUM_QUALITIES):
        self.decay = float(decay)
        self.means = (torch.as_tensor(means, dtype=torch.float64).clone() if means is not None
                      else torch.full((count,), float("nan"), dtype=torch.float64))

    def weights(self, q, losses):
        """Per-crop weights for qualities q [B] given the per-crop losses (detached); updates the means."""
        device = losses.device
        losses = losses.detach().double().cpu()
        q = q.cpu()
        for k in torch.unique(q).tolist():
            value = losses[q == k].mean()
            old = self.means[k]
            self.means[k] = value if torch.isnan(old) else self.decay * old + (1 - self.decay) * value
        w = 1.0 / self.means[q]
        return (w / w.mean()).float().to(device)


def to_cpu(obj):
    """obj (nested dicts / lists of tensors) with every tensor on the CPU: what a checkpoint holds."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: to_cpu(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(to_cpu(v) for v in obj)
    return obj


def averaged_copy(model, state):
    """A copy of model holding the averaged weights (for validation)."""
    import copy

    twin = copy.deepcopy(model)
    twin.load_state_dict(state)
    return twin


def train(model, sampler, out_dir, steps, batch_size=16, crop=128, lr=1e-4, log_every=100, ckpt_every=500,
          val_images=(), val_every=2000, seed=0, autocast=True, clip=1.0, freeze=(), lr_mult=None, ema=0.0,
          balance=False, device="cpu", qualities=None, trainable=(), objective=None):
    """freeze: names of top-level modules (g_a, g_s, h_a, h_s, entropy_bottleneck, gains, film, ...)
    kept fixed (film, the transforms' per-quality modulation, with g_a or g_s); with both g_a and g_s among them the synthesis is skipped and the loss is the rate alone
    (the straight-through rounding round(y - mu) + mu gives the predicted means no distortion
    gradient). With g_s frozen and g_a trained (an encoder fine-tuned for another entropy model),
    the distortion counts: rate alone would teach g_a to send nothing.
    lr_mult: {module name: factor} multiplying the learning rate of its parameters.
    ema: decay of a moving average of the weights kept beside them (0: none), saved in the
    checkpoint as "ema" (a full state_dict; export it with --ema) and validated as "val_ema".
    balance: weight each crop's loss by 1 / its quality's running mean loss (QualityBalance).
    device: where the model trains ("cpu", "cuda", ...); checkpoints hold CPU tensors wherever it
    trained, so a run moves between machines.
    qualities: the 0-based qualities the crops are drawn from, each equally often (default: all 8),
    e.g. to measure what sharing the transforms across qualities costs one of them.
    trainable: parameter-name prefixes trained even inside a frozen module (e.g. "g_s.6." for the last
    layer of a frozen g_s; "film." for the modulation with g_a or g_s frozen, in a derived model that
    stores its own copy of it, e.g. bmshj2018-factorized's own encoder on the base's g_s).
    objective: a name of fastcodec.train.objectives (None: the one for the model's rate_spec.metric)."""
    objective = objective_named(objective, model)
    # the λ of each of the model's named qualities; a progressive model trains every step at once
    model_lambdas = model.rate_spec.lambdas or (1.0,)
    n_q = len(model_lambdas)
    qualities = np.arange(n_q) if qualities is None else np.asarray(sorted(set(qualities)), dtype=np.int64)
    if qualities.size == 0 or qualities.min() < 0 or qualities.max() >= n_q:
        raise ValueError(f"qualities: expected 0-based indices in [0, {n_q}), got {qualities.tolist()}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path = out_dir / "ckpt.pt"
    device = torch.device(device)
    model = model.to(device, memory_format=torch.channels_last)
    freeze = tuple(freeze)
    if getattr(model, "film", None) is not None and {"g_a", "g_s"} & set(freeze) and "film" not in freeze:
        # the per-quality modulation is part of the transforms: a frozen g_a or g_s keeps it fixed
        # (trained by a rate-only loss it would shrink y, by an encoder fine-tune change the decoder)
        freeze += ("film",)
    for name in freeze:
        getattr(model, name).requires_grad_(False)
    if trainable:
        named = [(n, p) for n, p in model.named_parameters() if n.startswith(tuple(trainable))]
        if not named:
            raise ValueError(f"trainable: no parameter name starts with any of {list(trainable)}")
        for _, p in named:
            p.requires_grad_(True)
    model.synthesis_in_training = not {"g_a", "g_s"} <= set(freeze)
    trainable = [p for p in model.parameters() if p.requires_grad]
    names, groups = lr_groups(model, lr, lr_mult)
    # fused: one kernel for all parameters instead of a Python loop over 55 tensors (same update;
    # measured 0.310 -> 0.296 s per 16x128^2 mbt2018-mean step on a 2-core Xeon with AMX)
    opt = torch.optim.Adam(groups, lr=lr, fused=device.type in ("cpu", "cuda"))
    step = 0
    ema_state = None
    balance_means = None
    if ckpt_path.exists():
        state = torch.load(ckpt_path, weights_only=True, map_location="cpu")
        model.load_state_dict(state["model"])
        opt.load_state_dict(reorder_optimizer_state(state, model, names, opt.state_dict()["param_groups"]))
        step = int(state["step"])
        ema_state = state.get("ema")
        balance_means = state.get("balance_means")
        print(f"resumed {ckpt_path} at step {step}" + (" with its weight average" if ema and ema_state else ""), flush=True)
    average = WeightAverage(model, ema, ema_state) if ema else None
    balancer = QualityBalance(means=balance_means, count=n_q) if balance else None
    for group in opt.param_groups:
        group["lr"] = lr * group.get("lr_mult", 1.0)
    rng = np.random.default_rng(seed + step)
    lambdas = torch.tensor(model_lambdas, device=device)
    log = open(out_dir / "log.jsonl", "a")
    acc = {"loss": 0.0, "n": 0, "bpp": np.zeros(n_q), "mse": np.zeros(n_q), "count": np.zeros(n_q)}
    t0 = time.time()
    model.train()
    stop = []  # SIGTERM/SIGINT: finish the step, checkpoint, return
    previous = {sig: signal.signal(sig, lambda *_: stop.append(1)) for sig in (signal.SIGTERM, signal.SIGINT)}
    while step < steps and not stop:
        x = sampler.batch(rng, batch_size, crop).to(device)
        # every quality equally often: a batch of 8 or 16 holds each once or twice; a smaller batch
        # takes the next qualities of the cycle at each step (batch 4: q1-4, then q5-8, ...)
        first = (step * batch_size) % qualities.size
        q = torch.from_numpy(rng.permutation(qualities[(first + np.arange(batch_size)) % qualities.size])).long()
        q = q.to(device)
        per_crop, bpp, mse, _ = objective(model, x, q, lambdas, autocast)
        loss = (per_crop * balancer.weights(q, per_crop)).mean() if balancer else per_crop.mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if clip:
            torch.nn.utils.clip_grad_norm_(trainable, clip)
        opt.step()
        if average is not None:
            average.update()
        step += 1
        acc["loss"] += loss.item()
        acc["n"] += 1
        qn = q.cpu().numpy()
        np.add.at(acc["bpp"], qn, bpp.detach().cpu().numpy())
        np.add.at(acc["mse"], qn, mse.detach().cpu().numpy())
        np.add.at(acc["count"], qn, 1)
        if step % log_every == 0:
            cnt = np.maximum(acc["count"], 1)
            rec = {"step": step, "loss": acc["loss"] / acc["n"], "sec_per_step": (time.time() - t0) / acc["n"],
                   "lr": lr, "crop": crop, "batch": batch_size, "rate_q": getattr(model, "rate_quantization", None),
                   "balance": bool(balancer),
                   "bpp": [round(v, 4) for v in (acc["bpp"] / cnt).tolist()]}
            if objective.metric in ("mse", "l1"):
                rec["psnr"] = [round(v, 2) for v in (10 * np.log10(1 / np.maximum(acc["mse"] / cnt, 1e-10))).tolist()]
            else:
                rec["objective"] = objective.name
                rec["distortion"] = [round(v, 5) for v in (acc["mse"] / cnt).tolist()]
            log.write(json.dumps(rec) + "\n")
            log.flush()
            print(json.dumps(rec), flush=True)
            acc = {k: (0.0 if k in ("loss",) else 0 if k == "n" else np.zeros(n_q)) for k in acc}
            t0 = time.time()
        if step % ckpt_every == 0 or step == steps or stop:
            tmp = out_dir / "ckpt.pt.tmp"
            ckpt = {"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step,
                    "config": json.dumps(model.config()), "param_names": names}
            if average is not None:
                ckpt.update(ema=average.state(model), ema_decay=average.decay)
            if balancer is not None:
                ckpt.update(balance_means=balancer.means)
            torch.save(ckpt if device.type == "cpu" else to_cpu(ckpt), tmp)
            tmp.replace(ckpt_path)
        if val_images and (step % val_every == 0 or step == steps):
            rec = {"step": step, "val": validate(model, val_images)}
            if average is not None:
                rec["val_ema"] = validate(averaged_copy(model, average.state(model)), val_images)
            log.write(json.dumps(rec) + "\n")
            log.flush()
            print(json.dumps(rec), flush=True)
    for sig, handler in previous.items():
        signal.signal(sig, handler)
    if stop:
        print(f"stopped by signal at step {step}, checkpoint written", flush=True)
    log.close()
    return model
