"""The bf16 transforms when coding on a CPU with AVX-512 BF16: the 5x5 stride-2 (transposed)
convolutions with 128-channel-class inputs and outputs run through the C++ Winograd kernel
(csrc/winograd.cc; plain reference: fastcodec/functional/winograd.py), every other layer through
torch. The kernel spends ~half the multiply-adds of the direct layer; its bf16 rounding is of the
same kind as the direct bf16 layer's (BENCHMARKS.md, "Coding speed, session 9").

Used only where the transforms run in bf16 anyway (LearnedCodec._bf16) and never in training.
FASTCODEC_WINOGRAD=0 turns it off (for comparisons)."""
import os

import torch
from torch import nn

from fastcodec.functional import winograd

#: below this many output positions a layer stays with torch (thread start-up would dominate;
#: measured here, the kernel is faster than torch's bf16 layer from an 8x8 input up)
MIN_POSITIONS = 64


def enabled():
    """Whether the Winograd path may run here: the kernel's CPU features and the switch."""
    if os.environ.get("FASTCODEC_WINOGRAD", "1") == "0":
        return False
    try:
        return winograd.supported()
    except (ImportError, AttributeError):
        return False


def _eligible(layer):
    if isinstance(layer, nn.ConvTranspose2d):
        ok = layer.output_padding == (1, 1)
        cout = layer.out_channels
    elif isinstance(layer, nn.Conv2d):
        ok = layer.groups == 1 and layer.dilation == (1, 1)
        cout = layer.out_channels
    else:
        return False
    return (ok and layer.kernel_size == (5, 5) and layer.stride == (2, 2) and layer.padding == (2, 2)
            and layer.in_channels % 2 == 0 and cout % 64 == 0)


class WinogradLayers:
    """Packed weights per eligible layer, rebuilt when a layer's weights change."""

    def __init__(self):
        self._packed = {}

    def packed(self, layer):
        transposed = isinstance(layer, nn.ConvTranspose2d)
        key = (layer.weight.data_ptr(), layer.weight._version)
        hit = self._packed.get(id(layer))
        if hit is None or hit[0] != key:
            bias = None if layer.bias is None else layer.bias.detach().float().contiguous().numpy()
            hit = (key, winograd.pack_weights(layer.weight, transposed), bias, transposed)
            self._packed[id(layer)] = hit
        return hit[1:]

    def run(self, layers, x):
        """x through the layers (an nn.Sequential or a list of modules) under the caller's bf16
        autocast, eligible layers through the C++ kernel."""
        for layer in layers:
            if _eligible(layer) and x.device.type == "cpu" and x.shape[0] == 1:
                h, w = x.shape[2:]
                positions = 4 * h * w if isinstance(layer, nn.ConvTranspose2d) else ((h + 1) // 2) * ((w + 1) // 2)
                if positions >= MIN_POSITIONS:
                    packed, bias, transposed = self.packed(layer)
                    x = winograd.winograd_s2(x, packed, bias, transposed)
                    continue
            x = layer(x)
        return x
