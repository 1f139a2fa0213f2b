"""Joint autoregressive and hierarchical priors (Minnen, Ballé, Toderici 2018, "mbt2018"): a 5x5
masked convolution (type A) over the already-decoded latents adds a causal context to the
mean-scale hyperprior. Decoding is serial over latent positions, all channels of a position at
once; the encoder runs the very same per-position computation so both sides pick the same tables."""
import numpy as np
import torch
import torch.nn.functional as F

from fastcodec import coding
from fastcodec.entropy.coders import GaussianCoder, scale_indexes
from fastcodec.entropy.gaussian import gaussian_likelihood
from fastcodec.layers import MaskedConv2d
from fastcodec.models.context import ContextModelBase, as_int32
from fastcodec.models.transforms import noisy, round_ste, run_autocast, run_mixed


class JointAutoregressiveHierarchicalPriors(ContextModelBase):
    name = "mbt2018"

    def __init__(self, N=128, M=192, eb_filters=(3, 3, 3)):
        super().__init__(N, M, MaskedConv2d(M, 2 * M, 5, "A"), eb_filters)

    def forward(self, x, q, autocast=False):
        y = run_mixed(self.g_a, x, autocast) * self.gains.gain(q)
        z = run_mixed(self.h_a, y, autocast)
        z_t = noisy(z) if self.training else torch.round(z)
        z_lik = self.entropy_bottleneck.likelihood(z_t)
        params = run_mixed(self.h_s, z_t, autocast)
        ctx = run_autocast(self.context_prediction, round_ste(y), autocast)
        scales, means = run_mixed(self.entropy_parameters, torch.cat([params, ctx], 1), autocast).chunk(2, 1)
        y_rate = noisy(y) if self.training else torch.round(y - means) + means
        y_lik = gaussian_likelihood(y_rate, scales, means)
        y_hat = round_ste(y - means) + means
        x_hat = run_autocast(self.g_s, y_hat * self.gains.inv_gain(q), autocast)
        return {"x_hat": x_hat, "likelihoods": {"y": y_lik, "z": z_lik}}

    def _serial(self, params, step):
        """Runs the causal loop; step(h, w, scales, means) returns the decoded symbols [M] of the
        position. Returns y_hat [1, M, H, W]."""
        k = self.context_prediction.kernel_size[0]
        pad = k // 2
        H, W = params.shape[2:]
        y_hat = torch.zeros(1, self.M, H + 2 * pad, W + 2 * pad, device=params.device)
        weight = self.context_prediction.weight * self.context_prediction.mask
        bias = self.context_prediction.bias
        for h in range(H):
            for w in range(W):
                window = y_hat[:, :, h:h + k, w:w + k]
                ctx = F.conv2d(window, weight, bias)
                gp = self.entropy_parameters(torch.cat([params[:, :, h:h + 1, w:w + 1], ctx], 1))
                scales, means = gp.chunk(2, 1)
                sym = step(scales.reshape(-1), means.reshape(-1), h, w)
                y_hat[0, :, h + pad, w + pad] = sym + means.reshape(-1)
        return y_hat[:, :, pad:pad + H, pad:pad + W]

    def _compress(self, x, q):
        y, z_string, params = self._hyper(x, q)
        symbols, indexes = [], []

        def step(scales, means, h, w):
            sym = torch.round(y[0, :, h, w] - means)
            symbols.append(as_int32(sym))
            indexes.append(scale_indexes(scales))
            return sym

        self._serial(params, step)
        y_string = coding.encode(np.concatenate(symbols), np.concatenate(indexes), GaussianCoder.table())
        return [z_string, y_string]

    def _decompress(self, strings, latent, q):
        params = self._hyper_decode(strings[0], latent)
        dec = coding.StreamDecoder(strings[1])
        table = GaussianCoder.table()

        def step(scales, means, h, w):
            return torch.from_numpy(dec.decode(scale_indexes(scales), table)).to(params.device, torch.float32)

        y_hat = self._serial(params, step)
        dec.finish()
        return self.synthesize(y_hat, q)
