// Integer layers of the prior path (spec: docs/integer.md). int16 weights and activations, int32
// accumulation that provably never overflows: Validate() checks, per output channel,
//     sum_k |w[o][k]| * in_amax + |bias[o]| + 2^(shift[o]-1) <= 2^31 - 1,
// so every partial sum, in any order, is an exact int32. The output is
//     out = clamp((acc + 2^(shift-1)) >> shift, -amax, amax)      (arithmetic shift)
// followed, where leaky >= 0, by LeakyReLU: out < 0 -> (out * leaky + 2^11) >> 12.
// Each result is therefore an exact integer function of the inputs, identical for any summation
// order, SIMD width or thread split — what lets the C++, reference and Triton paths agree bit for bit.
#pragma once

#include <cstdint>
#include <vector>

#include "common/status.h"
#include "integer/intgemm.h"

namespace fastcodec {

constexpr int kLeakyShift = 12;

struct IntLayer {
  int32_t cin = 0, cout = 0;
  std::vector<int16_t> weight;  // [cout][cin]
  std::vector<int32_t> bias;    // [cout]
  std::vector<int32_t> shift;   // [cout], in [0, 30]
  int32_t in_amax = 0;          // inputs lie in [-in_amax, in_amax] (callers guarantee it)
  int32_t amax = 0;             // outputs are clamped to [-amax, amax], amax <= 32767
  int32_t leaky = -1;           // LeakyReLU multiplier (slope * 2^12), -1: no activation

  // The weights repacked for the SIMD kernels (csrc/integer/intgemm.h) by Pack(); empty: the portable loop.
  PackedInt16 packed;

  // Shapes, ranges and the no-overflow bound above.
  Status Validate() const;
  // Builds `packed` from `weight` (call once the weights are final; Apply stays exact without it).
  void Pack();
  // in: [n][cin] (row stride in_stride >= cin), out: [n][cout] (row stride out_stride >= cout).
  // cin_used < cin: only the first cin_used inputs are read (the rest taken as zeros: the same
  // result as zero inputs, without their products). isa: the kernel (int_isa() by default).
  void Apply(const int16_t* in, int64_t n, int64_t in_stride, int16_t* out, int64_t out_stride,
             int32_t cin_used = -1) const;
  void ApplyWith(IntIsa isa, const int16_t* in, int64_t n, int64_t in_stride, int16_t* out, int64_t out_stride,
                 int32_t cin_used = -1) const;
  // Only the output channels of blocks [block_begin, block_end) (16 channels each, the last one
  // partial; see OutputBlocks()), written at their own columns of out: threads that split a layer by
  // output channels each read half of the weights. Same integers as Apply.
  void ApplyBlocks(IntIsa isa, const int16_t* in, int64_t n, int64_t in_stride, int16_t* out, int64_t out_stride,
                   int32_t cin_used, int32_t block_begin, int32_t block_end) const;
  int32_t OutputBlocks() const { return (cout + 15) / 16; }
};

}  // namespace fastcodec
