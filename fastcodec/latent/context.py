"""The context latent codecs (Minnen et al. 2018; He et al. 2021): the mean-scale hyperprior plus a
context prediction from already-decoded latents, merged with the hyperprior's output by the
entropy-parameter network (1x1 convolutions) into the scale and mean of each element. A subclass
gives the coding order: autoregressive.AutoregressiveLatent (wavefronts), checkerboard.
CheckerboardLatent (anchors, then non-anchors).

With a frozen integer prior (shipped weights), coding runs the integer context path
(fastcodec.integer.context) in the fused C++ loop, or, with the owner's context_backend =
"reference" / "triton", in its torch reference (the integer layers as Triton kernels for
"triton"); all give the same bits. Without one (fresh float weights), the float loop of the coding
order codes (decodable on the same kind of machine only). The owner (fastcodec.latent) holds
context_prediction and entropy_parameters besides the hyperprior's modules."""
import numpy as np
import torch

from fastcodec import coding
from fastcodec.entropy.coders import GaussianCoder
from fastcodec.latent.hyperprior import HyperpriorLatent
from fastcodec.layers.mixed import run_mixed


def gather(t, mask):
    """Elements of t [1, C, H, W] at mask [H, W] positions as a C-contiguous [C, n] tensor."""
    return t[0][:, mask].contiguous()


def as_int32(t):
    return np.ascontiguousarray(t.to(torch.int32).cpu().numpy())


class ContextLatent(HyperpriorLatent):
    #: coding order of the integer path (fastcodec.integer.context.WAVEFRONT / CHECKERBOARD)
    order = None
    #: weights-file prefix of the frozen integer context path (not part of state_dict())
    INT_CTX_PREFIX = "int_ctx."
    integer_prefixes = ("int_h_s.", "int_ctx.")

    def __init__(self, owner, channels):
        """owner: the model (see fastcodec.latent); channels: M, the channels of y."""
        super().__init__(owner, mean_scale=True)
        self.channels = int(channels)
        #: the frozen integer context + entropy-parameter path, or None (not part of state_dict())
        self.int_context = None

    @property
    def context_prediction(self):
        return self.owner.context_prediction

    @property
    def entropy_parameters(self):
        return self.owner.entropy_parameters

    def params(self, hyper, ctx, autocast=False):
        """(scales, means) of the entropy-parameter network from the h_s output and the context."""
        return run_mixed(self.entropy_parameters, torch.cat([hyper, ctx], 1), autocast).chunk(2, 1)

    # -- training --------------------------------------------------------------------------------
    def train_params(self, y, hyper, autocast):
        """(scales, means) of a training pass, the context computed from y as the coding order sees it."""
        raise NotImplementedError

    def forward(self, y, q, autocast=False):
        z_lik, hyper = self.hyper_train(y, autocast)
        scales, means = self.train_params(y, hyper, autocast)
        return self.output(y, scales, means, z_lik)

    # -- coding ----------------------------------------------------------------------------------
    def compress(self, y, z, q=None):
        if self.use_integer_path():
            return self.compress_int(y, z)
        return self.compress_float(y, z)

    def decompress(self, strings, y_shape, q=None):
        if self.use_integer_path():
            return self.decompress_int(strings, y_shape)
        return self.decompress_float(strings, y_shape)

    def compress_float(self, y, z):
        raise NotImplementedError

    def decompress_float(self, strings, y_shape):
        raise NotImplementedError

    # -- the integer context path ----------------------------------------------------------------
    def use_integer_path(self):
        return self.int_context is not None and self.int_h_s is not None

    def _int_backend(self):
        """h_s runs where the context path runs (the C++ core unless a test asks otherwise)."""
        backend = self.owner.context_backend
        return backend if backend in ("reference", "triton") else None

    def hyper_int(self, z_hat):
        """The integer h_s of the decoded side latent in the context loops' input format (the C++
        core's channel-last output is used as it comes)."""
        backend = self._int_backend()
        hwc = self.prior_hwc(z_hat, backend)
        return self.int_context.hyper_input(hwc if hwc is not None else self.prior_int(z_hat, backend))

    def compress_int(self, y, z):
        z_string = self.z.encode(z)
        hyper = self.hyper_int(torch.round(z))
        y_hwc = np.ascontiguousarray(y[0].float().permute(1, 2, 0).cpu().numpy())
        backend = self.owner.context_backend
        if backend in ("reference", "triton"):
            symbols, indexes, _ = self.int_context.encode_reference(hyper, y_hwc, backend)
        else:
            symbols, indexes, _ = self.int_context.encode(hyper, y_hwc)
        return [z_string, coding.encode(symbols, indexes, GaussianCoder.table())]

    def decompress_int(self, strings, y_shape):
        # z on the CPU: the integer loops run there (the h_s backend follows z's device)
        z_hat = self.z.decode(strings[0], self.z_shape(y_shape))
        hyper = self.hyper_int(z_hat)
        backend = self.owner.context_backend
        if backend in ("reference", "triton"):
            symbols, means = self.int_context.decode_reference(hyper, GaussianCoder.table(), strings[1], backend)
        else:
            symbols, means = self.int_context.decode(hyper, GaussianCoder.table(), strings[1])
        return self.int_context.latent(symbols, means).to(self.owner.device)

    @torch.no_grad()
    def freeze_prior(self, calibration):
        """Freezes h_s and, with (y, z) calibration pairs, the context path into integers (the
        owner is moved to the CPU for the latter)."""
        from fastcodec.entropy.coders import table_scales
        from fastcodec.integer.context import freeze_context

        int_h_s = super().freeze_prior(calibration)
        pairs = [(y.float().cpu(), z.float().cpu()) for y, z in calibration] \
            if all(isinstance(c, (tuple, list)) for c in calibration) else []
        if pairs:
            self.int_context = freeze_context(self.owner.cpu(), int_h_s, pairs, self.order, table_scales())
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
            net = IntContextNet.from_state(ctx, self.channels, self.order, float_weight_matrices(self, taps))
            if digest is not None and not torch.equal(weight_digest([l.weight_q for l in net.layers]), digest):
                raise ValueError("the integer context path rebuilt from the float weights does not match its digest")
            self.int_context = net

    def reset(self):
        super().reset()
        self.int_context = None
