"""A latent coded with a per-channel factorized density (Ballé et al. 2018, appendix 6.1): the
EntropyBottleneck of its owner (fastcodec.entropy.factorized) gives the training likelihoods, and
its integer tables (fastcodec.entropy.coders.FactorizedCoder: symbol round(x), one table per
channel) code it. The tables are those shipped with the weights when the model installs them
(set_table), else built once from the density and kept until reset().

A bottleneck may hold several sets of densities for one latent of `set_channels` channels (channels
s * set_channels .. s * set_channels + set_channels - 1 are set s): bmshj2018-factorized keeps one
set per quality, chosen per sample in training and per image in coding (the `first` channel of the
tables)."""
import torch

from fastcodec.entropy.coders import FactorizedCoder
from fastcodec.layers.mixed import rate_input, round_ste


class FactorizedLatent:
    #: the stream it codes as a model's whole latent codec
    streams = ("y",)
    #: it freezes no integer network
    integer_prefixes = ()

    def __init__(self, owner, module="entropy_bottleneck", set_channels=None):
        """owner: the model holding the EntropyBottleneck as attribute `module` (see
        fastcodec.latent); set_channels: the latent's channels where the bottleneck holds several
        sets of densities for it (None: one set, all of the bottleneck's channels)."""
        self.owner = owner
        self.module = module
        self.set_channels = set_channels
        self._coder = None

    @property
    def bottleneck(self):
        return getattr(self.owner, self.module)

    @property
    def channels(self):
        """Channels of the latent coded."""
        return self.set_channels or self.bottleneck.channels

    @property
    def sets(self):
        """How many sets of densities the bottleneck holds for the latent."""
        return self.bottleneck.channels // self.channels

    def density_set(self, q):
        """The set coding quality q (0-based; a fraction uses the nearest, out-of-range the nearest end)."""
        return int(min(max(round(float(q)), 0), self.sets - 1))

    def first(self, q=None):
        """The first bottleneck channel (and table) of the set of quality q (None: set 0)."""
        return 0 if q is None else self.density_set(q) * self.channels

    # -- training --------------------------------------------------------------------------------
    def likelihood(self, values, q=None):
        """Likelihoods of values [B, C, H, W] (noisy or rounded); with several sets, sample b under
        the set of quality q[b] (q: a number or a tensor of one per sample)."""
        if q is None or self.sets == 1:
            return self.bottleneck.likelihood(values)
        q = torch.as_tensor(q).reshape(-1).expand(values.shape[0])
        out = torch.empty_like(values, dtype=torch.float32)
        for k in torch.unique(q).tolist():
            sel = q == k
            out[sel] = self.bottleneck.likelihood(values[sel], first=self.first(k))
        return out

    def hyper_analyze(self, y, autocast=False):
        """No side latent."""
        return None

    def forward(self, y, q, autocast=False):
        """Training pass: (round(y) with a straight-through gradient, {"y": likelihoods})."""
        y_lik = self.likelihood(rate_input(self.owner, y), q)
        return round_ste(y), {"y": y_lik}

    def relaxed(self, y, z, q, quantize, autocast=False, hyper=None):
        """(y_t, bits) with `quantize` in place of rounding; z is None."""
        y_t = quantize(y)
        return y_t, -torch.log2(self.likelihood(y_t, q)).sum()

    # -- coding ----------------------------------------------------------------------------------
    def coder(self):
        """The FactorizedCoder: the tables installed with the weights, else built from the density
        once per loaded weights."""
        if self._coder is None:
            self._coder = FactorizedCoder.from_bottleneck(self.bottleneck)
        return self._coder

    @property
    def built_coder(self):
        """The coder if installed or built already, else None."""
        return self._coder

    def set_coder(self, coder):
        """Installs a FactorizedCoder (tables shipped with the weights); None forgets it."""
        self._coder = coder

    def set_table(self, table):
        self._coder = FactorizedCoder(table)

    def encode(self, x, q=None):
        """x [1, C, H, W] -> bytes, with the tables of quality q's set."""
        return self.coder().encode(x, self.first(q))

    def decode(self, data, shape, device="cpu", q=None):
        """The inverse of encode: float32 [1, C, H, W] of shape on device."""
        return self.coder().decode(data, shape, device, self.first(q))

    def compress(self, y, z=None, q=None):
        return [self.encode(y, q)]

    def decompress(self, strings, y_shape, q=None):
        return self.decode(strings[0], (1, self.channels) + tuple(y_shape), self.owner.device, q)

    def factorized_latents(self):
        return {self.module: self}

    # -- state beyond state_dict() ----------------------------------------------------------------
    def integer_state(self):
        return {}

    def set_integer_state(self, tensors):
        if tensors:
            raise ValueError(f"a factorized latent has no integer networks, got {sorted(tensors)[:3]}")

    def reset(self):
        self._coder = None
