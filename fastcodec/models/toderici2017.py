"""The progressive recurrent coder of Toderici et al., "Full Resolution Image Compression with
Recurrent Neural Networks" (CVPR 2017, arXiv 1608.05148), "toderici2017": one model for every rate,
each iteration adding 32 bits per 16x16 block (1/8 bpp before entropy coding), each iteration's bits
one stream, so every prefix of a file is an image.

Architecture: the paper's layer list with every width times `width` (1/2 by default, so that it
trains on a 2-core CPU; the paper's in brackets): encoder conv 3x3/2 3 -> 32 [64], then three
convolutional residual GRUs of stride 2 (-> 128 [256] -> 256 [512] -> 256 [512]; input kernel 3x3,
hidden kernel 1x1); binarizer conv 1x1 -> 32 bits, tanh, sign (a stochastic +-1 with the tanh as
its mean in training, straight-through gradient); decoder conv 1x1 32 -> 256 [512] and four
residual GRUs (hidden 256 [512], 256 [512], 128 [256], 64 [128]; input kernels 1x1, 3x3, 3x3,
3x3; hidden kernels 1x1), each followed by depth-to-space x2, and conv 1x1 -> 3. At width 1/2:
4.8 M parameters, about 83 M multiply-adds per 32x32 patch and iteration.
Reconstruction is additive: x_hat_t = x_hat_{t-1} + D(b_t), and the encoder's input at iteration
t is the residual x - x_hat_{t-1}; the training loss is the mean of |x - x_hat_t| over the
iterations (L1, as the paper). The GRU's "residual" form adds a 1x1 projection of its input to its
output (Toderici et al. 2017, section 3.1: o_t = h_t + W_ox x_t).

Coding: each iteration's 32 x H/16 x W/16 bits are one stream. With a frozen learned bit context
(`bit_context=True`, trained by fastcodec.train.fit_bits, frozen at export: fastcodec.models.
bit_context) every bit's probability comes from an integer network over the bits of the two
previous iterations and the already-decoded half of its own; without one, rANS over a binary
alphabet with one probability per bit channel of the iteration, counted by the encoder and sent
at the head of the stream (fastcodec.models.recurrent_bits). Either way the decoder reads the bits
with integer arithmetic only, so a stream decodes the same bits on every machine; the
reconstruction is the float decoder's."""
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from fastcodec.models.bit_context import BitContext
from fastcodec.models.protocol import Capabilities, CodecModel
from fastcodec.models.rate import RateSpec

ITERATIONS = 16
BITS = 32


class ConvGRU(nn.Module):
    """A convolutional GRU with a residual output: h' = (1 - u) h + u tanh(W x + U (r h)), u and r
    sigmoid gates; output h' + P x (P a 1x1 projection, strided like the input convolution)."""

    def __init__(self, cin, hidden, kernel=3, stride=1, hidden_kernel=1):
        super().__init__()
        self.hidden = hidden
        self.stride = stride
        self.x2h = nn.Conv2d(cin, 3 * hidden, kernel, stride, kernel // 2)
        self.h2h = nn.Conv2d(hidden, 2 * hidden, hidden_kernel, 1, hidden_kernel // 2, bias=False)
        self.rh2h = nn.Conv2d(hidden, hidden, hidden_kernel, 1, hidden_kernel // 2, bias=False)
        self.proj = nn.Conv2d(cin, hidden, 1, stride, bias=False)

    def forward(self, x, h):
        gx = self.x2h(x)
        if h is None:
            h = torch.zeros(gx.shape[0], self.hidden, gx.shape[2], gx.shape[3], dtype=gx.dtype, device=gx.device)
        xu, xr, xn = gx.chunk(3, 1)
        hu, hr = self.h2h(h).chunk(2, 1)
        u = torch.sigmoid(xu + hu)
        r = torch.sigmoid(xr + hr)
        n = torch.tanh(xn + self.rh2h(r * h))
        h = h + u * (n - h)
        return h + self.proj(x), h


#: the paper's widths: encoder conv and GRUs; decoder (GRU input, GRU hidden, input kernel)
PAPER_ENCODER = (64, 256, 512, 512)
PAPER_DECODER = ((512, 512, 1), (128, 512, 3), (128, 256, 3), (64, 128, 3))


def run_cells(cells, h, state, after=None):
    """h through the recurrent cells in turn (each with its state; `after` applied to each cell's
    output): (output, new states)."""
    new = []
    for cell, s in zip(cells, state):
        h, s = cell(h, s)
        new.append(s)
        if after is not None:
            h = after(h)
    return h, new


class Encoder(nn.Module):
    def __init__(self, widths):
        super().__init__()
        self.conv = nn.Conv2d(3, widths[0], 3, 2, 1)
        self.rnn = nn.ModuleList(ConvGRU(widths[i], widths[i + 1], 3, 2) for i in range(3))

    def forward(self, x, state):
        return run_cells(self.rnn, self.conv(x), state)


class Decoder(nn.Module):
    """layers: (input channels, hidden channels, input kernel) of the four GRUs (each then
    depth-to-space x2: the next input has a quarter of the hidden channels)."""

    def __init__(self, bits, layers):
        super().__init__()
        self.conv_in = nn.Conv2d(bits, layers[0][0], 1)
        self.rnn = nn.ModuleList(ConvGRU(cin, hid, k) for cin, hid, k in layers)
        self.conv_out = nn.Conv2d(layers[-1][1] // 4, 3, 1)

    def forward(self, b, state):
        h, new = run_cells(self.rnn, self.conv_in(b), state, lambda t: F.pixel_shuffle(t, 2))
        return torch.tanh(self.conv_out(h)) / 2, new


def stochastic_sign(t):
    """+-1 with mean t (t in [-1, 1]), straight-through gradient."""
    prob = (1 + t.detach()) / 2
    b = torch.where(torch.rand_like(t) < prob, torch.ones_like(t), -torch.ones_like(t))
    return b + (t - t.detach())      # exactly +-1 forward, the gradient of t backward


def hard_sign(t):
    return torch.where(t >= 0, torch.ones_like(t), -torch.ones_like(t))


class RecurrentCoder(CodecModel):
    name = "toderici2017"
    rate_spec = RateSpec.progressive(ITERATIONS, default=8, metric="l1")
    padding_multiple = 16
    capabilities = Capabilities(progressive=True)

    #: what export's --calibration gives freeze_prior: photos (fastcodec.train.export.calibration_images)
    calibration = "images"
    #: weights-file prefix of the frozen integer bit context (not part of state_dict())
    BIT_CTX_PREFIX = "int_bits."
    extra_state_prefixes = (BIT_CTX_PREFIX,)

    def __init__(self, iterations=ITERATIONS, bits=BITS, width=0.5, bit_context=False):
        super().__init__()
        self.iterations = int(iterations)
        self.bits = int(bits)
        self.width = float(width)
        if self.iterations != ITERATIONS:
            self.rate_spec = RateSpec.progressive(self.iterations, default=min(8, self.iterations),
                                                  metric="l1")
        w = lambda c: max(4, int(round(c * self.width / 4)) * 4)   # multiples of 4 (depth-to-space)
        enc = tuple(w(c) for c in PAPER_ENCODER)
        dec = [(w(cin), w(hid), k) for cin, hid, k in PAPER_DECODER]
        dec = [(dec[0][0], dec[0][1], dec[0][2])] + [(dec[i - 1][1] // 4, dec[i][1], dec[i][2]) for i in range(1, 4)]
        self.encoder = Encoder(enc)
        self.binarizer = nn.Conv2d(enc[-1], self.bits, 1)
        self.decoder = Decoder(self.bits, dec)
        #: the learned context model of the bits (fastcodec.models.bit_context); its frozen integer
        #: network codes them when present, else each iteration's bits are coded semi-statically
        self.bit_context = BitContext(self.bits) if bit_context else None

    def config(self):
        cfg = {"width": self.width} if self.width != 0.5 else {}
        if self.bit_context is not None:
            cfg["bit_context"] = True
        if self.iterations != ITERATIONS:
            cfg["iterations"] = self.iterations
        if self.bits != BITS:
            cfg["bits"] = self.bits
        return cfg

    # -- geometry ----------------------------------------------------------------------------------
    def latent_shapes(self, height, width):
        H, W = self.padded_size(height, width)
        return {f"bits{k + 1}": (self.bits, H // 16, W // 16) for k in range(self.iterations)}

    def stream_names(self, rate):
        return [f"iteration{k + 1}" for k in range(int(rate))]

    def coding_memory(self, height, width):
        """Peak bytes of coding an image whole (no tiling yet): decode_image measured 1.5 kB per
        pixel at width 1/2 and 2.7 kB at width 1 (RSS, 256^2 and 512^2, 2026-12-08); 512 + 3,072
        x width bytes per padded pixel covers both, the encoder's states included."""
        H, W = self.padded_size(height, width)
        return int((512 + 3072 * self.width) * H * W)

    def _pad(self, x):
        H, W = self.padded_size(*x.shape[2:])
        mode = "replicate" if x.shape[2] > 1 and x.shape[3] > 1 else "constant"
        return F.pad(x, (0, W - x.shape[3], 0, H - x.shape[2]), mode=mode)

    # -- the iterations ----------------------------------------------------------------------------
    def iterate(self, x, iterations, binarize=hard_sign):
        """Runs `iterations` iterations on x [B, 3, H, W] in [0, 1] (H, W multiples of 16). Yields
        (bits +-1 [B, bits, H/16, W/16], reconstruction after the iteration)."""
        x_hat = torch.full_like(x, 0.5)
        enc = [None] * 3
        dec = [None] * 4
        for _ in range(iterations):
            e, enc = self.encoder(x - x_hat, enc)
            b = binarize(torch.tanh(self.binarizer(e)))
            d, dec = self.decoder(b, dec)
            x_hat = x_hat + d
            yield b, x_hat

    def reconstruct(self, bits):
        """Reconstructions after each iteration of the given +-1 bits (a list, one per iteration)."""
        x_hat = None
        dec = [None] * 4
        out = []
        for b in bits:
            d, dec = self.decoder(b, dec)
            x_hat = (torch.full_like(d, 0.5) if x_hat is None else x_hat) + d
            out.append(x_hat)
        return out

    def forward(self, x, q=None, autocast=False, iterations=None):
        """Training pass: stochastic binarization; returns the final reconstruction, the per-crop mean
        L1 residual over the iterations (the loss) and the per-iteration reconstructions."""
        binarize = stochastic_sign if self.training else hard_sign
        l1, recs = 0.0, []
        n = int(iterations or self.iterations)
        for _, x_hat in self.iterate(x, n, binarize):
            l1 = l1 + (x - x_hat).abs().mean(dim=(1, 2, 3))
            recs.append(x_hat)
        return {"x_hat": recs[-1], "l1": l1 / n, "reconstructions": recs, "likelihoods": {}}

    # -- coding ------------------------------------------------------------------------------------
    def _learned_bits(self):
        return self.bit_context is not None and self.bit_context.int_net is not None

    @torch.inference_mode()
    def encode_image(self, x, rate):
        from fastcodec.models.recurrent_bits import encode_bits

        self.eval()
        x = self._pad(x.to(self.device).float())
        bits = [b.cpu() for b, _ in self.iterate(x, int(rate))]
        if self._learned_bits():
            return self.bit_context.encode(bits)
        return [encode_bits((b[0] > 0).to(torch.uint8).numpy()) for b in bits]

    @torch.inference_mode()
    def decode_image(self, streams, size, rate):
        from fastcodec.models.recurrent_bits import decode_bits

        if not 1 <= len(streams) <= self.iterations:
            raise ValueError(f"{self.name} decodes 1..{self.iterations} streams, got {len(streams)}")
        self.eval()
        shape = self.latent_shapes(*size)["bits1"]
        if self._learned_bits():
            bits = [b.to(self.device) for b in self.bit_context.decode(streams, shape)]
        else:
            bits = [torch.from_numpy(decode_bits(s, shape)).to(self.device, torch.float32)[None] * 2 - 1
                    for s in streams]
        x_hat = self.reconstruct(bits)[-1]
        return x_hat[:, :, : size[0], : size[1]].clamp(0, 1)

    @torch.no_grad()
    def freeze_bit_context(self, images, iterations=None):
        """Freezes the bit context model into integers on the bits this coder gives for `images`
        (float [1, 3, h, w] in [0, 1], not Kodak)."""
        if self.bit_context is None:
            raise ValueError("this toderici2017 has no bit context model (bit_context=True)")
        self.eval()
        seqs = [[b.cpu() for b, _ in self.iterate(self._pad(x.float()), int(iterations or self.iterations))]
                for x in images]
        return self.bit_context.freeze(seqs)

    def freeze_prior(self, calibration):
        """Export's hook (fastcodec.train.export, on the fp16-rounded weights that are shipped): the
        bit context frozen on the bits of calibration images (float [1, 3, h, w] in [0, 1])."""
        if self.bit_context is not None:
            self.freeze_bit_context(calibration)

    def extra_state(self):
        if not self._learned_bits():
            return {}
        return {self.BIT_CTX_PREFIX + k: v for k, v in self.bit_context.ship_state().items()}

    def load_extra_state(self, tensors):
        mine = {k[len(self.BIT_CTX_PREFIX):]: v for k, v in tensors.items() if k.startswith(self.BIT_CTX_PREFIX)}
        if set(tensors) - {self.BIT_CTX_PREFIX + k for k in mine}:
            raise ValueError(f"toderici2017 stores no extra state but its bit context's, got {sorted(tensors)[:3]}")
        if mine:
            if self.bit_context is None:
                raise ValueError("the weights hold an integer bit context for a model without one")
            self.bit_context.load_ship_state(mine)
