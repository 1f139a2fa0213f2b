"""Joint autoregressive and hierarchical priors (Minnen, Ballé, Toderici 2018, "mbt2018"): a 5x5
masked convolution (type A) over the already-decoded latents adds a causal context to the
mean-scale hyperprior.

Coding order: wavefronts. A position (h, w) depends, through the type-A 5x5 mask, on rows h-2..h-1
(columns w-2..w+2) and on (h, w-1), (h, w-2): every such position has a smaller t = 3h + w, so all
positions of one t are independent and are decoded together (3H + W - 3 steps instead of H * W).
Within a wavefront the order is by row, all channels of a position together. The encoder runs the
very same wavefront computation so both sides pick the same tables."""
import numpy as np
import torch

from fastcodec import coding
from fastcodec.entropy.coders import GaussianCoder, scale_indexes
from fastcodec.layers import MaskedConv2d
from fastcodec.models.context import ContextModelBase, as_int32
from fastcodec.models.transforms import round_ste, run_autocast, run_mixed


class JointAutoregressiveHierarchicalPriors(ContextModelBase):
    name = "mbt2018"

    context_order = 0  # fastcodec.integer.context.WAVEFRONT

    def __init__(self, N=128, M=192, eb_filters=(3, 3, 3)):
        super().__init__(N, M, MaskedConv2d(M, 2 * M, 5, "A"), eb_filters)

    def forward(self, x, q, autocast=False):
        y, z_lik, params = self._forward_hyper(x, q, autocast)
        ctx = run_autocast(self.context_prediction, round_ste(y), autocast)
        scales, means = run_mixed(self.entropy_parameters, torch.cat([params, ctx], 1), autocast).chunk(2, 1)
        return self._forward_output(y, scales, means, z_lik, q, autocast)

    def relaxed_rd(self, y, z, q, quantize, autocast=False, hyper=None):
        """(x_hat, bits, y_t) with `quantize` in place of rounding (fastcodec.models.refine); the context
        sees the relaxed y, as training's sees the rounded y."""
        z_t, params = self._relaxed_hyper(z, quantize, autocast, hyper)
        ctx = run_autocast(self.context_prediction, quantize(y), autocast)
        scales, means = run_mixed(self.entropy_parameters, torch.cat([params, ctx], 1), autocast).chunk(2, 1)
        return self._relaxed_output(quantize(y - means) + means, scales, means, z_t, q, autocast)

    def _serial(self, params, step):
        """Runs the causal wavefront loop; step(scales [n, M], means [n, M], positions [n, 2]) returns
        the decoded symbols [n, M] of those positions. Returns y_hat [1, M, H, W]."""
        H, W = params.shape[2:]
        y_hat = torch.zeros(1, self.M, H, W, device=params.device)
        hh, ww = torch.meshgrid(torch.arange(H), torch.arange(W), indexing="ij")
        t = (3 * hh + ww).reshape(-1)
        order = torch.argsort(t * (H * W) + torch.arange(H * W), stable=True)
        counts = torch.bincount(t)
        start = 0
        for n in counts.tolist():
            idx = order[start:start + n]
            start += n
            pos_hw = torch.stack([idx // W, idx % W], 1).to(params.device)
            pos = torch.cat([torch.zeros_like(pos_hw[:, :1]), pos_hw], 1)
            ctx = self.context_prediction.forward_at(y_hat, pos)                     # [n, 2M]
            hyper = params[0, :, pos_hw[:, 0], pos_hw[:, 1]].t()                     # [n, 2M]
            feats = torch.cat([hyper, ctx], 1).t()[None, :, :, None]               # [1, 4M, n, 1]
            scales, means = self.entropy_parameters(feats)[0, :, :, 0].t().chunk(2, 1)  # [n, M] each
            sym = step(scales.contiguous(), means.contiguous(), pos_hw)
            y_hat[0, :, pos_hw[:, 0], pos_hw[:, 1]] = (sym + means).t()
        return y_hat

    def _compress(self, y, z, q):
        if self._use_integer_path():
            return self._compress_int(y, z)
        z_string, params = self._hyper(z)
        symbols, indexes = [], []

        def step(scales, means, pos):
            sym = torch.round(y[0, :, pos[:, 0], pos[:, 1]].t() - means)
            symbols.append(as_int32(sym).reshape(-1))
            indexes.append(scale_indexes(scales).reshape(-1))
            return sym

        self._serial(params, step)
        y_string = coding.encode(np.concatenate(symbols), np.concatenate(indexes), GaussianCoder.table())
        return [z_string, y_string]

    def _decompress(self, strings, latent, q):
        if self._use_integer_path():
            return self._decompress_int(strings, latent, q)
        params = self._hyper_decode(strings[0], latent)
        dec = coding.StreamDecoder(strings[1])
        table = GaussianCoder.table()

        def step(scales, means, pos):
            return torch.from_numpy(dec.decode(scale_indexes(scales), table)).to(params.device, torch.float32)

        y_hat = self._serial(params, step)
        dec.finish()
        return self.synthesize(y_hat, q)
