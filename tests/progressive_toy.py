"""A test-only architecture: the proof that a model of another family fits the codec protocol
with no change outside this file and its registration (tests/test_protocol.py).

It is deliberately unlike the shipped models: stride 8 (one 8x8 convolution each way), a
progressive rate of 3 steps and one stream per step. Step k codes the residual of the latent
left by the steps before it, quantized with a step size of STEPS[k] (coarse to fine), with a
discretized Laplace table per step; the decoder sums the steps it has. Any prefix of the streams
is an image, coarser the fewer steps it holds."""
import numpy as np
import torch
from torch import nn

from fastcodec import coding
from fastcodec.models.protocol import Capabilities, CodecModel
from fastcodec.models.rate import RateSpec

NAME = "test-progressive"
#: quantization step of each progressive step, in latent units (the latent is ~255x the pixel scale)
STEPS = (32.0, 8.0, 2.0)
#: Laplace scale of each step's symbols, and the table range [-RANGE, RANGE] (escapes beyond)
SCALES = (2.0, 1.0, 0.6)
RANGE = 24


def _table():
    values = np.arange(-RANGE, RANGE + 1, dtype=np.float64)
    pmfs = [np.exp(-np.abs(values) / s) for s in SCALES]
    pmfs = np.stack([p / p.sum() * (1 - 1e-4) for p in pmfs])
    return coding.pmf_to_cdf_table(pmfs, np.full(len(SCALES), values.size, np.int32),
                                   np.full(len(SCALES), -RANGE, np.int32))


class ProgressiveToy(CodecModel):
    name = NAME
    rate_spec = RateSpec.progressive(len(STEPS))
    padding_multiple = 8
    capabilities = Capabilities(progressive=True, devices=("cpu",))

    def __init__(self, C=6):
        super().__init__()
        self.C = int(C)
        self.g_a = nn.Conv2d(3, self.C, 8, stride=8)
        self.g_s = nn.ConvTranspose2d(self.C, 3, 8, stride=8)
        with torch.no_grad():  # an invertible start: block means of each colour, and back
            self.g_a.weight.zero_()
            self.g_s.weight.zero_()
            for c in range(3):
                self.g_a.weight[c, c] = 255.0 / 64
                self.g_s.weight[c, c] = 1.0 / 255
            self.g_a.bias.zero_()
            self.g_s.bias.zero_()
        self._coding_table = None

    def config(self):
        return {"C": self.C}

    @property
    def table(self):
        if self._coding_table is None:
            self._coding_table = _table()
        return self._coding_table

    def latent_shapes(self, height, width):
        H, W = self.padded_size(height, width)
        return {"y": (self.C, H // 8, W // 8)}

    def stream_names(self, rate):
        return [f"step{k + 1}" for k in range(int(rate))]

    def _pad(self, x):
        H, W = self.padded_size(*x.shape[2:])
        return nn.functional.pad(x, (0, W - x.shape[3], 0, H - x.shape[2]), mode="replicate")

    @torch.inference_mode()
    def encode_image(self, x, rate):
        y = self.g_a(self._pad(x.float()))
        y_hat = torch.zeros_like(y)
        streams = []
        for k in range(int(rate)):
            symbols = torch.round((y - y_hat) / STEPS[k]).to(torch.int32)
            y_hat += symbols.float() * STEPS[k]
            sym = np.ascontiguousarray(symbols.numpy().reshape(-1))
            streams.append(coding.encode(sym, np.full(sym.size, k, np.int32), self.table))
        return streams

    @torch.inference_mode()
    def decode_image(self, streams, size, rate):
        if not 1 <= len(streams) <= len(STEPS):
            raise ValueError(f"{self.name} decodes 1..{len(STEPS)} streams, got {len(streams)}")
        shape = (1,) + self.latent_shapes(*size)["y"]
        y_hat = torch.zeros(shape)
        for k, stream in enumerate(streams):
            symbols = coding.decode(stream, np.full(int(np.prod(shape)), k, np.int32), self.table)
            y_hat += torch.from_numpy(symbols.reshape(shape)).float() * STEPS[k]
        return self.g_s(y_hat)[:, :, :size[0], :size[1]].clamp(0, 1)
