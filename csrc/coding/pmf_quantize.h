// Deterministic integer quantization of probability weights into coder frequencies.
//
// Given integer weights w[0..n) (a probability scaled by 2^k and rounded, computed by the caller
// with exact float operations), returns frequencies f with f[i] >= 1 and sum f = 2^precision,
// proportional to w where that allows: symbols whose share is below one slot get exactly one
// (water-filling), the rest share the remaining slots by floor(w * budget / W), and the leftover
// slots go to the largest remainders, lower index first on ties. Integer arithmetic only, so the
// result is the same on every machine.
#pragma once

#include <cstdint>

#include "common/status.h"

namespace fastcodec {

// REQUIRES: w[i] >= 0, w[i] < 2^62 / n.
Status quantize_weights(const int64_t* w, int64_t n, int precision, uint32_t* freq);

// Row-wise: weights[T][width], counts[T] used entries per row; writes cdfs[T][width + 1] (rows
// padded with the final value) as int32.
Status quantize_weight_rows(const int64_t* weights, int64_t rows, int64_t width, const int32_t* counts,
                            int precision, int32_t* cdfs);

}  // namespace fastcodec
