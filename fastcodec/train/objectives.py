"""Training objectives, selected by name (`fastcodec train --objective NAME`; default: the one
matching the model's rate_spec.metric):

- "mse-rd": λ_q·255²·MSE + bpp (CompressAI's MSE λ per quality; the shipped models)
- "ms-ssim-rd": λ_q·(1 − MS-SSIM) + bpp (MS-SSIM on the [0, 1] reconstruction,
  fastcodec.eval.metrics.ms_ssim_batch; λ_q the model's, e.g. CompressAI's MS-SSIM λ 2.4 … 220)
- "recurrent-l1": the mean over the iterations of a progressive recurrent coder (toderici2017) of
  the L1 residual |x − x_hat_t| (Toderici et al. 2017); no rate term: every iteration adds a fixed
  number of bits. The loop's "bpp" is those raw bits, its distortion the final MSE.

An objective maps one forward pass to the per-crop loss and the terms the loop logs. A generative
objective (adversarial, with its discriminator) adds its own here and trains its discriminator in
its own step."""
import torch


def rate_bpp(out, pixels):
    """Per-crop bits per pixel of the likelihoods of a forward pass (zeros without likelihoods)."""
    if not out["likelihoods"]:
        return torch.zeros(out["x_hat"].shape[0], device=out["x_hat"].device)
    return sum((-torch.log2(lik)).sum(dim=(1, 2, 3)) for lik in out["likelihoods"].values()) / pixels


class Objective:
    name = ""
    #: the rate_spec.metric it optimizes
    metric = ""

    def distortion(self, x_hat, x):
        """Per-crop distortion D of reconstructions x_hat of x (both [B, 3, H, W] in [0, 1])."""
        raise NotImplementedError

    def weight(self, distortion):
        """The distortion term's scale in the loss (λ multiplies it)."""
        return distortion

    def __call__(self, model, x, q, lambdas, autocast):
        """(per-crop loss, per-crop bpp, per-crop distortion, forward output)."""
        out = model(x, q, autocast=autocast)
        bpp = rate_bpp(out, x.shape[2] * x.shape[3])
        if out["x_hat"] is None:  # synthesis frozen and skipped: rate-only training
            dist = torch.zeros(x.shape[0], device=x.device)
        else:
            dist = self.distortion(out["x_hat"], x)
        return lambdas[q] * self.weight(dist) + bpp, bpp, dist, out


class MseRD(Objective):
    name, metric = "mse-rd", "mse"

    def distortion(self, x_hat, x):
        return ((x_hat - x) ** 2).mean(dim=(1, 2, 3))

    def weight(self, distortion):
        return 255 ** 2 * distortion


class MsSsimRD(Objective):
    name, metric = "ms-ssim-rd", "ms-ssim"

    def distortion(self, x_hat, x):
        from fastcodec.eval.metrics import ms_ssim_batch

        return 1 - ms_ssim_batch(x_hat.float().clamp(0, 1), x.float(), 1.0)


class RecurrentL1(Objective):
    name, metric = "recurrent-l1", "l1"

    def __call__(self, model, x, q, lambdas, autocast):
        out = model(x, q, autocast=autocast)
        bits = len(out["reconstructions"]) * model.bits / 256      # bits per pixel, raw
        bpp = torch.full((x.shape[0],), float(bits), device=x.device)
        return out["l1"], bpp, ((out["x_hat"].detach() - x) ** 2).mean(dim=(1, 2, 3)), out


OBJECTIVES = {cls.name: cls for cls in (MseRD, MsSsimRD, RecurrentL1)}


def objective(name=None, model=None):
    """The objective `name`, or (None) the one for model.rate_spec.metric."""
    if name is None:
        metric = model.rate_spec.metric
        matches = [cls for cls in OBJECTIVES.values() if cls.metric == metric]
        if not matches:
            raise ValueError(f"no training objective for the metric {metric!r} of {model.name}")
        return matches[0]()
    if name not in OBJECTIVES:
        raise ValueError(f"objective must be one of {', '.join(sorted(OBJECTIVES))}, got {name!r}")
    return OBJECTIVES[name]()
