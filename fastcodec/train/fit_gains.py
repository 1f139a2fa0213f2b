"""Fits a derived bmshj2018-factorized model's own per-quality gain vectors (the gain and the inverse
gain of fastcodec.layers.gains) together with its per-quality densities, on its own rate-distortion
loss lambda_q * 255^2 * MSE + bpp; the shared transforms (g_a, g_s, their FiLM) stay frozen.

Why: the factorized model reuses mbt2018-mean's transforms and gains. Those gains set each latent
channel's quantization step for a hyperprior that codes y cheaply where it is predictable; under a
factorized density the rate-distortion optimal steps are coarser at the low qualities. Measured in
on the held-out photos (set5/set14, coding path): the step sizes moved by up to 18 %
(mean, log scale) at quality 1 and under 2 % at qualities 7-8, and the curve gained 1.0-1.5 % BD-rate
(−2.6 % of rate at quality 2, −1.3 % at 5, ±0 at 7-8); on Kodak, at the export of 2026-11, −1.0 %. The gains cost 2 x 8 x M numbers in the
zoo; the transforms stay shared with the base model.

Cheap: g_a is frozen, so its output (before the gain) is computed once for a cache of random crops;
each step then runs only the gain, the density and g_s (forward and backward for the distortion).

    python -m fastcodec.train.fit_gains --init runs/factorized_fit.safetensors \\
        --data ../shared/data/train --out runs/factorized_gains.safetensors
"""
import argparse
import sys

import numpy as np
import torch

from fastcodec.layers.mixed import noisy, round_ste



def _rd_loss(model, x, q, raw, train, autocast):
    """Mean over the crops of lambda_q * 255^2 * MSE + bpp: noisy rate and straight-through rounded
    synthesis input when training (what joint training optimizes), the coded (rounded) values
    otherwise."""
    y = raw * model.gains.gain(q)
    y_rate = noisy(y) if train else torch.round(y)
    bpp = (-torch.log2(model.y_likelihood(y_rate, q))).sum(dim=(1, 2, 3)) / (x.shape[2] * x.shape[3])
    y_hat = round_ste(y) if train else torch.round(y)
    x_hat = model.synthesis_train(y_hat * model.gains.inv_gain(q), autocast, q)
    mse = ((x_hat - x) ** 2).mean(dim=(1, 2, 3))
    lam = torch.tensor(model.rate_spec.lambdas, dtype=mse.dtype)[q]
    return (lam * 255 ** 2 * mse + bpp).mean()


def fit_gains(model, sampler, batches=96, batch_size=16, crop=128, steps=1000, lr_gains=3e-3, lr_density=3e-3,
              seed=0, autocast=None, log=print):
    """Optimizes model.gains and model.entropy_bottleneck of a bmshj2018-factorized model on its RD
    loss over a cache of random crops (every quality equally often), everything else frozen; returns
    (loss before, loss after) of the coded (rounded) latents on the cache."""
    if not hasattr(model, "y_likelihood") or hasattr(model, "h_a"):
        raise ValueError("model: fit_gains fits a bmshj2018-factorized model (no hyperprior)")
    autocast = model._bf16() if autocast is None else bool(autocast)
    rng = np.random.default_rng(seed)
    cache = []
    model.eval()
    with torch.no_grad():
        for _ in range(batches):
            x = sampler.batch(rng, batch_size, crop)
            q = torch.from_numpy(rng.permutation(np.arange(batch_size) % len(model.rate_spec.lambdas))).long()
            raw = model.analysis_train(x, q, autocast=False) / model.gains.gain(q)  # g_a's output, frozen
            cache.append((x, q, raw.float()))

    def cache_loss():
        with torch.no_grad():
            return float(np.mean([_rd_loss(model, x, q, raw, False, autocast).item() for x, q, raw in cache]))

    before = cache_loss()
    trainable = {id(p) for p in (*model.gains.parameters(), *model.entropy_bottleneck.parameters())}
    frozen = [p for p in model.parameters() if id(p) not in trainable]
    flags = [p.requires_grad for p in frozen]
    for p in frozen:
        p.requires_grad_(False)
    opt = torch.optim.Adam([{"params": list(model.gains.parameters()), "lr": lr_gains},
                            {"params": list(model.entropy_bottleneck.parameters()), "lr": lr_density}])
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    model.train()
    try:
        running = 0.0
        for step in range(steps):
            x, q, raw = cache[step % len(cache)]
            loss = _rd_loss(model, x, q, raw, True, autocast)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            running += loss.item()
            if (step + 1) % 100 == 0:
                log(f"step {step + 1}: loss {running / 100:.4f} (noisy rate)")
                running = 0.0
    finally:
        model.eval()
        for p, f in zip(frozen, flags):
            p.requires_grad_(f)
        model.latent_codec.reset()   # the coding tables of the density before fitting
        model.__dict__.pop("_film_cache", None)
    return before, cache_loss()


def main(argv=None):

    from fastcodec.train.data import CropSampler, list_images
    from fastcodec.train.kodak import refuse_kodak
    from fastcodec.zoo import load_float_model, save_float_weights

    p = argparse.ArgumentParser(prog="python -m fastcodec.train.fit_gains", description=__doc__.split("\n\n")[0])
    p.add_argument("--init", required=True, help="bmshj2018-factorized weights (.safetensors or a zoo name)")
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True, help="where to write the weights with the fitted gains and densities")
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--batches", type=int, default=96, help="cached batches of 16 random 128^2 crops")
    p.add_argument("--lr-gains", type=float, default=3e-3)
    p.add_argument("--lr-density", type=float, default=3e-3)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--val-dirs", default="set5,set14", help="subfolders never used (validation)")
    a = p.parse_args(argv)
    refuse_kodak("--data", a.data)
    if a.threads:
        torch.set_num_threads(a.threads)
    model = load_float_model(a.init)
    arch = model.name
    if arch != "bmshj2018-factorized":
        raise SystemExit(f"{a.init} holds a {arch} model, not bmshj2018-factorized")
    paths = list_images(a.data, exclude_dirs=tuple(d for d in a.val_dirs.split(",") if d))
    before, after = fit_gains(model, CropSampler(paths), batches=a.batches, steps=a.steps, lr_gains=a.lr_gains,
                              lr_density=a.lr_density, log=lambda s: print(s, flush=True))
    print(f"RD loss of the coded latents on the cache: {before:.4f} -> {after:.4f}", flush=True)
    save_float_weights(model, a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
