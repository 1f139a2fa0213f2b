"""GDN and inverse GDN (generalized divisive normalization, Ballé et al. 2016) as torch modules,
with the non-negative reparameterization of beta and gamma used in the papers. Parameter names
(beta, gamma) follow CompressAI so its state_dicts load.

backend: "auto" runs the fused Triton kernel (fastcodec.kernels.gdn) on CUDA tensors when Triton is
installed and the plain-torch reference (fastcodec.functional.gdn) otherwise; "torch" and "triton"
force one (tests run "triton" on the CPU under TRITON_INTERPRET=1)."""
import importlib.util

import torch
from torch import nn

from fastcodec.functional.gdn import gdn
from fastcodec.functional.bounds import NonNegative


class GDN(nn.Module):
    def __init__(self, channels, inverse=False, simplified=False, beta_min=1e-6, gamma_init=0.1, backend="auto"):
        super().__init__()
        if backend not in ("auto", "torch", "triton"):
            raise ValueError(f"backend must be 'auto', 'torch' or 'triton', got {backend!r}")
        self.backend = backend
        self.inverse = inverse
        self.simplified = simplified
        self.beta_reparam = NonNegative(beta_min)
        self.gamma_reparam = NonNegative(0.0)
        self.beta = nn.Parameter(self.beta_reparam.init(torch.ones(channels)))
        self.gamma = nn.Parameter(self.gamma_reparam.init(gamma_init * torch.eye(channels)))

    def effective_params(self):
        """(beta, gamma) after the reparameterization: beta > 0, gamma >= 0."""
        return self.beta_reparam(self.beta), self.gamma_reparam(self.gamma)

    def _use_kernel(self, x):
        if self.backend == "auto":
            return x.is_cuda and triton_available()
        return self.backend == "triton"

    def forward(self, x):
        beta, gamma = self.effective_params()
        if self._use_kernel(x):
            from fastcodec.kernels.gdn import gdn as fused_gdn

            return fused_gdn(x, beta, gamma, inverse=self.inverse, simplified=self.simplified)
        if _compiled_gdn is not None and torch.is_grad_enabled() and not x.is_cuda:
            return _compiled_gdn(x, beta, gamma, inverse=self.inverse, simplified=self.simplified)
        return gdn(x, beta, gamma, inverse=self.inverse, simplified=self.simplified)

    def extra_repr(self):
        return f"{self.beta.numel()}, inverse={self.inverse}, simplified={self.simplified}"


_compiled_gdn = None


def compile_for_training(enabled=True):
    """Training on the CPU: GDN's elementwise work (x^2, the root, the product, and their
    gradients) fused by torch.compile, the 1x1 gamma convolution left to oneDNN. Measured on
    mbt2018-mean, 16x128^2 crops, 2 threads: 0.550 -> 0.518 and 0.568 -> 0.536 s per step (two
    runs of 12 / 20 interleaved steps, medians; docs/training.md); the full-resolution products
    alone took ~64 ms of a step as separate passes over 16 MB tensors. Same formula: only the rounding of the bf16 intermediates differs. Applies to
    passes with gradients on CPU tensors; inference and CUDA keep their paths. enabled=False
    restores the plain form."""
    global _compiled_gdn
    _compiled_gdn = torch.compile(gdn, dynamic=False) if enabled else None


def triton_available():
    return importlib.util.find_spec("triton") is not None
