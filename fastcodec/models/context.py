"""Shared parts of the context models (Minnen et al. 2018; He et al. 2021): the mean-scale
hyperprior plus a context prediction from already-decoded latents, merged by the
entropy-parameter network (1x1 convolutions)."""
import numpy as np
import torch
from torch import nn

from fastcodec import coding
from fastcodec.entropy.coders import GaussianCoder

from fastcodec.models.mbt2018_mean import MeanScaleHyperprior


def entropy_parameters(m):
    return nn.Sequential(nn.Conv2d(m * 12 // 3, m * 10 // 3, 1), nn.LeakyReLU(inplace=True),
                         nn.Conv2d(m * 10 // 3, m * 8 // 3, 1), nn.LeakyReLU(inplace=True),
                         nn.Conv2d(m * 8 // 3, m * 6 // 3, 1))


class ContextModelBase(MeanScaleHyperprior):
    """The mean-scale hyperprior (same transforms and tensor names) plus a context prediction and
    the entropy-parameter network that merges it with the hyperprior's output.

    With a frozen integer prior (shipped weights), coding runs the integer context path
    (fastcodec.integer.context) in the fused C++ loop — or, with context_backend = "reference", in
    its plain torch reference; both give the same bits. Without one (fresh float weights), the
    float path of each architecture codes (decodable on the same kind of machine only)."""

    #: coding order of the integer path (fastcodec.integer.context.WAVEFRONT / CHECKERBOARD)
    context_order = 0
    #: "core" (fused C++) or "reference" (torch); the bitstreams are identical
    context_backend = "core"
    INT_CTX_PREFIX = "int_ctx."
    INTEGER_PREFIXES = ("int_h_s.", "int_ctx.")

    def __init__(self, N, M, context_prediction, eb_filters=(3, 3, 3)):
        super().__init__(N, M, eb_filters)
        self.context_prediction = context_prediction
        self.entropy_parameters = entropy_parameters(M)

    # ---- the integer prior -------------------------------------------------------------------
    @property
    def int_context(self):
        return self.__dict__.get("_int_context")

    def load_state_dict(self, state_dict, strict=True, assign=False):
        self.__dict__["_int_context"] = None
        return super().load_state_dict(state_dict, strict=strict, assign=assign)

    @torch.no_grad()
    def freeze_prior(self, calibration):
        """Freezes h_s and, with (y, z) calibration pairs, the context path into integers."""
        from fastcodec.integer.context import freeze_context

        int_h_s = super().freeze_prior(calibration)
        pairs = [(y.float().cpu(), z.float().cpu()) for y, z in calibration] \
            if all(isinstance(c, (tuple, list)) for c in calibration) else []
        if pairs:
            self.__dict__["_int_context"] = freeze_context(self.cpu(), int_h_s, pairs, self.context_order)
        return int_h_s

    def integer_state(self):
        out = super().integer_state()
        if self.int_context is not None:
            out.update({self.INT_CTX_PREFIX + k: v.contiguous() for k, v in self.int_context.state_dict().items()})
        return out

    def set_integer_state(self, tensors):
        from fastcodec.integer.context import IntContextNet

        super().set_integer_state(tensors)
        ctx = {k[len(self.INT_CTX_PREFIX):]: v for k, v in tensors.items() if k.startswith(self.INT_CTX_PREFIX)}
        if ctx:
            self.__dict__["_int_context"] = IntContextNet.from_state(ctx, self.M, self.context_order)

    def _use_integer_path(self):
        return self.int_context is not None and self.int_h_s is not None

    def _compress_int(self, x, q):
        y = self.analyze(x, q)
        z = self.h_a(y)
        z_string = self.factorized_coder().encode(z)
        hyper = self.int_context.hyper_input(self.prior_int(torch.round(z)))
        y_hwc = np.ascontiguousarray(y[0].float().permute(1, 2, 0).cpu().numpy())
        if self.context_backend == "reference":
            symbols, indexes, _ = self.int_context.encode_reference(hyper, y_hwc)
        else:
            symbols, indexes, _ = self.int_context.encode(hyper, y_hwc)
        return [z_string, coding.encode(symbols, indexes, GaussianCoder.table())]

    def _decompress_int(self, strings, latent, q):
        z_hat = self.factorized_coder().decode(strings[0], (1, self.N, latent[0] // 4, latent[1] // 4))
        hyper = self.int_context.hyper_input(self.prior_int(z_hat))
        run = self.int_context.decode_reference if self.context_backend == "reference" else self.int_context.decode
        symbols, means = run(hyper, GaussianCoder.table(), strings[1])
        return self.synthesize(self.int_context.latent(symbols, means).to(self.device), q)

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
