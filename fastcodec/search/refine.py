"""Encoder-side latent refinement: stochastic Gumbel annealing (Yang, Bamler & Mandt 2020,
"Improving Inference for Neural Image Compression").

g_a is an amortized guess of the latents that minimize the rate-distortion loss of one image; the
encoder may search further. Starting from g_a's y (and h_a's z), refine_latents() descends the
model's own loss λ·255²·MSE + bpp with respect to the latents themselves, rounding replaced by a
stochastic relaxation whose temperature anneals towards rounding. The decoder, the entropy model and
the bitstream format do not change: a refined stream decodes with any fastcodec. Each step costs
about one synthesis forward and backward pass, so 100 steps make encoding some hundred times
slower. Both the refined and the unrefined latents are then coded, decoded and scored on what a user
gets (the 8-bit image and the real bytes, coded_loss), and the better streams are kept, so a refined
encode is never worse than the plain one by that measure, for every architecture."""
import math
import numbers

import torch


#: Adam's step size on the latents (units of the quantization step) up to quality 4; above, it grows
#: with lambda to LR_TOP at quality 8. Measured on the validation photos (benchmarks/refine_lr_sweep.py,
#: docs/refine.md "Step size": bmshj2018-hyperprior, 100 steps, the coded loss of real bytes,
#: 2026-12-07): q1 -2.56 / -2.61 / -1.23 % at 0.005 / 0.01 / 0.02; q8 -5.93 / -6.97 / -7.60 / -7.94 %
#: at 0.01 / 0.02 / 0.04 / 0.08. 0.04 at q8 is not taken: with it tests/test_refine.py's 20 steps at q8
#: no longer gain on its crop for any model, and 4 photos are too few to outweigh that.
LR_LOW, LR_TOP = 0.01, 0.02
#: temperature schedule: TAU_START * exp(-TAU_DECAY * t / steps), floored at TAU_MIN
TAU_START, TAU_DECAY, TAU_MIN = 0.5, 4.0, 0.02
#: share of the steps that move z with y (the rest move y alone under the coder's prior)
JOINT_FRACTION = 0.6
_EPS = 1e-5


def lambda_of(model, q):
    """λ of the model's rate spec at 0-based quality q (the index its compress takes)."""
    spec = model.rate_spec
    return spec.lambda_of(spec.low + float(q))


def check_steps(refine):
    """The number of refinement steps as an int >= 0 (numpy integers too); ValueError naming refine."""
    if isinstance(refine, bool) or not isinstance(refine, numbers.Integral) or refine < 0:
        raise ValueError(f"refine must be a non-negative int (steps), got {refine!r}")
    return int(refine)


def sga_round(v, tau, generator=None):
    """A stochastic, differentiable relaxation of round(v): a soft choice between floor(v) and
    floor(v) + 1 drawn by Gumbel-softmax at temperature tau, with logits -atanh(distance) / tau so
    that the nearer integer is likelier. As tau -> 0 it becomes round(v)."""
    lo = torch.floor(v)
    frac = v - lo
    logits = torch.stack([-torch.atanh(frac.clamp(_EPS - 1, 1 - _EPS)),
                          -torch.atanh((1 - frac).clamp(_EPS - 1, 1 - _EPS))], -1) / tau
    u = torch.rand(logits.shape, generator=generator, device=v.device, dtype=logits.dtype)
    gumbel = -torch.log(-torch.log(u.clamp_min(1e-10)))
    up = torch.softmax((logits + gumbel) / tau, -1)[..., 1]
    return lo + up


def rd_loss(model, x, q, y, z, quantize, size, autocast, hyper=None):
    """(λ·255²·MSE + bpp, quantized y) of latents (y, z) under `quantize`, over the image's own
    size = (h, w) pixels (the padding is not part of the image); hyper: see relaxed_rd."""
    h, w = size
    x_hat, bits, y_t = model.relaxed_rd(y, z, q, quantize, autocast, hyper)
    mse = torch.mean((x_hat[:, :, :h, :w] - x[:, :, :h, :w]) ** 2)
    return lambda_of(model, q) * 255.0 ** 2 * mse + bits / (h * w), y_t


def coder_prior(model, z):
    """h_s's output for round(z) as the coder computes it (the frozen integer h_s of shipped weights;
    it differs from the float h_s by up to a few tenths in some means), None without a z."""
    if z is None:
        return None
    with torch.inference_mode():
        return model.prior(torch.round(z)).clone()


def default_lr(model, q, low=LR_LOW, top=LR_TOP):
    """Adam's step size for 0-based quality q: `low` up to the middle quality (4 of 8), then growing
    as a power of lambda to `top` at the top quality (benchmarks/refine_lr_sweep.py passes other ends)."""
    n = len(model.rate_spec.lambdas)
    lam_mid, lam_top = lambda_of(model, n // 2 - 1), lambda_of(model, n - 1)
    lam = max(lambda_of(model, q), lam_mid)
    return low * (top / low) ** (math.log(lam / lam_mid) / math.log(lam_top / lam_mid))


def refine_latents(model, x, q, y, z, steps, lr=None, size=None, seed=0):
    """Refined latents (y, z) of the padded image x [1, 3, H, W] at quality q (a tensor as the
    model's methods take it), from the encoder's own (y, z; z None without a hyperprior), after
    `steps` Adam steps (lr None: default_lr(q)): the first JOINT_FRACTION of them move y and z
    together through the float h_s, the rest move y alone under the coder's own prior for round(z) (so the search cannot
    exploit where the float and integer priors differ). Deterministic for a given seed on one
    machine. The model's weights are not touched (gradients are taken for the latents only), so
    models may be shared across threads. No guard here: encode_refined codes both these and
    the unrefined latents and keeps the streams with the smaller coded_loss."""
    size = tuple(size) if size is not None else tuple(x.shape[2:])
    autocast = model._bf16()
    generator = torch.Generator(device=x.device)
    generator.manual_seed(seed)
    y_var = y.detach().float().clone().requires_grad_(True)
    z_var = None if z is None else z.detach().float().clone()
    joint = 0 if z is None else int(round(steps * JOINT_FRACTION))
    lr = default_lr(model, float(q.reshape(-1)[0])) if lr is None else lr
    opt = torch.optim.Adam([y_var] if z is None else [y_var, z_var.requires_grad_(True)], lr=lr)
    hyper = None
    with torch.enable_grad():
        for t in range(steps):
            if t == joint and z_var is not None:
                z_var = z_var.detach()
                hyper = coder_prior(model, z_var)
            tau = max(TAU_START * math.exp(-TAU_DECAY * t / steps), TAU_MIN)
            loss, _ = rd_loss(model, x, q, y_var, z_var, lambda v: sga_round(v, tau, generator), size, autocast, hyper)
            variables = [y_var] if hyper is not None or z_var is None else [y_var, z_var]
            for p, g in zip(variables, torch.autograd.grad(loss, variables)):
                p.grad = g
            opt.step()
            for p in variables:
                p.grad = None
    return y_var.detach(), (None if z_var is None else torch.round(z_var.detach()))


def coded_loss(model, x, q, strings, latent):
    """λ·255²·MSE + bpp of coded streams as a user gets them: the 8-bit image the decoder
    reconstructs against x [1, 3, h, w] (the unpadded input) and the bytes of the streams; q as
    compress takes it (a 0-based int, or a float to interpolate)."""
    h, w = x.shape[2:]
    with torch.inference_mode():
        x_hat = model.decompress(strings, latent, (h, w), q)
        x_hat = torch.round(x_hat * 255.0) / 255.0
        mse = torch.mean((x_hat - x.to(x_hat)) ** 2).item()
    bits = 8 * sum(len(s) for s in strings)
    return lambda_of(model, q) * 255.0 ** 2 * mse + bits / (h * w)


def better_streams(model, x, q, plain, refined, latent):
    """The refined streams if their coded_loss is strictly smaller than the plain ones', else the
    plain streams: the guard that makes refinement never worse than the plain encoder."""
    return refined if coded_loss(model, x, q, refined, latent) < coded_loss(model, x, q, plain, latent) else plain


def encode_refined(model, x, q, steps):
    """compress(x, q) of a model with latent search (Capabilities.latent_search), its latents refined
    for `steps` steps: both the refined and the plain latents are coded, decoded and scored
    (coded_loss), and the better streams kept. Returns compress()'s dict."""
    steps = check_steps(steps)
    if not steps:
        return model.compress(x, q)
    h, w = x.shape[2:]
    xp, qt, latent = model.prepare(x, q)
    with torch.inference_mode():
        y, z = model.encode_latents(xp, qt)
        plain = model.code_latents(y, z, qt)
    # the padding is not part of the image: only the original pixels count as distortion
    y, z = refine_latents(model, xp, qt, y.clone(), None if z is None else z.clone(), steps, size=(h, w))
    with torch.inference_mode():
        refined = model.code_latents(y, z, qt)
    strings = better_streams(model, xp[:, :, :h, :w], q, plain, refined, latent)
    return {"strings": strings, "latent": latent, "size": (h, w)}
