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
    #: "core" (fused C++), "reference" (torch) or "triton" (the integer layers as Triton kernels:
    #: GPU, or CPU under TRITON_INTERPRET=1); the bitstreams are identical
    context_backend = "core"
    INT_CTX_PREFIX = "int_ctx."
    INTEGER_PREFIXES = ("int_h_s.", "int_ctx.")

    def __init__(self, N, M, context_prediction, eb_filters=(3, 3, 3)):
        super().__init__(N, M, eb_filters)
        self.context_prediction = context_prediction
        self.entropy_parameters = entropy_parameters(M)

    @torch.no_grad()
    def init_context_as_mean_scale(self, offset=64.0, noise=0.01):
        """Starts the context part so the model predicts exactly what its mean-scale hyperprior
        predicts (for warm starts from a trained mbt2018-mean): a zero context convolution and an
        entropy-parameter network that passes (scales, means) through its LeakyReLUs —
        means as LReLU(m) - LReLU(-m) = 1.01 m, then shifted by `offset` to stay in the linear
        part (exact for means > -offset). The spare units get small random inputs and zero
        outputs, so they learn without changing the start."""
        M = self.M
        c1, c2, c3 = [m for m in self.entropy_parameters if isinstance(m, nn.Conv2d)]
        d1, d2 = c1.out_channels, c2.out_channels
        if d1 < 3 * M or d2 < 2 * M:
            raise ValueError("entropy_parameters too narrow for the pass-through start")
        self.context_prediction.weight.zero_()
        self.context_prediction.bias.zero_()
        eye = torch.eye(M)
        for conv in (c1, c2, c3):
            conv.weight.normal_(0.0, noise)
            conv.bias.zero_()
        w1 = c1.weight[:, :, 0, 0]
        w1[: 3 * M, : 2 * M] = 0
        w1[:M, :M] = eye                      # scales
        w1[M:2 * M, M:2 * M] = eye            # means
        w1[2 * M:3 * M, M:2 * M] = -eye       # -means
        w2 = c2.weight[:, :, 0, 0]
        w2[:, 3 * M:] = 0                     # spare units of layer 1 start without effect
        w2[: 2 * M, :] = 0
        w2[:M, :M] = eye
        w2[M:2 * M, M:2 * M] = eye / 1.01
        w2[M:2 * M, 2 * M:3 * M] = -eye / 1.01
        c2.bias[M:2 * M] = offset
        w3 = c3.weight[:, :, 0, 0]
        w3.zero_()
        w3[:M, :M] = eye
        w3[M:2 * M, M:2 * M] = eye
        c3.bias[M:2 * M] = -offset

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
        from fastcodec.entropy.coders import table_scales
        from fastcodec.integer.context import freeze_context

        int_h_s = super().freeze_prior(calibration)
        pairs = [(y.float().cpu(), z.float().cpu()) for y, z in calibration] \
            if all(isinstance(c, (tuple, list)) for c in calibration) else []
        if pairs:
            self.__dict__["_int_context"] = freeze_context(self.cpu(), int_h_s, pairs, self.context_order,
                                                               table_scales())
        return int_h_s

    def integer_state(self):
        out = super().integer_state()
        if self.int_context is not None:
            from fastcodec.integer.network import weight_digest

            out.update({self.INT_CTX_PREFIX + k: v.contiguous() for k, v in self.int_context.state_dict().items()
                        if not k.endswith("weight_q")})
            out[self.INT_CTX_PREFIX + "weights_digest"] = weight_digest([l.weight_q for l in self.int_context.layers])
        return out

    def set_integer_state(self, tensors):
        from fastcodec.integer.context import IntContextNet, float_weight_matrices
        from fastcodec.integer.network import weight_digest

        super().set_integer_state(tensors)
        ctx = {k[len(self.INT_CTX_PREFIX):]: v for k, v in tensors.items() if k.startswith(self.INT_CTX_PREFIX)}
        if ctx:
            digest = ctx.pop("weights_digest", None)
            taps = ctx["taps"].reshape(-1, 2).tolist()
            net = IntContextNet.from_state(ctx, self.M, self.context_order, float_weight_matrices(self, taps))
            if digest is not None and not torch.equal(weight_digest([l.weight_q for l in net.layers]), digest):
                raise ValueError("the integer context path rebuilt from the float weights does not match its digest")
            self.__dict__["_int_context"] = net

    def _int_backend(self):
        """h_s runs where the context path runs (the C++ core unless a test asks otherwise)."""
        return self.context_backend if self.context_backend in ("reference", "triton") else None

    def _hyper_int(self, z_hat):
        """The integer h_s of the decoded side latent in the context loops' input format (the C++
        core's channel-last output is used as it comes)."""
        backend = self._int_backend()
        hwc = self.prior_hwc(z_hat, backend)
        return self.int_context.hyper_input(hwc if hwc is not None else self.prior_int(z_hat, backend))

    def _use_integer_path(self):
        return self.int_context is not None and self.int_h_s is not None

    def _compress_int(self, y, z):
        z_string = self.factorized_coder().encode(z)
        hyper = self._hyper_int(torch.round(z))
        y_hwc = np.ascontiguousarray(y[0].float().permute(1, 2, 0).cpu().numpy())
        if self.context_backend in ("reference", "triton"):
            symbols, indexes, _ = self.int_context.encode_reference(hyper, y_hwc, self.context_backend)
        else:
            symbols, indexes, _ = self.int_context.encode(hyper, y_hwc)
        return [z_string, coding.encode(symbols, indexes, GaussianCoder.table())]

    def _decompress_int(self, strings, latent, q):
        z_hat = self.factorized_coder().decode(strings[0], (1, self.N, latent[0] // 4, latent[1] // 4))
        hyper = self._hyper_int(z_hat)
        if self.context_backend in ("reference", "triton"):
            symbols, means = self.int_context.decode_reference(hyper, GaussianCoder.table(), strings[1],
                                                               self.context_backend)
        else:
            symbols, means = self.int_context.decode(hyper, GaussianCoder.table(), strings[1])
        return self.synthesize(self.int_context.latent(symbols, means).to(self.device), q)

    def _hyper(self, z):
        """Encoder side: (z string, hyper params from the rounded z)."""
        return self.factorized_coder().encode(z), self.prior(torch.round(z))

    def _hyper_decode(self, z_string, latent):
        z_hat = self.factorized_coder().decode(z_string, (1, self.N, latent[0] // 4, latent[1] // 4), self.device)
        return self.prior(z_hat)


def gather(t, mask):
    """Elements of t [1, C, H, W] at mask [H, W] positions as a C-contiguous [C, n] tensor."""
    return t[0][:, mask].contiguous()


def as_int32(t):
    return np.ascontiguousarray(t.to(torch.int32).cpu().numpy())
