"""Factorized prior (Ballé, Minnen, Singh, Hwang, Johnston 2018, "bmshj2018-factorized"; the
GDN autoencoder of Ballé et al. 2017 with the non-parametric density of appendix 6.1)."""
import torch

from fastcodec.entropy.factorized import EntropyBottleneck
from fastcodec.models.base import LearnedCodec
from fastcodec.models.transforms import analysis, noisy, round_ste, run_autocast, run_mixed, synthesis


class FactorizedPrior(LearnedCodec):
    name = "bmshj2018-factorized"
    stride = 16
    num_streams = 1

    def __init__(self, N=128, M=192, eb_filters=(3, 3, 3)):
        super().__init__(N, M)
        self.g_a = analysis(N, M)
        self.g_s = synthesis(N, M)
        self.entropy_bottleneck = EntropyBottleneck(M, filters=eb_filters)

    def forward(self, x, q, autocast=False):
        y = run_mixed(self.g_a, x, autocast) * self.gains.gain(q)
        y_rate = noisy(y) if self.training else torch.round(y)
        y_lik = self.entropy_bottleneck.likelihood(y_rate)
        x_hat = run_autocast(self.g_s, round_ste(y) * self.gains.inv_gain(q), autocast)
        return {"x_hat": x_hat, "likelihoods": {"y": y_lik}}

    def _compress(self, x, q):
        y = self.analyze(x, q)
        return [self.factorized_coder().encode(y)]

    def _decompress(self, strings, latent, q):
        y_hat = self.factorized_coder().decode(strings[0], (1, self.M) + latent, self.device)
        return self.synthesize(y_hat, q)
