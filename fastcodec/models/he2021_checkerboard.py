"""Checkerboard context model (He et al. 2021, "he2021-checkerboard"): latents are split into
anchors ((row + col) even, coded with the hyperprior only) and non-anchors, whose context is a
checkerboard-masked convolution of the decoded anchors, so decoding takes two parallel passes
(fastcodec.latent.checkerboard). Training runs the same two passes as coding."""
from fastcodec.latent.checkerboard import CheckerboardLatent
from fastcodec.layers import CheckerboardConv2d
from fastcodec.models.context import ContextModelBase


class CheckerboardContext(ContextModelBase):
    name = "he2021-checkerboard"

    def __init__(self, N=128, M=192, eb_filters=(3, 3, 3)):
        super().__init__(N, M, CheckerboardConv2d(M, 2 * M, 5), eb_filters)
        self.latent_codec = CheckerboardLatent(self, M)
