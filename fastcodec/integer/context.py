"""Integer context models: the masked context convolution, the entropy-parameter network and the
scale -> table index step of mbt2018 / he2021-checkerboard in int32-exact arithmetic
(docs/integer.md), with the plain reference coding loops beside the fused C++ ones (csrc/integer/
context_coding.cc) that must agree with them bit for bit.

Format. Activations are int16 values with a power-of-two scale (value = a * 2^-frac), clamped to
[-amax, amax]. A layer (Int32Layer) has int16 weights with a power-of-two scale per output channel
chosen at freezing so that sum|w| * in_amax + |bias| + rounding < 2^31: its int32 accumulator can
never overflow, so every evaluation order (SIMD, threads, GPU) gives the same integers. Output:
clamp((acc + 2^(shift-1)) >> shift, +-amax), then LeakyReLU as (a * s + 2^11) >> 12 for a < 0.
"""
import math

import numpy as np
import torch
from torch import nn

from fastcodec import coding

ACT_AMAX = 2 ** 13 - 1        # activation clamp: 14-bit signed
ACC_LIMIT = 2 ** 31 - 1
LEAKY_SHIFT = 12
WAVEFRONT, CHECKERBOARD = 0, 1
_CHUNK = 64                   # checkerboard positions per prediction step (no effect on the bits)


def _frac_for(peak, amax, headroom):
    """Most fractional bits that keep headroom * peak within amax."""
    return int(math.floor(math.log2(amax / max(peak * headroom, 1e-9))))


def _round_shift(a, sh):
    """Round-half-up of a * 2^-sh on int64 tensors; sh may be a tensor, negative = left shift."""
    sh = torch.as_tensor(sh, dtype=torch.int64)
    down = sh.clamp(min=0)
    up = (-sh).clamp(min=0)
    half = torch.where(down > 0, torch.ones_like(down) << (down - 1).clamp(min=0), torch.zeros_like(down))
    return ((a << up) + half) >> down


def fit_output_channel(w, b, in_frac, out_frac, in_amax, masks=(None,)):
    """The largest weight exponent e of one output channel (weights w, float64; bias b) with
    |round(w 2^e)| <= 32767 and, for every mask of the inputs one output position sums (None: all),
    sum |round(w 2^e)| * in_amax + |bias| + 2^(shift-1) <= 2^31 - 1. Returns (e, integer bias,
    shift, out_frac): out_frac drops where the output would need a left shift."""
    wmax = float(w.abs().max())
    e = min(40, int(math.floor(math.log2(32767 / wmax))) if wmax > 0 else 40)
    while True:
        q = torch.round(w * 2.0 ** e).abs()
        sh = in_frac + e - out_frac
        if sh < 0:                # would need a left shift: give the output fewer bits
            out_frac += sh
            sh = 0
        if sh > 30:               # more accumulator bits than the output can keep
            e -= sh - 30
            continue
        bb = round(b * 2.0 ** (in_frac + e))
        worst = max(float(q.sum() if m is None else (q * m).sum()) for m in masks)
        if worst * in_amax + abs(bb) + (2 ** (sh - 1) if sh > 0 else 0) <= ACC_LIMIT and q.max() <= 32767:
            return e, bb, sh, out_frac
        e -= 1
        if e < -40:
            raise ValueError("cannot fit an integer layer into int32 accumulation")


class Int32Layer(nn.Module):
    """A frozen 1x1 (or tap-gathered) layer: out[n, o] from in[n, cin] (see module docstring)."""

    def __init__(self, weight, bias, shift, in_amax, amax=ACT_AMAX, leaky=-1, w_exp=None, col_exp=None):
        super().__init__()
        self.register_buffer("weight_q", weight.to(torch.int16))
        #: per output channel: weight_q = round(float weight * 2^(w_exp + col_exp)), so the shipped
        #: file can omit weight_q and rebuild it exactly from the fp16 float weights
        self.register_buffer("w_exp", torch.zeros(weight.shape[0], dtype=torch.int32) if w_exp is None
                             else torch.as_tensor(w_exp, dtype=torch.int32))
        #: per input channel: its format is the layer's input format minus col_exp[c] fractional
        #: bits (inputs with their own formats, folded into the weights; zeros: one format)
        self.register_buffer("col_exp", torch.zeros(weight.shape[1], dtype=torch.int32) if col_exp is None
                             else torch.as_tensor(col_exp, dtype=torch.int32))
        self.register_buffer("bias_q", bias.to(torch.int32))
        self.register_buffer("shift", shift.to(torch.int32))
        self.register_buffer("meta", torch.tensor([in_amax, amax, leaky], dtype=torch.int32))

    @property
    def in_amax(self):
        return int(self.meta[0])

    @property
    def amax(self):
        return int(self.meta[1])

    @property
    def leaky(self):
        return int(self.meta[2])

    @classmethod
    def freeze(cls, weight, bias, in_frac, out_frac, in_amax=ACT_AMAX, amax=ACT_AMAX, leaky=-1, col_exp=None):
        """weight [cout, cin] and bias [cout] float; out_frac an int or a [cout] list. Per output
        channel, the largest weight exponent e with |round(w 2^e)| <= 32767 and the no-overflow bound.
        col_exp [cin] (>= 0): input channel c comes with in_frac - col_exp[c] fractional bits; the
        weights of its column are scaled by 2^col_exp[c] so the sum is in the in_frac format."""
        w = weight.detach().double().cpu()
        col_exp = torch.zeros(w.shape[1], dtype=torch.int64) if col_exp is None else torch.as_tensor(col_exp).to(torch.int64)
        w = w * torch.pow(2.0, col_exp.double())[None, :]
        b = bias.detach().double().cpu() if bias is not None else torch.zeros(w.shape[0], dtype=torch.float64)
        cout = w.shape[0]
        out_frac = torch.as_tensor(out_frac, dtype=torch.int64).expand(cout).clone()
        wq = torch.zeros_like(w)
        bq = torch.zeros(cout, dtype=torch.float64)
        shift = torch.zeros(cout, dtype=torch.int64)
        exps = torch.zeros(cout, dtype=torch.int64)
        for o in range(cout):
            e, bb, sh, out_frac[o] = fit_output_channel(w[o], float(b[o]), in_frac, int(out_frac[o]), in_amax)
            wq[o], bq[o], shift[o], exps[o] = torch.round(w[o] * 2.0 ** e), bb, sh, e
        layer = cls(wq, bq, shift, in_amax, amax, leaky, exps, col_exp)
        return layer, out_frac

    @staticmethod
    def quantize(weight, w_exp, col_exp=None):
        """round(weight * 2^(w_exp[o] + col_exp[c])), in float64 (exact for fp16/fp32 weights)."""
        e = w_exp.double()[:, None]
        if col_exp is not None:
            e = e + torch.as_tensor(col_exp).double()[None, :]
        return torch.round(weight.detach().double().cpu() * torch.pow(2.0, e))

    def forward(self, a):
        """a: int64 [n, cin] within +-in_amax -> int64 [n, cout]. float64 matmul is exact here:
        every partial sum is an integer below 2^31."""
        acc = (a.double() @ self.weight_q.double().t()).to(torch.int64) + self.bias_q.to(torch.int64)
        out = _round_shift(acc, self.shift.to(torch.int64)).clamp_(-self.amax, self.amax)
        if self.leaky >= 0:
            out = torch.where(out < 0, (out * self.leaky + (1 << (LEAKY_SHIFT - 1))) >> LEAKY_SHIFT, out)
        return out

    def core_tuple(self):
        return (np.ascontiguousarray(self.weight_q.numpy()), np.ascontiguousarray(self.bias_q.numpy()),
                np.ascontiguousarray(self.shift.numpy()), self.in_amax, self.amax, self.leaky)


def kept_taps(mask):
    """(dy, dx) offsets of the ones of a [k, k] mask, row-major."""
    k = mask.shape[0]
    return [(i - k // 2, j - k // 2) for i in range(k) for j in range(k) if mask[i, j] > 0]


def tap_weight(conv_weight, taps):
    """[cout, cin, k, k] -> [cout, taps * cin], tap-major (what the gathered patches multiply)."""
    k = conv_weight.shape[-1]
    cols = [conv_weight[:, :, dy + k // 2, dx + k // 2] for dy, dx in taps]
    return torch.cat(cols, dim=1)


class IntContextNet(nn.Module):
    """The frozen integer context + entropy-parameter path of one context model."""

    def __init__(self, M, order, taps, layers, hyper_shift, y_frac, mean_frac, thresholds, params_frac=0):
        super().__init__()
        self.M, self.order = int(M), int(order)
        self.layers = nn.ModuleList(layers)  # context, params0, params1, params2
        self.register_buffer("taps", torch.as_tensor(taps, dtype=torch.int32).reshape(-1, 2))
        #: per hyper channel: P' = round_shift(P, hyper_shift[c]) takes h_s output channel c (its
        #: own format when h_s is an int32 network) to the entropy-parameter input format
        hs = torch.as_tensor(hyper_shift, dtype=torch.int32).reshape(-1).expand(2 * self.M).clone()
        self.register_buffer("hyper_shift_c", hs)
        self.register_buffer("fracs", torch.tensor([int(hs[0]), int(y_frac), int(params_frac)],
                                                       dtype=torch.int32))
        self.register_buffer("mean_frac", torch.as_tensor(mean_frac, dtype=torch.int32))
        self.register_buffer("thresholds", torch.as_tensor(thresholds, dtype=torch.int32))
        self._core = None

    @classmethod
    def from_state(cls, tensors, M, order, float_weights=None):
        """Rebuilds a frozen net from its state_dict() tensors (as shipped in the weights). Where
        weight_q is absent, it is recomputed from float_weights ([cout, cin] per layer, as
        float_weight_matrices() gives) and the stored exponents."""
        layers = []
        for i in range(4):
            p = f"layers.{i}."
            meta = tensors[p + "meta"].tolist()
            w_exp = tensors.get(p + "w_exp")
            col_exp = tensors.get(p + "col_exp")   # absent in the earliest frozen files: one format
            wq = tensors.get(p + "weight_q")
            if wq is None:
                wq = Int32Layer.quantize(float_weights[i], w_exp, col_exp)
            layers.append(Int32Layer(wq, tensors[p + "bias_q"], tensors[p + "shift"], *meta, w_exp=w_exp,
                                     col_exp=col_exp))
        fr = tensors["fracs"].tolist()
        net = cls(M, order, tensors["taps"], layers, tensors.get("hyper_shift_c", fr[0]), fr[1], tensors["mean_frac"], tensors["thresholds"], fr[2])
        net.core()  # validates the shapes and the no-overflow bounds in C++ now, not mid-decode
        return net

    @property
    def hyper_shift(self):
        """[2M] int64: the shift of each h_s output channel to the entropy-parameter input format."""
        return self.hyper_shift_c.to(torch.int64)

    @property
    def y_frac(self):
        return int(self.fracs[1])

    @property
    def params_frac(self):
        """Fractional bits of the entropy-parameter input: of every channel in files frozen before
        later, else the finest; channel c has params_frac - layers[1].col_exp[c] (in_fracs)."""
        return int(self.fracs[2])

    @property
    def in_fracs(self):
        """[4M] int64: fractional bits of each entropy-parameter input channel (hyper, then context)."""
        return self.params_frac - self.layers[1].col_exp.to(torch.int64)

    # ---- the shared definitions -----------------------------------------------------------
    def hyper_input(self, h_int):
        """int_h_s output (int64 [1, 2M, H, W], or the core's int16 numpy [H, W, 2M]) -> the
        entropy-parameter input format, int16 [H, W, 2M]."""
        lim = self.layers[1].in_amax
        hwc = torch.from_numpy(h_int) if isinstance(h_int, np.ndarray) else h_int[0].permute(1, 2, 0)
        a = _round_shift(hwc.to(torch.int64), self.hyper_shift[None, None, :]).clamp_(-lim, lim)
        return np.ascontiguousarray(a.numpy().astype(np.int16))

    def scale_index(self, s):
        """int64 [n, M] scale outputs -> int32 table indexes: #{k : thresholds[c, k] < s}."""
        thr = self.thresholds.to(torch.int64)
        idx = (thr[None, :, :] < s[:, :, None]).sum(-1)
        return idx.clamp_(max=thr.shape[1] - 1).to(torch.int32)

    def y_context(self, sym, mean):
        """Decoded latent in the context input format: clamp(sym 2^y_frac + mean rescaled)."""
        d = self.mean_frac.to(torch.int64) - self.y_frac
        v = sym.to(torch.int64) * (1 << self.y_frac) + _round_shift(mean.to(torch.int64), d)
        return v.clamp_(-self.layers[0].in_amax, self.layers[0].in_amax)

    def passes(self, H, W):
        """[(positions (h * W + w) as a LongTensor, with_context)] in coding order."""
        hh, ww = torch.meshgrid(torch.arange(H), torch.arange(W), indexing="ij")
        raster = torch.arange(H * W)
        if self.order == WAVEFRONT:
            t = (3 * hh + ww).reshape(-1)
            return [(raster[t == k], True) for k in range(int(t.max()) + 1)]
        par = ((hh + ww) % 2).reshape(-1)
        return [(raster[par == 0], False), (raster[par == 1], True)]

    def _layer(self, i, a, backend):
        layer = self.layers[i]
        if backend == "reference":
            return layer(a)
        from fastcodec.kernels.int_layer import int_layer

        dev = torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
        cached = self.__dict__.setdefault("_device_weights", {})
        if (i, dev) not in cached:
            cached[(i, dev)] = [t.to(dev) for t in (layer.weight_q, layer.bias_q, layer.shift)]
        w, b, s = cached[(i, dev)]
        return int_layer(a.to(dev, torch.int16), w, b, s, layer.amax, layer.leaky).to("cpu", torch.int64)

    def predict(self, yctx, hyper, pos, W, with_context, backend="reference"):
        """Table indexes and means (int64 [n, M]) at positions, given the context state
        yctx int64 [H, W, M] and hyper int16 [H, W, 2M]. backend "triton" runs the four integer
        layers as the Triton kernel (fastcodec.kernels.int_layer; GPU, or TRITON_INTERPRET=1)."""
        M, H = self.M, yctx.shape[0]
        h, w = pos // W, pos % W
        hyp = torch.from_numpy(hyper.reshape(-1, 2 * M)[pos.numpy()].astype(np.int64))
        if with_context:
            cols = []
            for dy, dx in self.taps.tolist():
                hi, wi = h + dy, w + dx
                ok = (hi >= 0) & (hi < H) & (wi >= 0) & (wi < W)
                g = yctx[hi.clamp(0, H - 1), wi.clamp(0, W - 1)]
                cols.append(torch.where(ok[:, None], g, torch.zeros_like(g)))
            ctx = self._layer(0, torch.cat(cols, 1), backend)
        else:
            ctx = torch.zeros(len(pos), 2 * M, dtype=torch.int64)
        out = torch.cat([hyp, ctx], 1)
        for i in range(1, 4):
            out = self._layer(i, out, backend)
        return self.scale_index(out[:, :M]), out[:, M:]

    # ---- reference coding loops --------------------------------------------------------------
    def encode_reference(self, hyper, y, backend="reference"):
        """hyper int16 [H, W, 2M], y float32 [H, W, M] -> (symbols, indexes) in coding order, means [H, W, M]."""
        H, W, M = y.shape
        yt = torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32)).double().reshape(H * W, M)
        yctx = torch.zeros(H, W, M, dtype=torch.int64)
        means = torch.zeros(H * W, M, dtype=torch.int64)
        syms, idxs = [], []
        for pos, with_ctx in self.passes(H, W):
            idx, mean = self.predict(yctx, hyper, pos, W, with_ctx, backend)
            mu = mean.double() * torch.pow(2.0, -self.mean_frac.double())
            sym = torch.round(yt[pos] - mu).clamp_(-2 ** 30, 2 ** 30).to(torch.int64)
            yctx.view(H * W, M)[pos] = self.y_context(sym, mean)
            means[pos] = mean
            syms.append(sym.reshape(-1))
            idxs.append(idx.reshape(-1))
        return (torch.cat(syms).to(torch.int32).numpy(), torch.cat(idxs).numpy(),
                means.reshape(H, W, M).to(torch.int16).numpy())

    def decode_reference(self, hyper, table, data, backend="reference"):
        """(symbols int32 [H, W, M], means int16 [H, W, M]) decoded from data."""
        H, W, M2 = hyper.shape
        M = M2 // 2
        yctx = torch.zeros(H, W, M, dtype=torch.int64)
        symbols = torch.zeros(H * W, M, dtype=torch.int64)
        means = torch.zeros(H * W, M, dtype=torch.int64)
        dec = coding.StreamDecoder(data)
        for pos, with_ctx in self.passes(H, W):
            idx, mean = self.predict(yctx, hyper, pos, W, with_ctx, backend)
            sym = torch.from_numpy(dec.decode(np.ascontiguousarray(idx.numpy()), table).astype(np.int64))
            yctx.view(H * W, M)[pos] = self.y_context(sym, mean)
            symbols[pos], means[pos] = sym, mean
        dec.finish()
        return (symbols.reshape(H, W, M).to(torch.int32).numpy(), means.reshape(H, W, M).to(torch.int16).numpy())

    # ---- the fused C++ loops -------------------------------------------------------------
    def core(self):
        if self._core is None:
            from fastcodec._native import core as _core

            self._core = _core.IntContextModel(
                self.M, self.order, np.ascontiguousarray(self.taps.numpy()), [l.core_tuple() for l in self.layers],
                self.y_frac, np.ascontiguousarray(self.mean_frac.numpy()), np.ascontiguousarray(self.thresholds.numpy()))
        return self._core

    def encode(self, hyper, y):
        from fastcodec._native import core as _core

        return _core.context_encode(self.core(), hyper, np.ascontiguousarray(y, dtype=np.float32), self._threads())

    def decode(self, hyper, table, data):
        from fastcodec._native import core as _core

        return _core.context_decode(self.core(), hyper, table._core if hasattr(table, "_core") else table, data,
                                    self._threads())

    @staticmethod
    def _threads():
        """C++ threads for the positions of a pass: torch's intra-op count (which encode_batch and
        decode_batch share out among their workers); the integers do not depend on it."""
        return torch.get_num_threads()

    def latent(self, symbols, means):
        """y_hat [1, M, H, W] float32 = symbols + means * 2^-mean_frac (exact)."""
        s = torch.from_numpy(symbols.astype(np.float64)).permute(2, 0, 1)
        m = torch.from_numpy(means.astype(np.float64)).permute(2, 0, 1)
        return (s + m * torch.pow(2.0, -self.mean_frac.double())[:, None, None]).float()[None]


def float_weight_matrices(model, taps):
    """The float [cout, cin] matrices the four integer layers quantize: the context convolution's
    kept taps (tap-major) and the three 1x1 entropy-parameter convolutions."""
    ep = [m for m in model.entropy_parameters if isinstance(m, nn.Conv2d)]
    return [tap_weight(model.context_prediction.weight.detach(), taps)] + [c.weight.detach()[:, :, 0, 0] for c in ep]


def _channel_fracs(tensors, amax, headroom, max_frac):
    """Per channel of a list of [n, C, ...] tensors: the most fractional bits keeping headroom x its
    largest |value| within amax (at most max_frac: channels that stay ~0 need no more)."""
    peak = torch.stack([t.abs().amax(dim=[d for d in range(t.dim()) if d != 1]) for t in tensors]).amax(0)
    return torch.tensor([min(max_frac, _frac_for(float(p), amax, headroom)) for p in peak], dtype=torch.int64)


@torch.no_grad()
def freeze_context(model, int_h_s, calibration, order, table_scales, headroom=2.0, amax=ACT_AMAX, max_frac=20):
    """Freezes model.context_prediction + model.entropy_parameters into an IntContextNet.
    calibration: list of (y [1, M, H, W] float, z_hat [1, N, h, w]) from real images; int_h_s the
    frozen hyper synthesis (its output format bounds the hyper input's); table_scales: the scales of
    the Gaussian coding tables (fastcodec.entropy.coders.table_scales), whose bounds the net
    compares its scales against.

    Every activation channel gets its own format (fractional bits from its own calibration peak x
    headroom): the next layer takes the differences as column exponents of its weights (Int32Layer
    col_exp), so the integer arithmetic and the C++ loops are those of one format per layer. One
    format per layer cost the low qualities most: their means and scales are
    a few tenths, resolved in 1/16ths where the top quality's peaks set the format."""
    M = model.M
    conv = model.context_prediction
    ep = [m for m in model.entropy_parameters if isinstance(m, nn.Conv2d)]
    slopes = [m.negative_slope for m in model.entropy_parameters if isinstance(m, nn.LeakyReLU)]
    taps = kept_taps(conv.mask2d)
    # float activations on the calibration set
    hypers, ctxs, ys = [], [], []
    for y, z_hat in calibration:
        params = int_h_s(z_hat.float())
        scales, means = params.chunk(2, 1)
        y_hat = torch.round(y - means) + means
        if order == CHECKERBOARD:
            from fastcodec.functional.masked_conv import anchor_mask

            y_hat = y_hat * anchor_mask(y.shape[2], y.shape[3])
        hypers.append(params.double())
        ctxs.append(conv.double()(y_hat.double()))
        conv.float()
        ys.append(y_hat.double())
    y_frac = max(0, _frac_for(max(float(t.abs().max()) for t in ys), amax, headroom))
    # hyper input: each h_s output channel shifted right to its own format (never left: no new bits)
    hs_frac = torch.as_tensor(int_h_s.out_frac, dtype=torch.int64).reshape(-1).expand(2 * M)
    h_frac = torch.minimum(_channel_fracs(hypers, amax, headroom, max_frac), hs_frac)
    ctx_layer, c_frac = Int32Layer.freeze(tap_weight(conv.weight.double(), taps), conv.bias, y_frac,
                                          _channel_fracs(ctxs, amax, headroom, max_frac), amax, amax)
    in_frac = torch.cat([h_frac, c_frac])
    acts = [torch.cat([h, c], 1) for h, c in zip(hypers, ctxs)]
    layers, params_frac = [ctx_layer], int(in_frac.max())
    for i, c in enumerate(ep):
        outs = [c.double()(a) for a in acts]
        c.float()
        last = i == len(ep) - 1
        want = _channel_fracs(outs, amax, headroom, max_frac)   # the clamp acts before the LeakyReLU
        if not last:
            outs = [torch.nn.functional.leaky_relu(o, slopes[i]) for o in outs]
        F = int(in_frac.max())
        leaky = -1 if last else int(round(slopes[i] * (1 << LEAKY_SHIFT)))
        layer, in_frac = Int32Layer.freeze(c.weight.double()[:, :, 0, 0], c.bias, F, want, amax, amax, leaky,
                                           col_exp=F - in_frac)
        layers.append(layer)
        acts = outs
    out_frac = in_frac  # [2M]: scales then means
    table_scales = torch.as_tensor(table_scales).double()
    s_frac = out_frac[:M]
    thr = torch.floor(table_scales[None, :] * torch.pow(2.0, s_frac.double())[:, None]).clamp(-ACC_LIMIT, ACC_LIMIT)
    hyper_shift = hs_frac - h_frac
    return IntContextNet(M, order, taps, layers, hyper_shift, y_frac, out_frac[M:], thr.to(torch.int64), params_frac)
