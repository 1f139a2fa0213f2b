"""Joint autoregressive and hierarchical priors (Minnen, Ballé, Toderici 2018, "mbt2018"): a 5x5
masked convolution (type A) over the already-decoded latents adds a causal context to the
mean-scale hyperprior. Coded in wavefronts by its latent codec (fastcodec.latent.autoregressive)."""
from fastcodec.latent.autoregressive import AutoregressiveLatent
from fastcodec.layers import MaskedConv2d
from fastcodec.models.context import ContextModelBase


class JointAutoregressiveHierarchicalPriors(ContextModelBase):
    name = "mbt2018"

    def __init__(self, N=128, M=192, eb_filters=(3, 3, 3)):
        super().__init__(N, M, MaskedConv2d(M, 2 * M, 5, "A"), eb_filters)
        self.latent_codec = AutoregressiveLatent(self, M)
