"""Mean-scale hyperprior (Minnen, Ballé, Toderici 2018 without the context model,
"mbt2018-mean"): the hyperprior predicts a mean and a scale per latent element
(fastcodec.latent.hyperprior, mean-scale)."""
from fastcodec.entropy.factorized import EntropyBottleneck
from fastcodec.latent.hyperprior import HyperpriorLatent
from fastcodec.models.base import LearnedCodec
from fastcodec.models.transforms import analysis, hyper_analysis, mean_scale_hyper_synthesis, synthesis


class MeanScaleHyperprior(LearnedCodec):
    name = "mbt2018-mean"

    def __init__(self, N=128, M=192, eb_filters=(3, 3, 3)):
        super().__init__(N, M)
        self.g_a = analysis(N, M)
        self.g_s = synthesis(N, M)
        self.h_a = hyper_analysis(N, M)
        self.h_s = mean_scale_hyper_synthesis(N, M)
        self.entropy_bottleneck = EntropyBottleneck(N, filters=eb_filters)
        self.latent_codec = HyperpriorLatent(self, mean_scale=True)
