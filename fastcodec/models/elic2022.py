"""Space-channel context model after ELIC (He, Yang, Peng, Ma, Qin, Wang, CVPR 2022, "elic2022"):
the mean-scale hyperprior's transforms (the same tensor names as mbt2018-mean, so it warm-starts
from them) with the latent coded in unevenly sized channel groups, each in two checkerboard passes
conditioned on the hyperprior and all earlier groups (fastcodec.latent.space_channel).

The networks: hyper_embedding, a 1x1 layer 2M -> E (= 96) with LeakyReLU of the hyperprior's
(scales, means), computed once per image; per group k (c_k channels, C_k = c_0 + ... + c_{k-1}):
- channel_context[k - 1] (k >= 1): 3x3 conv C_k -> H_c (= 64), LeakyReLU, 3x3 conv H_c -> 2 c_k;
- spatial_context[k]: checkerboard-masked 5x5 conv c_k -> c_k;
- param_aggregation[k]: 1x1 convs (E [+ 2 c_k] + c_k) -> 128 -> 2 c_k, LeakyReLU between, the last
  one zero at construction (the model starts as its mean-scale hyperprior).
At M = 192, groups 16/16/32/64/64: 0.80 M parameters (1.6 MB in fp16) and about 800 k
multiply-adds per latent position (3 kMAC per pixel). Measured 2026-12-08 on a 2-core AVX2 EPYC
(kodim23, integer path): a first design with the full hyperprior output in every aggregation,
5x5 channel contexts and wider layers (1.35 M parameters, 1.4 M multiply-adds per position) decoded
in 0.60 s against mbt2018-mean's 0.34 s; the target is 1.3x."""
from torch import nn

from fastcodec.latent.space_channel import SpaceChannelLatent, default_groups
from fastcodec.layers import CheckerboardConv2d
from fastcodec.models.mbt2018_mean import MeanScaleHyperprior


def channel_context(c_in, c_out, hidden):
    return nn.Sequential(nn.Conv2d(c_in, hidden, 3, padding=1), nn.LeakyReLU(inplace=True),
                         nn.Conv2d(hidden, c_out, 3, padding=1))


def param_aggregation(c_in, c_out, hidden=128):
    last = nn.Conv2d(hidden, c_out, 1)
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)
    return nn.Sequential(nn.Conv2d(c_in, hidden, 1), nn.LeakyReLU(inplace=True), last)


class SpaceChannelContext(MeanScaleHyperprior):
    name = "elic2022"

    #: where the frozen integer context networks run: "core" (C++), "reference" (torch) or "triton"
    #: (GPU, or the CPU under TRITON_INTERPRET=1); the bitstreams are identical
    context_backend = "core"

    @property
    def int_context(self):
        """The frozen integer context path when the weights carry one, else None."""
        return self.latent_codec.int_context

    def __init__(self, N=128, M=192, eb_filters=(3, 3, 3), groups=None, context_hidden=64, embedding=96):
        super().__init__(N, M, eb_filters)
        groups = tuple(groups) if groups is not None else default_groups(M)
        if sum(groups) != M or min(groups) < 1:
            raise ValueError(f"groups must be positive and sum to M = {M}, got {list(groups)}")
        self.groups = groups
        self.context_hidden = int(context_hidden)
        self.embedding = int(embedding)
        self.hyper_embedding = nn.Sequential(nn.Conv2d(2 * M, self.embedding, 1), nn.LeakyReLU(inplace=True))
        starts = [sum(groups[:k]) for k in range(len(groups))]
        self.channel_context = nn.ModuleList(
            channel_context(starts[k], 2 * groups[k], self.context_hidden) for k in range(1, len(groups)))
        self.spatial_context = nn.ModuleList(CheckerboardConv2d(c, c, 5) for c in groups)
        self.param_aggregation = nn.ModuleList(
            param_aggregation(self.embedding + c + (2 * c if k else 0), 2 * c) for k, c in enumerate(groups))
        self.latent_codec = SpaceChannelLatent(self, groups)

    #: the integer passes' working set per pixel of the padded image on top of the shared latent
    #: buffers: 90-105 bytes measured (RSS at 1 and 4 megapixels, M = 192, 2026-12-08), with margin
    CONTEXT_BYTES_PER_PIXEL = 128

    def coding_memory(self, height, width):
        H, W = self.padded_size(height, width)
        return super().coding_memory(height, width) + self.CONTEXT_BYTES_PER_PIXEL * H * W

    def config(self):
        cfg = super().config()
        if self.groups != default_groups(self.M):
            cfg["groups"] = list(self.groups)
        if self.context_hidden != 64:
            cfg["context_hidden"] = self.context_hidden
        if self.embedding != 96:
            cfg["embedding"] = self.embedding
        return cfg
