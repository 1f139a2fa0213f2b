"""The checkerboard context latent codec of he2021-checkerboard (He et al. 2021): latents are split
into anchors ((row + col) even, coded with the hyperprior only) and non-anchors, whose context is a
checkerboard-masked convolution (fastcodec.layers.CheckerboardConv2d) of the decoded anchors, so
decoding takes two parallel passes. Training runs the same two passes as coding."""
import numpy as np
import torch

from fastcodec import coding
from fastcodec.entropy.coders import GaussianCoder, scale_indexes
from fastcodec.integer.context import CHECKERBOARD
from fastcodec.latent.context import ContextLatent, as_int32, gather
from fastcodec.layers import anchor_mask
from fastcodec.layers.mixed import round_ste, run_autocast


class CheckerboardLatent(ContextLatent):
    order = CHECKERBOARD

    def train_params(self, y, hyper, autocast):
        anchors = anchor_mask(y.shape[2], y.shape[3], y.device)
        s_a, m_a = self.params(hyper, torch.zeros_like(hyper), autocast)
        y_hat_a = (round_ste(y - m_a) + m_a) * anchors
        ctx = run_autocast(self.context_prediction, y_hat_a, autocast)
        s_n, m_n = self.params(hyper, ctx, autocast)
        return torch.where(anchors, s_a, s_n), torch.where(anchors, m_a, m_n)

    def relaxed(self, y, z, q, quantize, autocast=False, hyper=None):
        """(y_t, bits) with `quantize` in place of rounding: the two passes of coding, the
        non-anchors' context from the relaxed anchors."""
        z_t, params = self.relaxed_hyper(z, quantize, autocast, hyper)
        anchors = anchor_mask(y.shape[2], y.shape[3], y.device)
        s_a, m_a = self.params(params, torch.zeros_like(params), autocast)
        y_a = (quantize(y - m_a) + m_a) * anchors
        s_n, m_n = self.params(params, run_autocast(self.context_prediction, y_a, autocast), autocast)
        y_t = torch.where(anchors, y_a, quantize(y - m_n) + m_n)
        return y_t, self.relaxed_bits(y_t, torch.where(anchors, s_a, s_n), torch.where(anchors, m_a, m_n), z_t)

    def compress_float(self, y, z):
        z_string, params = self.hyper(z)
        a = anchor_mask(y.shape[2], y.shape[3], y.device)[0, 0]
        s_a, m_a = self.params(params, torch.zeros_like(params))
        sym_a = torch.round(gather(y, a) - gather(m_a, a))
        y_hat_a = torch.zeros(y.shape, device=y.device)  # contiguous NCHW, as the decoder builds it
        y_hat_a[0][:, a] = sym_a + gather(m_a, a)
        s_n, m_n = self.params(params, self.context_prediction(y_hat_a))
        sym_n = torch.round(gather(y, ~a) - gather(m_n, ~a))
        symbols = np.concatenate([as_int32(sym_a).reshape(-1), as_int32(sym_n).reshape(-1)])
        indexes = np.concatenate([scale_indexes(gather(s_a, a)).reshape(-1), scale_indexes(gather(s_n, ~a)).reshape(-1)])
        return [z_string, coding.encode(symbols, indexes, GaussianCoder.table())]

    def decompress_float(self, strings, y_shape):
        device = self.owner.device
        params = self.hyper_decode(strings[0], y_shape)
        a = anchor_mask(y_shape[0], y_shape[1], device)[0, 0]
        table = GaussianCoder.table()
        dec = coding.StreamDecoder(strings[1])
        s_a, m_a = self.params(params, torch.zeros_like(params))
        y_hat = torch.zeros(1, self.channels, *y_shape, device=device)
        y_hat[0][:, a] = torch.from_numpy(dec.decode(scale_indexes(gather(s_a, a)), table)).to(device) + gather(m_a, a)
        s_n, m_n = self.params(params, self.context_prediction(y_hat))
        y_hat[0][:, ~a] = torch.from_numpy(dec.decode(scale_indexes(gather(s_n, ~a)), table)).to(device) + gather(m_n, ~a)
        dec.finish()
        return y_hat
