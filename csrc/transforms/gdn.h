// GDN and inverse GDN (Ballé et al.) in one pass over bf16 activations on CPUs with AVX-512 BF16:
// norm_i = beta_i + sum_j gamma_ij f(x_j) with f(x) = x^2 (original) or |x| (simplified), then
// y_i = x_i / sqrt(norm_i), x_i * sqrt(norm_i), x_i / norm_i or x_i * norm_i. f(x) is rounded to
// bf16 (as torch's bf16 x * x is), the sums are float32 (vdpbf16ps), norm, its square root and the
// product stay float32 and y is rounded once to bf16 — where the torch formulation
// (fastcodec/functional/gdn.py, the reference) rounds the sum, the root and the product to bf16 in
// three passes over the activations.
#pragma once

#include <cstdint>

namespace fastcodec {

// x, y: [n, c] bf16 (positions by channels, channels last). gamma_t: gamma transposed and packed,
// [c / 2][c][2] bf16 (element [j / 2][i][j % 2] = gamma_ij). beta: [c] float32. Needs c a multiple
// of 64 and winograd_supported(). threads <= 0: all cores.
void gdn_bf16(const uint16_t* x, int64_t n, int32_t c, const uint16_t* gamma_t, const float* beta, bool inverse,
              bool simplified, uint16_t* y, int threads);

}  // namespace fastcodec
