"""Integer convolution networks in the int32 format: the hyper-synthesis h_s of the prior path
(docs/integer.md, "int32 convolution networks"), with the plain torch reference beside the C++
core (csrc/integer/intconv.cc) and the Triton kernel (kernels/int_conv.py) that must agree with it.

A layer is a convolution or transposed convolution with int16 weights Wq = round(W 2^e_o) (a
power-of-two scale per output channel), int16 activations |a| <= amax and an int32 accumulator.
Every output position of a layer sums the taps of one phase (a transposed convolution of stride s
has s^2 phases, each a fixed subset of the kernel taps; a convolution has one), and freezing picks
e_o so that, for every phase,
    sum_{taps of the phase, ci} |Wq[o]| * in_amax + |bq[o]| + 2^(s_o - 1) <= 2^31 - 1:
no partial sum can overflow, so every summation order gives the same integers. Output:
clamp((acc + 2^(s_o - 1)) >> s_o, +-amax), then LeakyReLU (a < 0 -> (a * S + 2^11) >> 12; ReLU is
S = 0). The network input is the integer side latent, clamped to +-in_amax.

Unlike the v1 networks of fastcodec.integer.network (15-bit activations, float64-exact int64
accumulators, reference only), these run as int16 multiply-adds in C++ (AVX2 vpmaddwd) and on GPUs.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from fastcodec.functional.subpixel import phase_taps
from fastcodec.integer.context import ACT_AMAX, LEAKY_SHIFT, _frac_for, _round_shift, fit_output_channel

FORMAT_VERSION = 2   # the value of the shipped `version` tensor of an int32 h_s


class Int32Conv(nn.Module):
    """One frozen convolution or transposed convolution (see the module docstring)."""

    def __init__(self, weight_q, w_exp, bias_q, shift, geom, in_amax, amax=ACT_AMAX, leaky=-1):
        super().__init__()
        self.register_buffer("weight_q", torch.as_tensor(weight_q).to(torch.int16))   # torch layout
        self.register_buffer("w_exp", torch.as_tensor(w_exp, dtype=torch.int32))
        self.register_buffer("bias_q", torch.as_tensor(bias_q).to(torch.int32))
        self.register_buffer("shift", torch.as_tensor(shift).to(torch.int32))
        #: [transposed, kernel, stride, pad, out_pad]
        self.register_buffer("geom", torch.as_tensor(geom, dtype=torch.int32))
        self.register_buffer("meta", torch.tensor([in_amax, amax, leaky], dtype=torch.int32))

    transposed = property(lambda self: bool(self.geom[0]))
    kernel = property(lambda self: int(self.geom[1]))
    stride = property(lambda self: int(self.geom[2]))
    pad = property(lambda self: int(self.geom[3]))
    out_pad = property(lambda self: int(self.geom[4]))
    in_amax = property(lambda self: int(self.meta[0]))
    amax = property(lambda self: int(self.meta[1]))
    leaky = property(lambda self: int(self.meta[2]))

    @staticmethod
    def geometry(conv):
        transposed = isinstance(conv, nn.ConvTranspose2d)
        k, s, p = conv.kernel_size, conv.stride, conv.padding
        if len(set(k)) != 1 or len(set(s)) != 1 or len(set(p)) != 1 or conv.groups != 1 or conv.dilation != (1, 1):
            raise TypeError("integer convolutions must be square, ungrouped and undilated")
        op = conv.output_padding[0] if transposed else 0
        return [int(transposed), k[0], s[0], p[0], op]

    @staticmethod
    def quantize(weight, w_exp, transposed):
        """round(weight * 2^w_exp) per output channel in float64 (exact for fp16/fp32 weights)."""
        scale = torch.pow(2.0, w_exp.double())
        shape = [1, -1, 1, 1] if transposed else [-1, 1, 1, 1]
        return torch.round(weight.detach().double().cpu() * scale.reshape(shape))

    @classmethod
    def freeze(cls, conv, in_frac, out_frac, in_amax=ACT_AMAX, amax=ACT_AMAX, leaky=-1):
        """Per output channel, the largest exponent with |Wq| <= 32767 and the no-overflow bound of
        every phase. out_frac: an int or a [cout] list; returns (layer, out_frac tensor)."""
        geom = cls.geometry(conv)
        transposed = bool(geom[0])
        w = conv.weight.detach().double().cpu()
        wo = w.transpose(0, 1) if transposed else w               # [cout, cin, k, k]
        cout = wo.shape[0]
        b = conv.bias.detach().double().cpu() if conv.bias is not None else torch.zeros(cout, dtype=torch.float64)
        phases = phase_taps(transposed, geom[1], geom[2], geom[3])
        masks = []
        for _, _, taps in phases:
            m = torch.zeros(geom[1], geom[1], dtype=torch.float64)
            for ky, kx in taps:
                m[ky, kx] = 1
            masks.append(m)
        out_frac = torch.as_tensor(out_frac, dtype=torch.int64).expand(cout).clone()
        exps = torch.zeros(cout, dtype=torch.int64)
        bq = torch.zeros(cout, dtype=torch.int64)
        shift = torch.zeros(cout, dtype=torch.int64)
        for o in range(cout):   # the kernel masks broadcast over [cin, k, k]
            exps[o], bq[o], shift[o], out_frac[o] = fit_output_channel(wo[o], float(b[o]), in_frac, int(out_frac[o]),
                                                                       in_amax, masks)
        wq = cls.quantize(conv.weight, exps, transposed)
        return cls(wq, exps, bq, shift, geom, in_amax, amax, leaky), out_frac

    def forward(self, a):
        """a: int64 [B, cin, H, W] within +-in_amax -> int64 [B, cout, H', W']. The float64
        convolution is exact: every partial sum is an integer below 2^31 in magnitude."""
        w = self.weight_q.double()
        x = a.double()
        if self.transposed:
            acc = F.conv_transpose2d(x, w, None, self.stride, self.pad, self.out_pad)
        else:
            acc = F.conv2d(x, w, None, self.stride, self.pad)
        acc = acc.to(torch.int64) + self.bias_q.to(torch.int64).reshape(1, -1, 1, 1)
        out = _round_shift(acc, self.shift.to(torch.int64).reshape(1, -1, 1, 1)).clamp_(-self.amax, self.amax)
        if self.leaky >= 0:
            out = torch.where(out < 0, (out * self.leaky + (1 << (LEAKY_SHIFT - 1))) >> LEAKY_SHIFT, out)
        return out

    def core_tuple(self):
        return (self.transposed, self.kernel, self.stride, self.pad, self.out_pad,
                np.ascontiguousarray(self.weight_q.numpy()), np.ascontiguousarray(self.bias_q.numpy()),
                np.ascontiguousarray(self.shift.numpy()), self.in_amax, self.amax, self.leaky)


class IntConvNet(nn.Module):
    """A frozen h_s in the int32 format. Input: integer side latent z_hat (clamped to +-in_amax);
    output: int16-range integers with out_frac[c] fractional bits per channel.

    backend: "core" (C++, default), "reference" (torch), "triton" (kernels/int_conv.py; a GPU,
    or the CPU under TRITON_INTERPRET=1) — all three give the same integers."""

    def __init__(self, layers, out_frac):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.register_buffer("version", torch.tensor([FORMAT_VERSION], dtype=torch.int32))
        self.register_buffer("out_frac_c", torch.as_tensor(out_frac, dtype=torch.int32).reshape(-1))
        self.backend = "core"
        self._core = None

    in_frac = 0

    @property
    def out_frac(self):
        """[cout] int64 tensor of fractional bits per output channel."""
        return self.out_frac_c.to(torch.int64)

    def core(self):
        if self._core is None:
            from fastcodec._native import core as _core

            self._core = _core.IntConvNet([l.core_tuple() for l in self.layers])
        return self._core

    def _apply(self, fn, *args, **kwargs):
        self._core = None
        return super()._apply(fn, *args, **kwargs)

    def forward_int(self, a, backend=None):
        """a: integer tensor [1, cin, h, w] -> int64 [1, cout, H, W]."""
        backend = backend or self.backend
        lim = self.layers[0].in_amax
        a = a.to(torch.int64).clamp(-lim, lim)
        if backend == "reference":
            for layer in self.layers:
                a = layer(a.cpu())
            return a
        if backend == "triton":
            from fastcodec.kernels.int_conv import int_conv_net

            return int_conv_net(self, a).to(torch.int64).cpu()
        if backend != "core":
            raise ValueError(f"backend must be 'core', 'reference' or 'triton', got {backend!r}")
        if a.shape[0] != 1:
            return torch.cat([self.forward_int(x[None], backend) for x in a])
        return torch.from_numpy(self.forward_hwc(a)).permute(2, 0, 1)[None].to(torch.int64)

    def forward_hwc(self, a):
        """The C++ core's output as it comes: a: integer tensor [1, cin, h, w] -> int16 numpy
        [H, W, cout] (channel-last, what the context loops take; no int64 NCHW round trip)."""
        lim = self.layers[0].in_amax
        z = np.ascontiguousarray(a[0].to(torch.int64).clamp(-lim, lim).permute(1, 2, 0).cpu().numpy().astype(np.int32))
        return self.core().run(z, torch.get_num_threads())

    def forward(self, x):
        """z_hat (float holding integers) -> the exact fixed-point output as float32."""
        a = torch.round(x.double().cpu()).to(torch.int64)
        out = self.forward_int(a).double()
        return (out * torch.pow(2.0, -self.out_frac.double()).reshape(1, -1, 1, 1)).float()

    def int_weights(self):
        return [l.weight_q for l in self.layers]

    @staticmethod
    def convs_of(seq):
        return [m for m in seq if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]

    def rebuild_weights(self, seq):
        """weight_q of each layer from the float layers of seq (the fp16-stored weights it was
        frozen from) and the stored exponents: exact."""
        convs = self.convs_of(seq)
        if len(convs) != len(self.layers):
            raise ValueError("integer network does not match its float layers")
        for conv, layer in zip(convs, self.layers):
            layer.weight_q = Int32Conv.quantize(conv.weight, layer.w_exp, layer.transposed).to(torch.int16)
        self._core = None

    @classmethod
    def skeleton(cls, seq, tensors):
        """An IntConvNet shaped as seq's convolutions with the values of state tensors (no weight_q)."""
        layers = []
        for i, conv in enumerate(cls.convs_of(seq)):
            p = f"layers.{i}."
            wq = tensors.get(p + "weight_q")
            if wq is None:
                wq = torch.zeros_like(conv.weight, dtype=torch.int16)
            meta = tensors[p + "meta"].tolist()
            layers.append(Int32Conv(wq, tensors[p + "w_exp"], tensors[p + "bias_q"], tensors[p + "shift"],
                                    tensors[p + "geom"].tolist(), *meta))
        return cls(layers, tensors["out_frac_c"])


def _activation_after(seq, i):
    """The LeakyReLU slope of the activation following module i of seq (ReLU: 0), or None."""
    mods = list(seq)
    if i + 1 < len(mods):
        nxt = mods[i + 1]
        if isinstance(nxt, nn.LeakyReLU):
            return nxt.negative_slope
        if isinstance(nxt, nn.ReLU):
            return 0.0
    return None


@torch.no_grad()
def freeze_conv_net(seq, calibration_inputs, headroom=2.0, amax=ACT_AMAX):
    """Freezes a float nn.Sequential of Conv2d / ConvTranspose2d, each optionally followed by
    LeakyReLU / ReLU, into an IntConvNet. Hidden layers get one output format (the most fractional
    bits keeping headroom x the largest |activation| on the calibration inputs within amax); the
    last layer gets one per channel. Inputs are integer side latents, clamped to +-amax."""
    mods = list(seq)
    layers, frac, in_amax = [], 0, amax
    acts = [torch.round(x.double()).clamp(-amax, amax) for x in calibration_inputs]
    convs = [i for i, m in enumerate(mods) if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    for i, mod in enumerate(mods):
        if isinstance(mod, (nn.LeakyReLU, nn.ReLU)):
            continue
        if i not in convs:
            raise TypeError(f"cannot freeze layer {type(mod).__name__}")
        last = i == convs[-1]
        outs = [mod.double()(a) for a in acts]
        mod.float()
        slope = _activation_after(mods, i)
        if slope is not None:
            outs = [F.leaky_relu(o, slope) for o in outs]
        if last:
            peak = torch.stack([o.abs().amax(dim=(0, 2, 3)) for o in outs]).amax(0)
            out_frac = [_frac_for(float(p), amax, headroom) for p in peak]
        else:
            out_frac = _frac_for(max(float(o.abs().max()) for o in outs), amax, headroom)
        leaky = -1 if slope is None else int(round(slope * (1 << LEAKY_SHIFT)))
        layer, of = Int32Conv.freeze(mod, frac, out_frac, in_amax, amax, leaky)
        if not last and int(of.max()) != int(of.min()):
            raise ValueError("a hidden integer convolution needs one output format")
        layers.append(layer)
        frac = of if last else int(of.min())
        acts, in_amax = outs, amax
    if any(i > convs[-1] + 1 for i in range(len(mods))):
        raise TypeError("layers after the last convolution must be one activation at most")
    return IntConvNet(layers, frac)
