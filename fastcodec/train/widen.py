"""Widens the latent of a trained mean-scale model (M -> M' channels) so that it goes on training
from what it has learned instead of from scratch (the "wider transforms for the top qualities" of
docs/training.md: at q8 our reconstruction sits a few tenths of a dB under what the transform pair
reproduces with y not quantized at all, and every one of the 192 channels carries bits there).

What the widened model computes at the start: the same reconstruction and the same prior for the
old channels, exactly (new inputs of g_s, h_a and of h_s's hidden layers get zero weights). The new
latent channels come out of g_a with small random filters (`scale` times the spread of the old
filters), so at high qualities they are nonzero after rounding and g_s's zero weights on them get
gradients at once; the hidden units added to h_s have random incoming and zero outgoing weights.
Until training finds a use for them the new channels cost some bits: their prior is a constant
zero mean and a constant scale. Measured (docs/training.md): as initialized here the
new channels die — after 2,000 steps of a 192 -> 320 fork they coded 0 bits at every quality and
g_s's weights on them were 2.6e-4 of the old ones' norm (the rate term shrinks them before g_s
learns to use them); the tool stays as the starting point of a widening that survives that.

    python -m fastcodec.train.widen runs/mbt2018-mean/ckpt.pt --ema --M 320 --out wide.safetensors

then `fastcodec train --init wide.safetensors ...` (the config M=320 travels in the file); or, to go
on with the run itself (Adam state, weight average and step count widened alike):

    python -m fastcodec.train.widen ckpt.pt --checkpoint --M 320 --out runs/wide/ckpt.pt"""
import argparse
import json

import torch

#: starting value of the constant scale of the new channels (h_s output bias)
NEW_SCALE = 0.2


def _grow(t, shape):
    """t copied into the leading corner of a zero tensor of `shape`."""
    out = torch.zeros(shape, dtype=t.dtype)
    out[tuple(slice(0, n) for n in t.shape)] = t
    return out


def _random_like(w, shape, scale, gen):
    return torch.randn(shape, generator=gen, dtype=w.dtype) * (w.std() * scale)


def widen_state(state, M, new_m, scale=0.1, seed=0, new_scale=NEW_SCALE):
    """The state_dict of a mean-scale model (g_a, g_s, h_a, h_s, gains, entropy_bottleneck) with
    its latent widened from M to new_m channels; see the module docstring. Tensors not named here
    (the other layers, the z density) pass through unchanged; tensors of another state of the same
    shapes (Adam's moments) widen alike with scale=0 and new_scale=0 (new entries zero)."""
    if new_m <= M:
        raise ValueError(f"new_m must exceed M={M}, got {new_m}")
    gen = torch.Generator().manual_seed(seed)
    s = dict(state)
    k = new_m - M
    h_old, h_new = M * 3 // 2, new_m * 3 // 2

    # g_a's last layer (Conv2d N -> M: weight [M, N, 5, 5]): new output filters small and random
    w = s["g_a.6.weight"]
    s["g_a.6.weight"] = torch.cat([w, _random_like(w, (k, *w.shape[1:]), scale, gen)])
    s["g_a.6.bias"] = torch.cat([s["g_a.6.bias"], torch.zeros(k)])
    # per-quality gains: the new channels take each quality's mean log-gain
    for name in ("gains.log_gain", "gains.log_inv_gain"):
        g = s[name]
        s[name] = torch.cat([g, g.mean(1, keepdim=True).expand(-1, k)], 1)
    # g_s's first layer (ConvTranspose2d M -> N: weight [M, N, 5, 5]): zero weights on new inputs
    s["g_s.0.weight"] = _grow(s["g_s.0.weight"], (new_m, *s["g_s.0.weight"].shape[1:]))
    # h_a's first layer (Conv2d M -> N: weight [N, M, 3, 3]): zero weights on new inputs
    w = s["h_a.0.weight"]
    s["h_a.0.weight"] = _grow(w, (w.shape[0], new_m, *w.shape[2:]))
    # h_s hidden layers: new hidden units with random incoming and zero outgoing weights
    w = s["h_s.0.weight"]  # ConvTranspose2d N -> M: [N, M, 5, 5]
    s["h_s.0.weight"] = torch.cat([w, _random_like(w, (w.shape[0], k, *w.shape[2:]), 1.0, gen)], 1)
    s["h_s.0.bias"] = torch.cat([s["h_s.0.bias"], torch.zeros(k)])
    w = s["h_s.2.weight"]  # ConvTranspose2d M -> 3M/2: [M, 3M/2, 5, 5]
    grown = _grow(w, (new_m, h_new, *w.shape[2:]))
    grown[:M, h_old:] = _random_like(w, (M, h_new - h_old, *w.shape[2:]), 1.0, gen)
    s["h_s.2.weight"] = grown
    s["h_s.2.bias"] = torch.cat([s["h_s.2.bias"], torch.zeros(h_new - h_old)])
    # h_s's output (Conv2d 3M/2 -> 2M: [2M, 3M/2, 3, 3], scales then means): new rows zero, the
    # new scales a constant, the new means zero
    w, b = s["h_s.4.weight"], s["h_s.4.bias"]
    out = torch.zeros((2 * new_m, h_new, *w.shape[2:]), dtype=w.dtype)
    out[:M, :h_old] = w[:M]
    out[new_m:new_m + M, :h_old] = w[M:]
    bias = torch.zeros(2 * new_m, dtype=b.dtype)
    bias[:M], bias[M:new_m], bias[new_m:new_m + M] = b[:M], new_scale, b[M:]
    s["h_s.4.weight"], s["h_s.4.bias"] = out, bias
    return s


def widen_checkpoint(ckpt, new_m, scale=0.1, seed=0):
    """A training checkpoint (fastcodec.train.loop: weights, weight average, Adam state, step) of a
    mean-scale model with its latent widened: the weights and their average widen alike (the same
    new random filters), Adam's first moments of the new entries start at zero and its second moments
    at the mean of the tensor's old ones (zero would make the first steps of the new entries ~3x the
    learning rate). The step count is kept: resumed, it draws the same crops as the unwidened run
    resumed from the same checkpoint (the crop generator is seeded with the starting step), a paired
    comparison."""
    cfg = json.loads(ckpt["config"])
    M = cfg["M"]
    out = dict(ckpt, config=json.dumps(dict(cfg, M=new_m)))
    out["model"] = widen_state(ckpt["model"], M, new_m, scale, seed)
    if ckpt.get("ema") is not None:  # the average of the new entries starts at the new weights themselves
        ema = widen_state(ckpt["ema"], M, new_m, scale, seed)
        old = widen_state({k: torch.ones_like(v) for k, v in ckpt["ema"].items()}, M, new_m, 0.0, seed, 0.0)
        out["ema"] = {k: torch.where(old[k] > 0, v, out["model"][k]) if v.is_floating_point() else v
                      for k, v in ema.items()}
    names = ckpt["param_names"]
    opt = ckpt["optimizer"]
    moments = {k: {n: opt["state"][i][k] for i, n in enumerate(names) if i in opt["state"]}
               for k in ("exp_avg", "exp_avg_sq")}
    ones = widen_state({n: torch.ones_like(v) for n, v in moments["exp_avg"].items()}, M, new_m, 0.0, seed, 0.0)
    wide = {k: widen_state(v, M, new_m, 0.0, seed, 0.0) for k, v in moments.items()}
    state = {}
    for i, n in enumerate(names):
        if i not in opt["state"]:
            continue
        entry = dict(opt["state"][i], exp_avg=wide["exp_avg"][n])
        sq = wide["exp_avg_sq"][n]
        entry["exp_avg_sq"] = torch.where(ones[n] > 0, sq, moments["exp_avg_sq"][n].mean())
        state[i] = entry
    out["optimizer"] = {"state": state, "param_groups": opt["param_groups"]}
    return out


def widen(model, new_m, scale=0.1, seed=0):
    """A new model of the same architecture with new_m latent channels; see widen_state."""
    from fastcodec.models import build

    if model.name != "mbt2018-mean":
        raise ValueError(f"widen supports mbt2018-mean (the shared base), got {model.name!r}")
    cfg = dict(model.config(), M=new_m)
    wide = build(model.name, **cfg)
    wide.load_state_dict(widen_state(model.state_dict(), model.M, new_m, scale, seed))
    return wide


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m fastcodec.train.widen", description=__doc__.split("\n\n")[0])
    p.add_argument("source", help="a training checkpoint (ckpt.pt), a .safetensors file or a zoo name")
    p.add_argument("--checkpoint", action="store_true",
                   help="write a whole widened training checkpoint (ckpt.pt: weights, average, Adam state, step) "
                        "to resume with `fastcodec train --out <its folder>`")
    p.add_argument("--ema", action="store_true", help="widen the checkpoint's weight average")
    p.add_argument("--M", type=int, required=True, help="the new number of latent channels")
    p.add_argument("--scale", type=float, default=0.1, help="new g_a filters: this times the old filters' spread")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True, help="float32 .safetensors to start `fastcodec train --init` from")
    a = p.parse_args(argv)
    from fastcodec.train.valcurve import load_source

    if a.checkpoint:
        ckpt = widen_checkpoint(torch.load(a.source, weights_only=True, map_location="cpu"), a.M, a.scale, a.seed)
        torch.save(ckpt, a.out)
        print(f"{a.out}: widened checkpoint, M={a.M}, step {ckpt['step']}")
        return

    wide = widen(load_source(a.source, a.ema), a.M, a.scale, a.seed)
    from fastcodec.zoo import save_float_weights

    state = save_float_weights(wide, a.out)
    print(f"{a.out}: {wide.name} M={a.M}, {sum(v.numel() for v in state.values()):,} parameters")


if __name__ == "__main__":
    main()
