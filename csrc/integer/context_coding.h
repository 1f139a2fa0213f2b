// Fused coding loops of the context models (mbt2018, he2021-checkerboard) in integer arithmetic:
// masked context convolution + entropy-parameter network + scale-table index + rANS, with no
// Python per position (spec: docs/integer.md). Encoder and decoder run the same function body, so
// they pick the same table for every symbol on every machine.
//
// Layouts are channel-last: hyper [H][W][2M] (scales then means, already in the entropy-parameter
// input format), symbols and means [H][W][M]. The coding order:
//   kWavefront (mbt2018): positions by t = 3h + w, raster order within a t; every context tap
//     (dy, dx) must satisfy 3*dy + dx < 0, so a wavefront only reads earlier wavefronts.
//   kCheckerboard (he2021): anchors ((h + w) even) in raster order with a zero context, then the
//     other positions in raster order with the context of the decoded anchors; taps must have
//     dy + dx odd.
// Within a position, the M channels in order. Symbol i of the stream is position-major.
#pragma once

#include <cstdint>
#include <vector>

#include "coding/cdf_table.h"
#include "common/status.h"
#include "integer/intnet.h"

namespace fastcodec {

enum class ContextOrder : int { kWavefront = 0, kCheckerboard = 1 };

struct IntContextModel {
  int32_t M = 0;
  std::vector<int32_t> taps;   // (dy, dx) pairs of the kept kernel taps, tap-major in context.weight
  IntLayer context;            // cin = taps * M, cout = 2M (no activation)
  IntLayer params[3];          // params[0].cin = 4M: [hyper 2M | context 2M]; params[2].cout = 2M
  int32_t y_frac = 0;          // fractional bits of the decoded latent fed to the context
  std::vector<int32_t> mean_frac;   // [M]: fractional bits of output channel M + c (the means)
  int32_t num_scales = 0;
  std::vector<int32_t> thresholds;  // [M][num_scales], ascending: index = #{k : thr[c][k] < scale}
  ContextOrder order = ContextOrder::kWavefront;

  Status Validate() const;
  // Packs every layer's weights for the SIMD kernels (after Validate; results are the same without).
  void Pack();
};

// Decodes y: symbols and means [H][W][M] (the latent is symbol + mean * 2^-mean_frac[c]).
// hyper values must lie in [-params[0].in_amax, params[0].in_amax] (checked). The positions of a
// pass are predicted on up to `threads` threads (<= 0: all cores); the result does not depend on it.
Status context_decode(const IntContextModel& m, const int16_t* hyper, int32_t H, int32_t W,
                      const CdfTable& table, const uint8_t* data, size_t size, int32_t* symbols,
                      int16_t* means, int threads = 1);

// Encoder: y [H][W][M] float; fills symbols and table indexes in coding order (n = H*W*M each) and
// means [H][W][M]. Symbols are round-half-even(y - mean), clamped to +-2^30.
Status context_encode(const IntContextModel& m, const int16_t* hyper, int32_t H, int32_t W, const float* y,
                      int32_t* symbols_in_order, int32_t* indexes_in_order, int16_t* means, int threads = 1);

}  // namespace fastcodec
