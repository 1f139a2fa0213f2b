"""Shared parts of the context models (Minnen et al. 2018; He et al. 2021): the mean-scale
hyperprior plus a context prediction from already-decoded latents, merged by the
entropy-parameter network (1x1 convolutions)."""
import numpy as np
import torch
from torch import nn

from fastcodec.models.mbt2018_mean import MeanScaleHyperprior


def entropy_parameters(m):
    return nn.Sequential(nn.Conv2d(m * 12 // 3, m * 10 // 3, 1), nn.LeakyReLU(inplace=True),
                         nn.Conv2d(m * 10 // 3, m * 8 // 3, 1), nn.LeakyReLU(inplace=True),
                         nn.Conv2d(m * 8 // 3, m * 6 // 3, 1))


class ContextModelBase(MeanScaleHyperprior):
    """The mean-scale hyperprior (same transforms and tensor names) plus a context prediction and
    the entropy-parameter network that merges it with the hyperprior's output."""

    def __init__(self, N, M, context_prediction, eb_filters=(3, 3, 3)):
        super().__init__(N, M, eb_filters)
        self.context_prediction = context_prediction
        self.entropy_parameters = entropy_parameters(M)

    def _hyper(self, x, q):
        """Encoder side: (y, z string, hyper params from the rounded z)."""
        y = self.analyze(x, q)
        z = self.h_a(y)
        z_string = self.factorized_coder().encode(z)
        return y, z_string, self.prior(torch.round(z))

    def _hyper_decode(self, z_string, latent):
        z_hat = self.factorized_coder().decode(z_string, (1, self.N, latent[0] // 4, latent[1] // 4), self.device)
        return self.prior(z_hat)


def gather(t, mask):
    """Elements of t [1, C, H, W] at mask [H, W] positions as a C-contiguous [C, n] tensor."""
    return t[0][:, mask].contiguous()


def as_int32(t):
    return np.ascontiguousarray(t.to(torch.int32).cpu().numpy())
