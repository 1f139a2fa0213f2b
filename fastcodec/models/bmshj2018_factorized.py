"""Factorized prior (Ballé, Minnen, Singh, Hwang, Johnston 2018, "bmshj2018-factorized"; the
GDN autoencoder of Ballé et al. 2017 with the non-parametric density of appendix 6.1): y coded with
a factorized density (fastcodec.latent.factorized)."""
import torch

from fastcodec.entropy.factorized import EntropyBottleneck
from fastcodec.latent.factorized import FactorizedLatent
from fastcodec.models.base import LearnedCodec
from fastcodec.models.transforms import analysis, synthesis


class FactorizedPrior(LearnedCodec):
    name = "bmshj2018-factorized"
    stride = 16

    def __init__(self, N=128, M=192, eb_filters=(3, 3, 3), density_per_quality=False, N_a=None):
        super().__init__(N, M)
        #: g_a's width; N (g_s's) unless the encoder was widened (fastcodec.train.widen_encoder): the
        #: decoder and the format do not depend on it
        self.N_a = int(N_a) if N_a is not None else N
        self.g_a = analysis(self.N_a, M)
        self.g_s = synthesis(N, M)
        #: one density of y per trained quality (channels q * M .. q * M + M - 1 of the bottleneck):
        #: the gain vectors scale y by ~9x from quality 1 to 8, and one density shared by all
        #: qualities costs, measured on mbt2018-mean's transforms, +55 % rate at q1 and +14 % at q8
        self.density_per_quality = bool(density_per_quality)
        copies = self.gains.log_gain.shape[0] if self.density_per_quality else 1
        self.entropy_bottleneck = EntropyBottleneck(M * copies, filters=eb_filters)
        self.latent_codec = FactorizedLatent(self, "entropy_bottleneck", set_channels=M)

    def config(self):
        cfg = super().config()
        if self.density_per_quality:
            cfg["density_per_quality"] = True
        if self.N_a != self.N:
            cfg["N_a"] = self.N_a
        return cfg

    def density_index(self, q):
        """The density set coding quality q (0-based; a fraction uses the nearest trained one)."""
        return self.latent_codec.density_set(q)

    def y_likelihood(self, y, q):
        """Likelihoods of y [B, M, H, W] (noisy or rounded), sample b under quality q[b]'s density."""
        return self.latent_codec.likelihood(y, q)

    def forward(self, x, q, autocast=False):
        # unlike the hyperprior models, the synthesis runs even while synthesis_in_training is False
        y = self.analysis_train(x, q, autocast)
        y_hat, likelihoods = self.latent_codec.forward(y, q, autocast)
        x_hat = self.synthesis_train(y_hat * self.gains.inv_gain(q), autocast, q)
        return {"x_hat": x_hat, "likelihoods": likelihoods}

    @torch.no_grad()
    def expand_density_per_quality(self):
        """A shared-density model -> the same model with that density copied for every quality
        (the starting point for fitting them apart: fastcodec.train.fit_density)."""
        if self.density_per_quality:
            return self
        copies = self.gains.log_gain.shape[0]
        eb = self.entropy_bottleneck
        new = EntropyBottleneck(self.M * copies, filters=eb.filters)
        for name, p in eb.named_parameters():
            getattr(new, name).copy_(p.repeat(copies, 1, 1))
        self.entropy_bottleneck = new.to(eb._matrix0.device)
        self.density_per_quality = True
        self.latent_codec.reset()   # the tables of the shared density
        return self
