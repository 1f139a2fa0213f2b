"""The autoregressive context latent codec of mbt2018 (Minnen, Ballé, Toderici 2018): a 5x5 masked
convolution (type A, fastcodec.layers.MaskedConv2d) over the already-decoded latents adds a causal
context to the mean-scale hyperprior.

Coding order: wavefronts. A position (h, w) depends, through the type-A 5x5 mask, on rows h-2..h-1
(columns w-2..w+2) and on (h, w-1), (h, w-2): every such position has a smaller t = 3h + w, so all
positions of one t are independent and are decoded together (3H + W - 3 steps instead of H * W).
Within a wavefront the order is by row, all channels of a position together. The encoder runs the
very same wavefront computation so both sides pick the same tables."""
import numpy as np
import torch

from fastcodec import coding
from fastcodec.entropy.coders import GaussianCoder, scale_indexes
from fastcodec.integer.context import WAVEFRONT
from fastcodec.latent.context import ContextLatent, as_int32
from fastcodec.layers.mixed import round_ste, run_autocast


class AutoregressiveLatent(ContextLatent):
    order = WAVEFRONT

    def train_params(self, y, hyper, autocast):
        ctx = run_autocast(self.context_prediction, round_ste(y), autocast)
        return self.params(hyper, ctx, autocast)

    def relaxed(self, y, z, q, quantize, autocast=False, hyper=None):
        """(y_t, bits) with `quantize` in place of rounding; the context sees the relaxed y, as
        training's sees the rounded y."""
        z_t, params = self.relaxed_hyper(z, quantize, autocast, hyper)
        ctx = run_autocast(self.context_prediction, quantize(y), autocast)
        scales, means = self.params(params, ctx, autocast)
        y_t = quantize(y - means) + means
        return y_t, self.relaxed_bits(y_t, scales, means, z_t)

    def serial(self, params, step):
        """Runs the causal wavefront loop; step(scales [n, M], means [n, M], positions [n, 2]) returns
        the decoded symbols [n, M] of those positions. Returns y_hat [1, M, H, W]."""
        H, W = params.shape[2:]
        y_hat = torch.zeros(1, self.channels, H, W, device=params.device)
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

    def compress_float(self, y, z):
        z_string, params = self.hyper(z)
        symbols, indexes = [], []

        def step(scales, means, pos):
            sym = torch.round(y[0, :, pos[:, 0], pos[:, 1]].t() - means)
            symbols.append(as_int32(sym).reshape(-1))
            indexes.append(scale_indexes(scales).reshape(-1))
            return sym

        self.serial(params, step)
        y_string = coding.encode(np.concatenate(symbols), np.concatenate(indexes), GaussianCoder.table())
        return [z_string, y_string]

    def decompress_float(self, strings, y_shape):
        params = self.hyper_decode(strings[0], y_shape)
        dec = coding.StreamDecoder(strings[1])
        table = GaussianCoder.table()

        def step(scales, means, pos):
            return torch.from_numpy(dec.decode(scale_indexes(scales), table)).to(params.device, torch.float32)

        y_hat = self.serial(params, step)
        dec.finish()
        return y_hat
