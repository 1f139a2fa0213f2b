// The last layer of a synthesis transform: a 5x5 stride-2 transposed convolution (padding 2,
// output padding 1) to a few output channels (RGB), in bf16 with float32 sums.
//
// As a sub-pixel convolution (fastcodec/functional/subpixel.py is the reference) the layer is a 3x3
// convolution of its input to 4 * cout channels, one per output phase (py, px) and channel, followed
// by a pixel shuffle; phase (py, px) uses the kernel rows ty >= py and columns tx >= px only (9, 6,
// 6 and 4 of the 9 taps: the 25 taps of the 5x5 kernel). With 3 outputs per position there is no
// output-channel width to vectorize over, so the kernel puts 16 neighbouring input positions of a
// row in one register (rows transposed once into [channel pair][column]) and sums channel pairs
// with AVX-512 BF16 vdpbf16ps against broadcast weights: 25 * cout products per position and channel
// pair, none on the zero taps a 12-channel 3x3 convolution would multiply. Output: the pixel-shuffled
// float32 image, planar.
#pragma once

#include <cstdint>

namespace fastcodec {

constexpr int kSubpixelMaxCout = 4;

// x: [h, w, cin] bf16 (one image, channels last), cin even. wp: [cin / 2][3][3][2][2][cout] bf16
// channel pairs (uint32: channel 2k in the low half), the sub-pixel kernel w[c, py, px, :, ty, tx]
// (fastcodec.functional.subpixel.pack_tail_weights). bias: [cout] float32 or null. y: [cout][2h][2w]
// float32, written whole. 1 <= cout <= kSubpixelMaxCout. threads <= 0: all cores. Needs
// winograd_supported() (AVX-512 BF16).
void subpixel_s2(const uint16_t* x, int32_t h, int32_t w, int32_t cin, const uint32_t* wp, const float* bias,
                 int32_t cout, float* y, int threads);

}  // namespace fastcodec
