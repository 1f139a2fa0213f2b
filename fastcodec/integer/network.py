"""Integer prior-path networks: convolutions, transposed convolutions and LeakyReLU in fixed point.

Representation: a tensor of integers `a` (int64) with a per-tensor scale 2^-f (power of two), i.e.
value = a * 2^-f. A layer has integer weights Wq = round(W * 2^e_o) (a power-of-two scale per
output channel o, the largest that keeps |Wq| < 2^15, e_o capped so the accumulator keeps at most
MAX_ACC_FRAC fractional bits) and computes the exact integer accumulator
    acc = sum Wq * a + bq        (value = acc * 2^-(f + e_o)),  bq = round(b * 2^(f + e_o))
then requantizes to the next activation format 2^-g with round-half-up:
    a' = (acc + 2^(sh-1)) >> sh,  sh = f + e_o - g,  clamped to +-(2^15 - 1).
|activations|, |weights| < 2^15, so |products| < 2^30, and every partial sum of a layer with fewer
than 2^22 terms stays below 2^53 (with |bq| < 2^52): a float64 convolution computes it exactly,
whatever its summation order — which is what makes the reference bit-exact on every machine.
LeakyReLU(0.01 default slope): a < 0 -> (a * S + 2^11) >> 12 with S = round(slope * 2^12).
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

ACT_BITS = 15          # |activation| <= 2^15 - 1
WEIGHT_BITS = 15       # |weight| <= 2^15 - 1
MAX_ACC_FRAC = 40      # accumulator fractional bits at most (keeps the bias exact in float64)
LRELU_SHIFT = 12


def _round_shift(x, sh):
    """Round-half-up of x / 2^sh for int64 x (arithmetic shift floors)."""
    if sh <= 0:
        return x << (-sh)
    return (x + (1 << (sh - 1))) >> sh


class IntLayer(nn.Module):
    """One frozen convolution (or transposed convolution) with integer weights and requantization."""

    def __init__(self, conv, in_frac, out_frac):
        super().__init__()
        self.transposed = isinstance(conv, nn.ConvTranspose2d)
        self.stride, self.padding = conv.stride, conv.padding
        self.output_padding = getattr(conv, "output_padding", (0, 0))
        w = conv.weight.detach().double()
        out_dim = 1 if self.transposed else 0
        reduce_dims = [d for d in range(4) if d != out_dim]
        w_max = w.abs().amax(dim=reduce_dims).clamp_min(1e-12)                       # per output channel
        w_exp = torch.floor(torch.log2((2 ** WEIGHT_BITS - 1) / w_max))                # Wq = round(W * 2^w_exp)
        w_exp = torch.clamp(w_exp, max=MAX_ACC_FRAC - in_frac)
        shape = [1, -1, 1, 1] if self.transposed else [-1, 1, 1, 1]
        wq = torch.round(w * torch.pow(2.0, w_exp).reshape(shape))
        self.register_buffer("weight_q", wq)                                           # float64 integers
        # acc has scale 2^-(in_frac + w_exp[o]); bias to that scale
        acc_frac = in_frac + w_exp
        bias = conv.bias.detach().double() if conv.bias is not None else torch.zeros(w_max.shape, dtype=torch.float64)
        self.register_buffer("bias_q", torch.round(bias * torch.pow(2.0, acc_frac)))
        if float(self.bias_q.abs().max()) >= 2.0 ** 52:
            raise ValueError("bias too large for exact float64 accumulation")
        # requantize acc * 2^-acc_frac -> a' * 2^-out_frac: a' = acc >> (acc_frac - out_frac), rounded
        self.register_buffer("shift", (acc_frac - out_frac).to(torch.int64))
        self.register_buffer("out_frac_t", torch.tensor(int(out_frac)))

    @property
    def out_frac(self):
        return int(self.out_frac_t)

    def accumulate(self, a):
        """Exact integer accumulator (float64 holding integers)."""
        x = a.double()
        if self.transposed:
            acc = F.conv_transpose2d(x, self.weight_q, None, self.stride, self.padding, self.output_padding)
        else:
            acc = F.conv2d(x, self.weight_q, None, self.stride, self.padding)
        return acc + self.bias_q.reshape(1, -1, 1, 1)

    def forward(self, a):
        acc = self.accumulate(a).to(torch.int64)
        sh = self.shift.reshape(1, -1, 1, 1)
        up = torch.clamp(-sh, min=0)     # a negative shift scales up (exact)
        down = torch.clamp(sh, min=0)
        half = torch.where(down > 0, torch.ones_like(down) << torch.clamp(down - 1, min=0), torch.zeros_like(down))
        out = ((acc << up) + half) >> down
        lim = 2 ** ACT_BITS - 1
        return out.clamp_(-lim, lim)


class IntLeakyReLU(nn.Module):
    def __init__(self, slope=0.01):
        super().__init__()
        self.s = int(round(slope * (1 << LRELU_SHIFT)))

    def forward(self, a):
        return torch.where(a < 0, _round_shift(a * self.s, LRELU_SHIFT), a)


class IntReLU(nn.Module):
    def forward(self, a):
        return a.clamp(min=0)


class IntSequential(nn.Module):
    """A frozen prior network: integer input (with fractional bits in_frac) to integer output with
    out_frac fractional bits; forward returns the exact fixed-point values as float32 tensors
    (integers times a power of two are exactly representable while |value| < 2^24 * 2^-out_frac)."""

    def __init__(self, layers, in_frac, out_frac):
        super().__init__()
        self.layers = nn.ModuleList(layers)
        self.register_buffer("fracs", torch.tensor([int(in_frac), int(out_frac)]))

    @property
    def in_frac(self):
        return int(self.fracs[0])

    @property
    def out_frac(self):
        return int(self.fracs[1])

    def forward_int(self, a, backend=None):
        """Exact integer output; v1 networks have the torch reference only (backend is ignored)."""
        for layer in self.layers:
            a = layer(a)
        return a

    def forward(self, x):
        a = torch.round(x.double() * 2.0 ** self.in_frac).to(torch.int64)
        out = self.forward_int(a)
        return (out.double() * 2.0 ** -self.out_frac).float()


def weight_digest(weights):
    """sha256 (as a uint8 tensor) of integer weight tensors, in order, as int16 bytes: shipped
    with weights whose integer form is rebuilt at load, to prove the rebuild exact."""
    import hashlib

    h = hashlib.sha256()
    for w in weights:
        h.update(w.detach().to(torch.int16).contiguous().numpy().tobytes())
    return torch.frombuffer(bytearray(h.digest()), dtype=torch.uint8).clone()


@torch.no_grad()
def rebuild_weights(frozen, seq):
    """Recomputes each IntLayer's weight_q of a frozen IntSequential from the float layers of seq
    (the same fp16-stored weights it was frozen from): weight_q = round(W * 2^w_exp) in float64,
    with w_exp = shift + out_frac - in_frac. Exact: fp16 values times powers of two."""
    convs = [m for m in seq if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    layers = [m for m in frozen.layers if isinstance(m, IntLayer)]
    if len(convs) != len(layers):
        raise ValueError("integer network does not match its float layers")
    frac = frozen.in_frac
    for conv, layer in zip(convs, layers):
        w = conv.weight.detach().double().cpu()
        w_exp = layer.shift.double() + layer.out_frac - frac
        shape = [1, -1, 1, 1] if layer.transposed else [-1, 1, 1, 1]
        layer.weight_q = torch.round(w * torch.pow(2.0, w_exp).reshape(shape))
        frac = layer.out_frac


@torch.no_grad()
def freeze_sequential(seq, calibration_inputs, in_frac=0, headroom=2.0):
    """Freezes a float nn.Sequential of Conv2d / ConvTranspose2d / LeakyReLU / ReLU into an
    IntSequential. Each layer's output gets the most fractional bits that keep `headroom` times the
    largest |activation| seen on the calibration inputs below 2^15."""
    layers, frac = [], in_frac
    acts = [x.double() for x in calibration_inputs]
    for mod in seq:
        if isinstance(mod, (nn.Conv2d, nn.ConvTranspose2d)):
            outs = [mod.double()(a) for a in acts]
            mod.float()
            peak = max(float(o.abs().max()) for o in outs) * headroom
            out_frac = int(math.floor(math.log2((2 ** ACT_BITS - 1) / max(peak, 1e-9))))
            layers.append(IntLayer(mod, frac, out_frac))
            frac, acts = out_frac, outs
        elif isinstance(mod, nn.LeakyReLU):
            layers.append(IntLeakyReLU(mod.negative_slope))
            acts = [F.leaky_relu(a, mod.negative_slope) for a in acts]
        elif isinstance(mod, nn.ReLU):
            layers.append(IntReLU())
            acts = [F.relu(a) for a in acts]
        else:
            raise TypeError(f"cannot freeze layer {type(mod).__name__}")
    return IntSequential(layers, in_frac, frac)
