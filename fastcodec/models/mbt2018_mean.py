"""Mean-scale hyperprior (Minnen, Ballé, Toderici 2018 without the context model,
"mbt2018-mean"): the hyperprior predicts a mean and a scale per latent element."""
import torch

from fastcodec.entropy.coders import GaussianCoder
from fastcodec.entropy.factorized import EntropyBottleneck
from fastcodec.entropy.gaussian import gaussian_likelihood
from fastcodec.models.base import LearnedCodec
from fastcodec.models.transforms import (analysis, hyper_analysis, mean_scale_hyper_synthesis, rate_input, round_ste,
                                         run_mixed, synthesis)


class MeanScaleHyperprior(LearnedCodec):
    name = "mbt2018-mean"

    def __init__(self, N=128, M=192, eb_filters=(3, 3, 3)):
        super().__init__(N, M)
        self.g_a = analysis(N, M)
        self.g_s = synthesis(N, M)
        self.h_a = hyper_analysis(N, M)
        self.h_s = mean_scale_hyper_synthesis(N, M)
        self.entropy_bottleneck = EntropyBottleneck(N, filters=eb_filters)

    def forward(self, x, q, autocast=False):
        """Noise for the rate, straight-through rounding around the predicted mean for the synthesis
        ("mixed" quantization, Minnen & Singh 2020). q: LongTensor [B] of 0-based qualities.
        Returns x_hat and the float32 likelihoods."""
        y, z_lik, params = self._forward_hyper(x, q, autocast)
        scales, means = params.chunk(2, 1)
        return self._forward_output(y, scales, means, z_lik, q, autocast)

    def _forward_hyper(self, x, q, autocast):
        """(y, likelihoods of z, h_s output) of a training/evaluation pass."""
        y = self.analysis_train(x, q, autocast)
        z = run_mixed(self.h_a, y, autocast)
        z_t = rate_input(self, z)
        return y, self.entropy_bottleneck.likelihood(z_t), run_mixed(self.h_s, z_t, autocast)

    def _forward_output(self, y, scales, means, z_lik, q, autocast):
        """Likelihoods of y under N(means, scales) and the reconstruction from y rounded around the means."""
        y_rate = rate_input(self, y, means)
        y_lik = gaussian_likelihood(y_rate, scales, means)
        y_hat = round_ste(y - means) + means
        x_hat = self.synthesis_train(y_hat * self.gains.inv_gain(q), autocast, q) if self.synthesis_in_training else None
        return {"x_hat": x_hat, "likelihoods": {"y": y_lik, "z": z_lik}}

    def relaxed_rd(self, y, z, q, quantize, autocast=False, hyper=None):
        """(x_hat, bits, y_t) of latents y, z with `quantize` (rounding or a differentiable relaxation
        of it) in place of rounding, y_t the quantized y as the synthesis gets it: the objective of
        encoder-side refinement (fastcodec.models.refine). hyper: h_s's output for round(z), given
        (the coder's own, fastcodec.models.base.LearnedCodec.prior) when z is no longer refined."""
        z_t, params = self._relaxed_hyper(z, quantize, autocast, hyper)
        scales, means = params.chunk(2, 1)
        return self._relaxed_output(quantize(y - means) + means, scales, means, z_t, q, autocast)

    def _relaxed_output(self, y_t, scales, means, z_t, q, autocast):
        bits = -(torch.log2(gaussian_likelihood(y_t, scales, means)).sum()
                 + torch.log2(self.entropy_bottleneck.likelihood(z_t)).sum())
        return self.synthesis_train(y_t * self.gains.inv_gain(q), autocast, q), bits, y_t

    def _compress(self, y, z, q):
        z_string = self.factorized_coder().encode(z)
        scales, means = self.prior(torch.round(z)).chunk(2, 1)
        return [z_string, GaussianCoder.encode(y, scales, means)]

    def _decompress(self, strings, latent, q):
        z_hat = self.factorized_coder().decode(strings[0], (1, self.N, latent[0] // 4, latent[1] // 4), self.device)
        scales, means = self.prior(z_hat).chunk(2, 1)
        y_hat = GaussianCoder.decode(strings[1], scales, means)
        return self.synthesize(y_hat, q)
