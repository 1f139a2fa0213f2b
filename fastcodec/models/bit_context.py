"""A learned context model for the bits of a recurrent coder (toderici2017; the role of Toderici et
al. 2017's BinaryRNN): the probability of every bit of iteration t from the bits of iterations
t-1 and t-2 around it and, in a second pass, from the already-decoded half of iteration t.

Within an iteration the bits are coded in two checkerboard passes over the positions: anchors
((row + col) even, all 32 channels) with the earlier iterations as context, then the others with
the anchors of the same iteration too. The network sees [b_{t-1}, b_{t-2}, anchors of b_t (zeros
in the first pass and at the other positions), one-hot of t]: 3 x 3 conv -> 64, LeakyReLU,
3 x 3 conv -> 64, LeakyReLU, 1 x 1 conv -> 32 logits, so a position of the second pass sees only
anchors (its own position and every other non-anchor are zeros). Bits are +-1, absent ones 0.

Coding: the logits are frozen into an int32 convolution network (fastcodec.integer.space_channel's
freeze_net: exact integers on every machine); a logit picks one of the 255 binary tables of
fastcodec.models.recurrent_bits by integer thresholds: level = 1 + #{k in 1..254 : T[c][k] < l},
T[c][k] = floor(logit((k + 1/2) / 256) 2^f_c), the table P(1) = level / 256 nearest the sigmoid.
"""
import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from fastcodec import coding
from fastcodec.errors import BitstreamError
from fastcodec.functional.masked_conv import anchor_mask
from fastcodec.models.recurrent_bits import LEVELS, bit_table

STEPS = 16      # one-hot width of the iteration index (later iterations share the last)
HIDDEN = 64


class BitContext(nn.Module):
    def __init__(self, bits=32, hidden=HIDDEN, steps=STEPS):
        super().__init__()
        self.bits, self.steps = int(bits), int(steps)
        self.net = nn.Sequential(nn.Conv2d(3 * self.bits + self.steps, hidden, 3, padding=1), nn.LeakyReLU(),
                                 nn.Conv2d(hidden, hidden, 3, padding=1), nn.LeakyReLU(),
                                 nn.Conv2d(hidden, self.bits, 1))
        #: the frozen integer network (fastcodec.integer.conv.IntConvNet), or None
        self.int_net = None
        self.register_buffer("thresholds", torch.zeros(0, dtype=torch.int64), persistent=False)

    def inputs(self, prev, prev2, cur, t):
        """The network input [B, 3 bits + steps, h, w] (bits as +-1, absent 0)."""
        b, _, h, w = prev.shape
        onehot = torch.zeros(b, self.steps, h, w, dtype=prev.dtype, device=prev.device)
        onehot[:, min(t, self.steps - 1)] = 1
        return torch.cat([prev, prev2, cur, onehot], 1)

    def logits(self, prev, prev2, cur, t):
        return self.net(self.inputs(prev, prev2, cur, t))

    def bits_of(self, seq):
        """Training: the mean coded bits per bit (cross-entropy in bits) of a sequence of +-1 bit
        tensors [B, bits, h, w] (one per iteration), both passes as coding runs them."""
        total, count = 0.0, 0
        zero = torch.zeros_like(seq[0])
        a = anchor_mask(seq[0].shape[2], seq[0].shape[3], seq[0].device)
        for t, b in enumerate(seq):
            prev = seq[t - 1] if t >= 1 else zero
            prev2 = seq[t - 2] if t >= 2 else zero
            target = (b > 0).float()
            first = self.logits(prev, prev2, zero, t)
            second = self.logits(prev, prev2, b * a, t)
            logit = torch.where(a, first, second)
            total = total + F.binary_cross_entropy_with_logits(logit, target, reduction="sum") / math.log(2)
            count += b.numel()
        return total / count

    # -- the integer path ----------------------------------------------------------------------------
    @torch.no_grad()
    def freeze(self, sequences):
        """Freezes the network into integers on calibration bit sequences (lists of +-1 tensors
        [1, bits, h, w], one per iteration)."""
        from fastcodec.integer.context import ACT_AMAX
        from fastcodec.integer.space_channel import freeze_net

        inputs = []
        for seq in sequences:
            zero = torch.zeros_like(seq[0])
            a = anchor_mask(seq[0].shape[2], seq[0].shape[3])
            for t, b in enumerate(seq):
                prev = seq[t - 1] if t >= 1 else zero
                prev2 = seq[t - 2] if t >= 2 else zero
                inputs += [self.inputs(prev, prev2, zero, t).double(), self.inputs(prev, prev2, b * a, t).double()]
        self._set_int_net(freeze_net(self.net.float(), inputs, torch.zeros(3 * self.bits + self.steps, dtype=torch.int64),
                                     amax=ACT_AMAX))
        return self.int_net

    def _set_int_net(self, net):
        # a plain attribute, not a submodule: the integer network ships as recipes (extra state),
        # not in state_dict()
        object.__setattr__(self, "int_net", net)
        self.thresholds = self.level_thresholds(net.out_frac)

    def ship_state(self):
        """{name: tensor} of the frozen network without its integer weights, and their digest."""
        from fastcodec.integer.network import weight_digest

        out = {k: v.to(torch.int64).contiguous() for k, v in self.int_net.state_dict().items()
               if not k.endswith("weight_q")}
        out["weights_digest"] = weight_digest([l.weight_q for l in self.int_net.layers])
        return out

    def load_ship_state(self, tensors):
        """Rebuilds the frozen network from ship_state() tensors and the float weights; ValueError
        when the rebuilt integers do not match the digest."""
        from fastcodec.integer.network import weight_digest
        from fastcodec.integer.space_channel import rebuild_net

        tensors = dict(tensors)
        digest = tensors.pop("weights_digest")
        net = rebuild_net(self.net, tensors)
        if not torch.equal(weight_digest([l.weight_q for l in net.layers]), digest.to(torch.uint8)):
            raise ValueError("the integer bit context rebuilt from the float weights does not match its digest")
        net.core()
        self._set_int_net(net)

    @staticmethod
    def level_thresholds(out_frac):
        """int64 [bits, 254]: T[c][k - 1] = floor(logit((k + 1/2) / 256) 2^f_c), k = 1..254."""
        k = np.arange(1, LEVELS, dtype=np.float64)
        p = (k + 0.5) / 256
        logit = np.log(p / (1 - p))
        f = np.asarray(out_frac, dtype=np.float64).reshape(-1, 1)
        return torch.from_numpy(np.floor(logit[None, :] * 2.0 ** f).astype(np.int64))

    def levels(self, prev, prev2, cur, t):
        """int32 [bits, h, w] table rows (level - 1) of one pass, from integer +-1/0 inputs [1, bits, h, w]."""
        x = self.inputs(prev.double(), prev2.double(), cur.double(), t)
        logit = self.int_net.forward_int(torch.round(x).to(torch.int64))[0]           # [bits, h, w] int64
        level = 1 + torch.searchsorted(self.thresholds, logit.reshape(self.bits, -1).contiguous(), right=False)
        return (level - 1).reshape(logit.shape).to(torch.int32)

    def encode(self, seq):
        """One stream per iteration of +-1 bit tensors [1, bits, h, w]: anchors then the others,
        channel-major, each bit with the table its integer context picks."""
        zero = torch.zeros_like(seq[0])
        a = anchor_mask(seq[0].shape[2], seq[0].shape[3])[0, 0]
        streams = []
        for t, b in enumerate(seq):
            prev = seq[t - 1] if t >= 1 else zero
            prev2 = seq[t - 2] if t >= 2 else zero
            first = self.levels(prev, prev2, zero, t)
            second = self.levels(prev, prev2, b * a, t)
            bits = (b[0] > 0).to(torch.int32)
            sym = torch.cat([bits[:, a].reshape(-1), bits[:, ~a].reshape(-1)])
            idx = torch.cat([first[:, a].reshape(-1), second[:, ~a].reshape(-1)])
            streams.append(coding.encode(np.ascontiguousarray(sym.numpy()), np.ascontiguousarray(idx.numpy()), bit_table()))
        return streams

    def decode(self, streams, shape):
        """The inverse of encode for any prefix of the streams: a list of +-1 tensors [1, bits, h, w]."""
        bits, h, w = shape
        zero = torch.zeros(1, bits, h, w)
        a = anchor_mask(h, w)[0, 0]
        seq = []
        for t, data in enumerate(streams):
            prev = seq[t - 1] if t >= 1 else zero
            prev2 = seq[t - 2] if t >= 2 else zero
            dec = coding.StreamDecoder(data)
            b = torch.zeros(1, bits, h, w)
            first = self.levels(prev, prev2, zero, t)
            b[0][:, a] = _signs(dec.decode(np.ascontiguousarray(first[:, a].reshape(-1).numpy()), bit_table()), bits)
            second = self.levels(prev, prev2, b * a, t)
            b[0][:, ~a] = _signs(dec.decode(np.ascontiguousarray(second[:, ~a].reshape(-1).numpy()), bit_table()), bits)
            dec.finish()
            seq.append(b)
        return seq


def _signs(decoded, bits):
    v = np.asarray(decoded).reshape(bits, -1)
    if v.min(initial=0) < 0 or v.max(initial=0) > 1:
        raise BitstreamError("bit stream decodes to values other than 0 and 1")
    return torch.from_numpy(v.astype(np.float32)) * 2 - 1
