"""GDN and inverse GDN (generalized divisive normalization, Ballé et al. 2016) as torch modules,
with the non-negative reparameterization of beta and gamma used in the papers. Parameter names
(beta, gamma) follow CompressAI so its state_dicts load."""
import torch
from torch import nn

from fastcodec.functional.gdn import gdn
from fastcodec.layers.bounds import NonNegative


class GDN(nn.Module):
    def __init__(self, channels, inverse=False, simplified=False, beta_min=1e-6, gamma_init=0.1):
        super().__init__()
        self.inverse = inverse
        self.simplified = simplified
        self.beta_reparam = NonNegative(beta_min)
        self.gamma_reparam = NonNegative(0.0)
        self.beta = nn.Parameter(self.beta_reparam.init(torch.ones(channels)))
        self.gamma = nn.Parameter(self.gamma_reparam.init(gamma_init * torch.eye(channels)))

    def effective_params(self):
        """(beta, gamma) after the reparameterization: beta > 0, gamma >= 0."""
        return self.beta_reparam(self.beta), self.gamma_reparam(self.gamma)

    def forward(self, x):
        beta, gamma = self.effective_params()
        return gdn(x, beta, gamma, inverse=self.inverse, simplified=self.simplified)

    def extra_repr(self):
        return f"{self.beta.numel()}, inverse={self.inverse}, simplified={self.simplified}"
