"""Shared parts of the context models (Minnen et al. 2018; He et al. 2021): the mean-scale
hyperprior's transforms plus a context prediction from already-decoded latents, merged by the
entropy-parameter network (1x1 convolutions). How they code is their latent codec's
(fastcodec.latent.context: the float loops and the integer context path)."""
import torch
from torch import nn

from fastcodec.models.mbt2018_mean import MeanScaleHyperprior


def entropy_parameters(m):
    return nn.Sequential(nn.Conv2d(m * 12 // 3, m * 10 // 3, 1), nn.LeakyReLU(inplace=True),
                         nn.Conv2d(m * 10 // 3, m * 8 // 3, 1), nn.LeakyReLU(inplace=True),
                         nn.Conv2d(m * 8 // 3, m * 6 // 3, 1))


class ContextModelBase(MeanScaleHyperprior):
    """The mean-scale hyperprior (same transforms and tensor names) plus a context prediction and
    the entropy-parameter network that merges it with the hyperprior's output; a subclass sets its
    latent codec (a fastcodec.latent.context.ContextLatent: the coding order).

    With a frozen integer prior (shipped weights), coding runs the integer context path
    (fastcodec.integer.context) in the fused C++ loop — or, with context_backend = "reference", in
    its plain torch reference; both give the same bits. Without one (fresh float weights), the
    float path of each architecture codes (decodable on the same kind of machine only)."""

    #: "core" (fused C++), "reference" (torch) or "triton" (the integer layers as Triton kernels:
    #: GPU, or CPU under TRITON_INTERPRET=1); the bitstreams are identical
    context_backend = "core"

    def __init__(self, N, M, context_prediction, eb_filters=(3, 3, 3)):
        super().__init__(N, M, eb_filters)
        self.context_prediction = context_prediction
        self.entropy_parameters = entropy_parameters(M)

    @property
    def context_order(self):
        """Coding order of the integer path (fastcodec.integer.context.WAVEFRONT / CHECKERBOARD)."""
        return self.latent_codec.order

    @property
    def int_context(self):
        """The frozen integer context path when the weights carry one, else None (held by the latent
        codec: not part of state_dict())."""
        return self.latent_codec.int_context

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
