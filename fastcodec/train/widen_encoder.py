"""Widens the encoder (g_a's hidden layers, N -> N_a channels) of a trained bmshj2018-factorized model
so that it goes on training from what it has learned. The decoder, the latent and the format stay.

Why: encoder-side refinement (docs/refine.md) finds latents that this model's own g_s decodes with
5.5 % less BD-rate on Kodak (+0.5 dB at q8, BENCHMARKS.md): the gap is the encoder's
(amortization), widest at the top qualities, and g_a is ours alone (g_s is shared with mbt2018-mean).
CompressAI's factorized models for q6-q8 are N = 192.

What the widened model computes at the start: exactly the old y (every new hidden unit has zero
weights into the next layer, and the old units' GDN ignores the new ones: their gamma entries are 0);
the new units get random incoming filters (the convolutions' own initialization times `scale`), their
own GDN parameters as a fresh GDN has them, and identity FiLM values (log-scale and shift 0).

    python -m fastcodec.train.widen_encoder bmshj2018-factorized --N-a 192 --out wide.safetensors

then `fastcodec train --arch bmshj2018-factorized --init wide.safetensors --freeze g_s --trainable film. ...`
(the config, N_a included, travels in the file)."""
import argparse

import torch

from fastcodec.models import build
from fastcodec.layers.film import gdn_positions


def widen_encoder(model, n_a, scale=0.5, seed=0):
    """A new bmshj2018-factorized model with g_a's hidden width n_a (> model.N_a) computing the same
    y as `model` at every quality; see the module docstring."""
    if model.name != "bmshj2018-factorized":
        raise ValueError(f"widen_encoder widens bmshj2018-factorized models, not {model.name}")
    old_n = model.N_a
    if n_a <= old_n:
        raise ValueError(f"n_a must exceed the encoder's width {old_n}, got {n_a}")
    cfg = dict(model.config(), N_a=int(n_a))
    film = cfg.pop("film", False)
    with torch.random.fork_rng():  # the new filters from `seed`, the caller's generator untouched
        torch.manual_seed(seed)
        wide = build(model.name, film=film, **cfg)
    old, new = model.state_dict(), wide.state_dict()
    out = {}
    for key, t in new.items():
        if not key.startswith("g_a.") and not key.startswith("film."):
            out[key] = old[key].clone()
    convs = [i for i, m in enumerate(wide.g_a) if isinstance(m, torch.nn.Conv2d)]
    for i in convs:
        w_new, w_old = new[f"g_a.{i}.weight"].clone(), old[f"g_a.{i}.weight"]
        w_new[w_old.shape[0]:] *= scale                       # new output filters: small, random
        w_new[:, w_old.shape[1]:] = 0                         # nothing from the new inputs
        w_new[:w_old.shape[0], :w_old.shape[1]] = w_old
        b_new = torch.zeros_like(new[f"g_a.{i}.bias"])
        b_new[:w_old.shape[0]] = old[f"g_a.{i}.bias"]
        out[f"g_a.{i}.weight"], out[f"g_a.{i}.bias"] = w_new, b_new
    for i in gdn_positions(wide.g_a):
        beta, gamma = new[f"g_a.{i}.beta"].clone(), new[f"g_a.{i}.gamma"].clone()
        beta[:old_n] = old[f"g_a.{i}.beta"]
        gamma[:old_n, :old_n] = old[f"g_a.{i}.gamma"]       # the fresh GDN's off-diagonal entries are 0
        out[f"g_a.{i}.beta"], out[f"g_a.{i}.gamma"] = beta, gamma
    if film:
        sites_a = len(gdn_positions(wide.g_a))
        for name in ("log_scale", "shift"):
            o, n = old[f"film.{name}"], torch.zeros_like(new[f"film.{name}"])
            for site in range(len(wide.film.channels)):
                a_old, a_new = model.film.offsets[site], wide.film.offsets[site]
                c = model.film.channels[site] if site < sites_a else wide.film.channels[site]
                n[:, a_new:a_new + c] = o[:, a_old:a_old + c]
            out[f"film.{name}"] = n
    missing = set(new) - set(out)
    if missing:
        raise RuntimeError(f"widen_encoder left tensors unset: {sorted(missing)}")
    wide.load_state_dict(out)
    return wide


def main(argv=None):
    from fastcodec.zoo import load_float_model, save_float_weights

    p = argparse.ArgumentParser(prog="python -m fastcodec.train.widen_encoder")
    p.add_argument("source", help="a zoo name or .safetensors file of a bmshj2018-factorized model")
    p.add_argument("--N-a", dest="n_a", type=int, required=True, help="the encoder's new hidden width")
    p.add_argument("--scale", type=float, default=0.5, help="the new filters' size relative to a fresh layer's")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", required=True)
    a = p.parse_args(argv)
    wide = widen_encoder(load_float_model(a.source), a.n_a, a.scale, a.seed)
    save_float_weights(wide, a.out)
    print(f"{a.source}: g_a {wide.N} -> {wide.N_a} hidden channels, written to {a.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
