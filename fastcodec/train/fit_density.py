"""Fits a model's factorized density (its EntropyBottleneck) to the latents its frozen transforms
produce, fast: the latents of a few hundred random crops are computed once, then only the
density's parameters are optimized, at a learning rate the joint training cannot use.

Why: the density starts wide (CompressAI's init_scale 10) and Adam at the transforms' learning rate
(1e-4) moves its parameters ~1e-4 per step, so a density put under transforms it was not trained
with takes tens of thousands of joint steps to fit them — measured: bmshj2018-factorized on
mbt2018-mean's transforms stayed at ~3.2 bpp at every quality (81 % of the symbols zero at q1)
after 800 such steps. Fitted here first, joint training starts from the right rate.

    python -m fastcodec.train.fit_density --arch bmshj2018-factorized --init bmshj2018-factorized \\
        --data ../shared/data/train --out runs/factorized_init.safetensors
"""
import argparse
import sys

import numpy as np
import torch

from fastcodec.layers.mixed import noisy



@torch.no_grad()
def coded_latent(model, x, q):
    """The tensor the model's EntropyBottleneck codes: y for the factorized prior, z otherwise."""
    y = model.analysis_train(x, q, autocast=False)
    if hasattr(model, "h_a"):
        return model.hyper_analyze(y)
    return y


def fit_density(model, sampler, batches=48, batch_size=16, crop=128, steps=1500, lr=1e-2, seed=0, log=print):
    """Optimizes model.entropy_bottleneck alone on the rate of noisy latents of random crops
    (every quality equally often; per-quality densities each on their own quality's latents);
    returns (bpp before, bpp after) on those latents."""
    rng = np.random.default_rng(seed)
    latents, pixels = [], batch_size * crop * crop
    model.eval()
    for _ in range(batches):
        x = sampler.batch(rng, batch_size, crop)
        q = torch.from_numpy(rng.permutation(np.arange(batch_size) % len(model.rate_spec.lambdas))).long()
        latents.append((coded_latent(model, x, q).float(), q))
    eb = model.entropy_bottleneck
    params = list(eb.parameters())
    opt = torch.optim.Adam(params, lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    per_quality = not hasattr(model, "h_a") and hasattr(model, "y_likelihood")

    def rate(v, q):
        lik = model.y_likelihood(v, q) if per_quality else eb.likelihood(v)
        return (-torch.log2(lik)).sum() / pixels

    with torch.no_grad():
        before = float(np.mean([rate(torch.round(v), q).item() for v, q in latents]))
    for step in range(steps):
        v, q = latents[step % len(latents)]
        loss = rate(noisy(v), q)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if (step + 1) % 250 == 0:
            log(f"step {step + 1}: {loss.item():.4f} bpp (noisy)")
    with torch.no_grad():
        after = float(np.mean([rate(torch.round(v), q).item() for v, q in latents]))
    return before, after


def main(argv=None):

    from fastcodec.train.data import CropSampler, list_images
    from fastcodec.train.kodak import refuse_kodak
    from fastcodec.zoo import load_float_model, save_float_weights

    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--arch", required=True)
    p.add_argument("--init", required=True, help="weights to start from (.safetensors or a zoo name)")
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True, help="where to write the weights with the fitted density")
    p.add_argument("--steps", type=int, default=1500)
    p.add_argument("--lr", type=float, default=1e-2)
    p.add_argument("--val-dirs", default="set5,set14", help="subfolders never used (validation)")
    p.add_argument("--per-quality", action="store_true",
                   help="bmshj2018-factorized: copy a shared density to one per quality, then fit each")
    a = p.parse_args(argv)
    refuse_kodak("--data", a.data)
    model = load_float_model(a.init)
    if model.name != a.arch:
        raise SystemExit(f"{a.init} holds a {model.name} model, not {a.arch}")
    if a.per_quality:
        model.expand_density_per_quality()
    paths = list_images(a.data, exclude_dirs=tuple(d for d in a.val_dirs.split(",") if d))
    before, after = fit_density(model, CropSampler(paths), steps=a.steps, lr=a.lr,
                                log=lambda s: print(s, flush=True))
    print(f"rate of the rounded latents: {before:.4f} -> {after:.4f} bpp", flush=True)
    save_float_weights(model, a.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
