// The 5x5 stride-2 layers of the learned transforms (g_a's convolutions, g_s's transposed
// convolutions) as Winograd products on their four polyphase parts, in bf16 with float32 sums.
//
// A 5x5 stride-2 convolution is the sum of four stride-1 convolutions with 3x3, 3x2, 2x3 and 2x2
// kernels on the polyphase parts of its input; a 5x5 stride-2 transposed convolution is four such
// convolutions of its input, one per polyphase part of its output. Each of them runs as Winograd
// F(2x2, 3x3) / F(2x2, 3x2) / F(2x2, 2x3) / F(2x2, 2x2) on tiles of 2x2 low-resolution positions:
// 16 + 12 + 12 + 9 = 49 products per tile and channel pair instead of 4 x 25 = 100. The transforms
// have coefficients 0 and +-1 only (the 1/2 of F(2, 3) sits in the weight transform, done once in
// Python: fastcodec/functional/winograd.py is the reference), so the inputs of the products are sums
// of at most 16 input values rounded once to bf16, as the direct bf16 layer's inputs are rounded
// once: the same kind of rounding, ~2x fewer multiply-adds (AVX-512 BF16 vdpbf16ps).
#pragma once

#include <cstdint>

namespace fastcodec {

// Whether this CPU (and build) runs winograd_s2 (AVX-512F/BW/VL + AVX-512 BF16).
bool winograd_supported();

// x: [h, w, cin] bf16 (one image, channels last). u: the transformed weights, [49][cin / 2][cout][2]
// bf16 (fastcodec.functional.winograd.pack_weights). bias: [cout] float32 or null.
// transposed = false: y = conv2d(x, W, stride 2, padding 2): [(h + 1) / 2, (w + 1) / 2, cout];
// transposed = true: y = conv_transpose2d(x, W, stride 2, padding 2, output_padding 1): [2h, 2w, cout].
// y is bf16, written whole. Needs cin even and cout a multiple of 64. threads <= 0: all cores.
void winograd_s2(const uint16_t* x, int32_t h, int32_t w, int32_t cin, const uint16_t* u, const float* bias,
                 int32_t cout, bool transposed, uint16_t* y, int threads);

}  // namespace fastcodec
