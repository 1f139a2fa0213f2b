"""Scale hyperprior (Ballé et al. 2018, "bmshj2018-hyperprior"): a factorized-prior side latent z
predicts the scale of each latent element, coded with a zero-mean Gaussian conditional."""
import torch
from torch import nn

from fastcodec.entropy.coders import GaussianCoder
from fastcodec.entropy.factorized import EntropyBottleneck
from fastcodec.entropy.gaussian import gaussian_likelihood
from fastcodec.layers import conv, deconv
from fastcodec.models.base import LearnedCodec
from fastcodec.models.transforms import (analysis, hyper_analysis, rate_input, round_ste, run_mixed,
                                         synthesis)


class ScaleHyperprior(LearnedCodec):
    name = "bmshj2018-hyperprior"

    def __init__(self, N=128, M=192, eb_filters=(3, 3, 3)):
        super().__init__(N, M)
        self.g_a = analysis(N, M)
        self.g_s = synthesis(N, M)
        self.h_a = hyper_analysis(N, M, act=nn.ReLU)
        self.h_s = nn.Sequential(deconv(N, N), nn.ReLU(inplace=True), deconv(N, N), nn.ReLU(inplace=True),
                                 conv(N, M, 3, 1), nn.ReLU(inplace=True))
        self.entropy_bottleneck = EntropyBottleneck(N, filters=eb_filters)

    def forward(self, x, q, autocast=False):
        y = self.analysis_train(x, q, autocast)
        z = run_mixed(self.h_a, torch.abs(y), autocast)
        z_t = rate_input(self, z)
        z_lik = self.entropy_bottleneck.likelihood(z_t)
        scales = run_mixed(self.h_s, z_t, autocast, tail=2)
        y_lik = gaussian_likelihood(rate_input(self, y), scales)
        x_hat = (self.synthesis_train(round_ste(y) * self.gains.inv_gain(q), autocast, q)
                 if self.synthesis_in_training else None)
        return {"x_hat": x_hat, "likelihoods": {"y": y_lik, "z": z_lik}}

    def hyper_analyze(self, y):
        return super().hyper_analyze(torch.abs(y))

    def relaxed_rd(self, y, z, q, quantize, autocast=False, hyper=None):
        """(x_hat, bits, y_t) with `quantize` in place of rounding (fastcodec.models.refine)."""
        z_t, scales = self._relaxed_hyper(z, quantize, autocast, hyper, tail=2)
        y_t = quantize(y)
        bits = -(torch.log2(gaussian_likelihood(y_t, scales)).sum()
                 + torch.log2(self.entropy_bottleneck.likelihood(z_t)).sum())
        return self.synthesis_train(y_t * self.gains.inv_gain(q), autocast, q), bits, y_t

    def _compress(self, y, z, q):
        z_string = self.factorized_coder().encode(z)
        scales = self.prior(torch.round(z))
        return [z_string, GaussianCoder.encode(y, scales)]

    def _decompress(self, strings, latent, q):
        z_hat = self.factorized_coder().decode(strings[0], (1, self.N, latent[0] // 4, latent[1] // 4), self.device)
        scales = self.prior(z_hat)
        y_hat = GaussianCoder.decode(strings[1], scales)
        return self.synthesize(y_hat, q)
