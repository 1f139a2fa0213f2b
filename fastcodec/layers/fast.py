"""The bf16 transforms when coding on a CPU with AVX-512 BF16: the 5x5 stride-2 (transposed)
convolutions with >= 64-channel outputs run through the C++ Winograd kernel (csrc/transforms/winograd.cc;
plain reference: fastcodec/functional/winograd.py), GDN / inverse GDN with a multiple of 64
channels through the fused C++ kernel (csrc/transforms/gdn.cc; reference: fastcodec/functional/gdn.py), every
other layer through torch; the last layer of g_s (5x5 stride-2 transposed convolution to 1-4
channels) through the sub-pixel C++ kernel (csrc/transforms/subpixel.cc; reference:
fastcodec/functional/subpixel.py). The Winograd kernel spends ~half the multiply-adds of the direct
layer; the fused GDN makes one pass over the activations instead of torch's four (BENCHMARKS.md).

Used only where the transforms run in bf16 anyway (LearnedCodec._bf16) and never in training.
FASTCODEC_WINOGRAD=0 / FASTCODEC_FUSED_GDN=0 / FASTCODEC_SUBPIXEL=0 turn them off (for comparisons)."""
import functools
import os
import weakref

import torch
from torch import nn

from fastcodec._cpuinfo import cpu
from fastcodec.functional import gdn_fused
from fastcodec.functional import subpixel
from fastcodec.functional import winograd
from fastcodec.layers.gdn import GDN

@functools.lru_cache(maxsize=1)
def cpu_has_native_bf16():
    """True where the CPU computes bfloat16 natively (AVX512-BF16 or AMX), so autocast is fast."""
    flags = cpu()[1]
    return "avx512_bf16" in flags or "amx_bf16" in flags


#: below this many output positions a layer stays with torch (thread start-up would dominate;
#: measured here, the kernel is faster than torch's bf16 layer from an 8x8 input up)
MIN_POSITIONS = 64


def supported():
    """Whether the C++ kernels run on this CPU (AVX-512 BF16)."""
    try:
        return winograd.supported()
    except (ImportError, AttributeError):
        return False


def _switch(name):
    return os.environ.get(name, "1") != "0"


def _eligible_gdn(layer, x):
    return isinstance(layer, GDN) and x.shape[1] % 64 == 0 and _switch("FASTCODEC_FUSED_GDN")


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
            and layer.in_channels % 2 == 0 and cout % 64 == 0 and _switch("FASTCODEC_WINOGRAD"))


class FastLayers:
    """Packed weights per eligible layer, rebuilt when a layer's weights change."""

    def __init__(self):
        self._packed = {}

    def _cached(self, layer, tensors, build):
        """build() for the layer, kept until one of its tensors is replaced or changed in place.
        Entries hold a weak reference to their layer: a layer freed and another allocated at the same
        id() and addresses (the per-quality folded copies of a FiLM model, rebuilt after new weights)
        must not get its packed weights."""
        key = tuple((t.data_ptr(), t._version) if t is not None else None for t in tensors)
        hit = self._packed.get(id(layer))
        if hit is None or hit[0] != key or hit[2]() is not layer:
            if hit is None:
                self._packed = {k: v for k, v in self._packed.items() if v[2]() is not None}
            hit = (key, build(), weakref.ref(layer))
            self._packed[id(layer)] = hit
        return hit[1]

    def packed_gdn(self, layer):
        def build():
            beta, gamma = layer.effective_params()
            return gdn_fused.pack_gamma(gamma), beta.detach().float().contiguous().numpy()
        return self._cached(layer, (layer.gamma, layer.beta), build)

    def _conv_operands(self, layer, pack):
        """(packed weight, float32 bias or None) of a convolution layer, cached."""
        def build():
            bias = None if layer.bias is None else layer.bias.detach().float().contiguous().numpy()
            return pack(layer.weight), bias
        return self._cached(layer, (layer.weight, layer.bias), build)

    def packed(self, layer):
        transposed = isinstance(layer, nn.ConvTranspose2d)
        weights, bias = self._conv_operands(layer, lambda w: winograd.pack_weights(w, transposed))
        return weights, bias, transposed

    def last_layer(self, layer, x):
        """The last layer of g_s on x (bf16, batch 1) through csrc/transforms/subpixel.cc as float32 [1, cout,
        2h, 2w], or None where it does not apply (then the caller runs its torch form)."""
        if not (isinstance(layer, nn.ConvTranspose2d) and x.device.type == "cpu" and x.shape[0] == 1
                and layer.groups == 1 and layer.dilation == (1, 1) and layer.stride[0] == layer.stride[1]
                and layer.padding[0] == layer.padding[1] and layer.output_padding[0] == layer.output_padding[1]
                and subpixel.tail_supported(layer.weight, layer.stride[0], layer.padding[0], layer.output_padding[0])
                and _switch("FASTCODEC_SUBPIXEL")):
            return None
        weights, bias = self._conv_operands(layer, subpixel.pack_tail_weights)
        return subpixel.conv_transpose_tail_bf16_cpu(x, weights, bias)

    def run(self, layers, x):
        """x through the layers (an nn.Sequential or a list of modules) under the caller's bf16
        autocast, eligible layers through the C++ kernels."""
        for layer in layers:
            if x.device.type == "cpu" and x.shape[0] == 1 and _eligible_gdn(layer, x):
                gamma, beta = self.packed_gdn(layer)
                x = gdn_fused.gdn_bf16_cpu(x, gamma, beta, layer.inverse, layer.simplified)
                continue
            if _eligible(layer) and x.device.type == "cpu" and x.shape[0] == 1:
                h, w = x.shape[2:]
                positions = 4 * h * w if isinstance(layer, nn.ConvTranspose2d) else ((h + 1) // 2) * ((w + 1) // 2)
                if positions >= MIN_POSITIONS:
                    packed, bias, transposed = self.packed(layer)
                    x = winograd.winograd_s2(x, packed, bias, transposed)
                    continue
            x = layer(x)
        return x
