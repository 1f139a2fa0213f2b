// Integer convolution networks of the prior path: the hyper-synthesis h_s in the int32 format
// (docs/integer.md, "int32 convolution networks"). A layer is a convolution or a transposed
// convolution with int16 weights and activations and an int32 accumulator that cannot overflow:
// each output position of a layer sums the taps of one *phase* (a transposed convolution of
// stride s has s*s phases, each a fixed subset of its kernel taps; a convolution has one), and
// Prepare() builds one IntLayer per phase and checks the no-overflow bound of each.
// Out-of-range input positions are zeros. Activations are channel-last: [H][W][C].
#pragma once

#include <cstdint>
#include <vector>

#include "common/status.h"
#include "integer/intnet.h"

namespace fastcodec {

struct IntConv {
  bool transposed = false;
  int32_t cin = 0, cout = 0, kernel = 0, stride = 1, pad = 0, out_pad = 0;
  // torch layout: convolution [cout][cin][k][k], transposed convolution [cin][cout][k][k]
  std::vector<int16_t> weight;
  std::vector<int32_t> bias, shift;  // [cout]
  int32_t in_amax = 0, amax = 0, leaky = -1;

  struct Phase {
    std::vector<int32_t> taps;  // (ky, kx) pairs; column t * cin + ci of layer is tap t, channel ci
    IntLayer layer;
  };
  std::vector<Phase> phases;  // conv: 1; transposed: stride * stride, index (oy % s) * s + (ox % s)

  // Checks shapes and ranges, builds the phases, validates each phase's no-overflow bound.
  Status Prepare();
  int64_t OutSize(int64_t in) const;
  // in [H][W][cin] within +-in_amax, out [OutSize(H)][OutSize(W)][cout]; on up to `threads`
  // threads (bands of output rows; the result does not depend on the split).
  void Apply(const int16_t* in, int32_t H, int32_t W, int16_t* out, int threads = 1) const;
};

struct IntConvNet {
  std::vector<IntConv> layers;

  Status Prepare();
  // Output shape for an input of h x w (false if a size would be empty or beyond kMaxSide).
  bool OutShape(int32_t h, int32_t w, int32_t* H, int32_t* W) const;
  // z [h][w][cin] integers (clamped to +-layers[0].in_amax) -> out [H][W][cout] of the last layer.
  Status Run(const int32_t* z, int32_t h, int32_t w, int16_t* out, int threads = 1) const;

  static constexpr int32_t kMaxSide = 1 << 16;
};

}  // namespace fastcodec
