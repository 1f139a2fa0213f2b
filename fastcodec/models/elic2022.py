"""Space-channel context model after ELIC (He, Yang, Peng, Ma, Qin, Wang, CVPR 2022, "elic2022"):
the mean-scale hyperprior's transforms (the same tensor names as mbt2018-mean, so it warm-starts
from them) with the latent coded in unevenly sized channel groups, each in two checkerboard passes
conditioned on the hyperprior and all earlier groups (fastcodec.latent.space_channel).

The networks per group k (c_k channels, C_k = c_0 + ... + c_{k-1}):
- channel_context[k - 1] (k >= 1): 5x5 conv C_k -> H_c, LeakyReLU, 3x3 conv H_c -> 2 c_k;
- spatial_context[k]: checkerboard-masked 5x5 conv c_k -> c_k;
- param_aggregation[k]: 1x1 convs (2M + c_k [+ 2 c_k]) -> 160 -> 128 -> 2 c_k, LeakyReLU between,
  the last one zero at construction (the model starts as its mean-scale hyperprior).
At M = 192, groups 16/16/32/64/64 and H_c = 64: 1.35 M parameters (2.7 MB in fp16, what the zoo's
40 MB leaves room for; ELIC's own context networks are wider) and about 10 kMAC per pixel, run
twice per group in coding, a few percent of the transforms' cost."""
from torch import nn

from fastcodec.latent.space_channel import SpaceChannelLatent, default_groups
from fastcodec.layers import CheckerboardConv2d
from fastcodec.models.mbt2018_mean import MeanScaleHyperprior


def channel_context(c_in, c_out, hidden):
    return nn.Sequential(nn.Conv2d(c_in, hidden, 5, padding=2), nn.LeakyReLU(inplace=True),
                         nn.Conv2d(hidden, c_out, 3, padding=1))


def param_aggregation(c_in, c_out, hidden=(160, 128)):
    last = nn.Conv2d(hidden[1], c_out, 1)
    nn.init.zeros_(last.weight)
    nn.init.zeros_(last.bias)
    return nn.Sequential(nn.Conv2d(c_in, hidden[0], 1), nn.LeakyReLU(inplace=True),
                         nn.Conv2d(hidden[0], hidden[1], 1), nn.LeakyReLU(inplace=True), last)


class SpaceChannelContext(MeanScaleHyperprior):
    name = "elic2022"

    #: where the frozen integer context networks run: "core" (C++) or "reference" (torch); the
    #: bitstreams are identical
    context_backend = "core"

    @property
    def int_context(self):
        """The frozen integer context path when the weights carry one, else None."""
        return self.latent_codec.int_context

    def __init__(self, N=128, M=192, eb_filters=(3, 3, 3), groups=None, context_hidden=64):
        super().__init__(N, M, eb_filters)
        groups = tuple(groups) if groups is not None else default_groups(M)
        if sum(groups) != M or min(groups) < 1:
            raise ValueError(f"groups must be positive and sum to M = {M}, got {list(groups)}")
        self.groups = groups
        self.context_hidden = int(context_hidden)
        starts = [sum(groups[:k]) for k in range(len(groups))]
        self.channel_context = nn.ModuleList(
            channel_context(starts[k], 2 * groups[k], self.context_hidden) for k in range(1, len(groups)))
        self.spatial_context = nn.ModuleList(CheckerboardConv2d(c, c, 5) for c in groups)
        self.param_aggregation = nn.ModuleList(
            param_aggregation(2 * M + c + (2 * c if k else 0), 2 * c) for k, c in enumerate(groups))
        self.latent_codec = SpaceChannelLatent(self, groups)

    def config(self):
        cfg = super().config()
        if self.groups != default_groups(self.M):
            cfg["groups"] = list(self.groups)
        if self.context_hidden != 64:
            cfg["context_hidden"] = self.context_hidden
        return cfg
