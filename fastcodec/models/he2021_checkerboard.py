"""Checkerboard context model (He et al. 2021, "he2021-checkerboard"): latents are split into
anchors ((row + col) even, coded with the hyperprior only) and non-anchors, whose context is a
checkerboard-masked convolution of the decoded anchors, so decoding takes two parallel passes.
Training runs the same two passes as coding."""
import numpy as np
import torch

from fastcodec import coding
from fastcodec.entropy.coders import GaussianCoder, scale_indexes
from fastcodec.layers import CheckerboardConv2d, anchor_mask
from fastcodec.models.context import ContextModelBase, as_int32, gather
from fastcodec.models.transforms import round_ste, run_autocast, run_mixed


class CheckerboardContext(ContextModelBase):
    name = "he2021-checkerboard"

    context_order = 1  # fastcodec.integer.context.CHECKERBOARD

    def __init__(self, N=128, M=192, eb_filters=(3, 3, 3)):
        super().__init__(N, M, CheckerboardConv2d(M, 2 * M, 5), eb_filters)

    def _params(self, params, ctx, autocast=False):
        return run_mixed(self.entropy_parameters, torch.cat([params, ctx], 1), autocast).chunk(2, 1)

    def forward(self, x, q, autocast=False):
        y, z_lik, params = self._forward_hyper(x, q, autocast)
        anchors = anchor_mask(y.shape[2], y.shape[3], y.device)
        s_a, m_a = self._params(params, torch.zeros_like(params), autocast)
        y_hat_a = (round_ste(y - m_a) + m_a) * anchors
        ctx = run_autocast(self.context_prediction, y_hat_a, autocast)
        s_n, m_n = self._params(params, ctx, autocast)
        scales, means = torch.where(anchors, s_a, s_n), torch.where(anchors, m_a, m_n)
        return self._forward_output(y, scales, means, z_lik, q, autocast)

    def relaxed_rd(self, y, z, q, quantize, autocast=False, hyper=None):
        """(x_hat, bits, y_t) with `quantize` in place of rounding (fastcodec.models.refine): the two
        passes of coding, the non-anchors' context from the relaxed anchors."""
        z_t, params = self._relaxed_hyper(z, quantize, autocast, hyper)
        anchors = anchor_mask(y.shape[2], y.shape[3], y.device)
        s_a, m_a = self._params(params, torch.zeros_like(params), autocast)
        y_a = (quantize(y - m_a) + m_a) * anchors
        s_n, m_n = self._params(params, run_autocast(self.context_prediction, y_a, autocast), autocast)
        y_t = torch.where(anchors, y_a, quantize(y - m_n) + m_n)
        return self._relaxed_output(y_t, torch.where(anchors, s_a, s_n), torch.where(anchors, m_a, m_n), z_t, q,
                                    autocast)

    def _compress(self, y, z, q):
        if self._use_integer_path():
            return self._compress_int(y, z)
        z_string, params = self._hyper(z)
        a = anchor_mask(y.shape[2], y.shape[3], y.device)[0, 0]
        s_a, m_a = self._params(params, torch.zeros_like(params))
        sym_a = torch.round(gather(y, a) - gather(m_a, a))
        y_hat_a = torch.zeros(y.shape, device=y.device)  # contiguous NCHW, as the decoder builds it
        y_hat_a[0][:, a] = sym_a + gather(m_a, a)
        s_n, m_n = self._params(params, self.context_prediction(y_hat_a))
        sym_n = torch.round(gather(y, ~a) - gather(m_n, ~a))
        symbols = np.concatenate([as_int32(sym_a).reshape(-1), as_int32(sym_n).reshape(-1)])
        indexes = np.concatenate([scale_indexes(gather(s_a, a)).reshape(-1), scale_indexes(gather(s_n, ~a)).reshape(-1)])
        return [z_string, coding.encode(symbols, indexes, GaussianCoder.table())]

    def _decompress(self, strings, latent, q):
        if self._use_integer_path():
            return self._decompress_int(strings, latent, q)
        params = self._hyper_decode(strings[0], latent)
        a = anchor_mask(latent[0], latent[1], self.device)[0, 0]
        table = GaussianCoder.table()
        dec = coding.StreamDecoder(strings[1])
        s_a, m_a = self._params(params, torch.zeros_like(params))
        y_hat = torch.zeros(1, self.M, *latent, device=self.device)
        y_hat[0][:, a] = torch.from_numpy(dec.decode(scale_indexes(gather(s_a, a)), table)).to(self.device) + gather(m_a, a)
        s_n, m_n = self._params(params, self.context_prediction(y_hat))
        y_hat[0][:, ~a] = torch.from_numpy(dec.decode(scale_indexes(gather(s_n, ~a)), table)).to(self.device) + gather(m_n, ~a)
        dec.finish()
        return self.synthesize(y_hat, q)
