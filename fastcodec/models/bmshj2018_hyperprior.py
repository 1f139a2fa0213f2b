"""Scale hyperprior (Ballé et al. 2018, "bmshj2018-hyperprior"): a factorized-prior side latent z
predicts the scale of each latent element, coded with a zero-mean Gaussian conditional
(fastcodec.latent.hyperprior, scale-only)."""
from torch import nn

from fastcodec.entropy.factorized import EntropyBottleneck
from fastcodec.latent.hyperprior import HyperpriorLatent
from fastcodec.layers import conv, deconv
from fastcodec.models.base import LearnedCodec
from fastcodec.models.transforms import analysis, hyper_analysis, synthesis


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
        self.latent_codec = HyperpriorLatent(self, mean_scale=False)
