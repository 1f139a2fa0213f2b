// A small random integer context model and a Gaussian-like table, for the C++ tests and the
// context-decoding fuzz target. Weights are drawn small enough to pass the no-overflow bound.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "coding/cdf_table.h"
#include "integer/context_coding.h"

namespace fastcodec_test {

inline fastcodec::IntLayer random_layer(std::mt19937& rng, int32_t cin, int32_t cout, int32_t in_amax,
                                        int32_t leaky) {
  fastcodec::IntLayer l;
  l.cin = cin;
  l.cout = cout;
  l.in_amax = in_amax;
  l.amax = 8191;
  l.leaky = leaky;
  // sum |w| * in_amax < 2^30: |w| <= 2^30 / (cin * in_amax)
  const int32_t wmax = std::max<int32_t>(1, std::min<int64_t>(32767, (int64_t{1} << 30) / (int64_t{cin} * in_amax)));
  std::uniform_int_distribution<int32_t> w(-wmax, wmax), b(-(1 << 20), 1 << 20), sh(6, 14);
  for (int64_t i = 0; i < int64_t{cin} * cout; ++i) l.weight.push_back(static_cast<int16_t>(w(rng)));
  for (int32_t o = 0; o < cout; ++o) {
    l.bias.push_back(b(rng));
    l.shift.push_back(sh(rng));
  }
  return l;
}

inline fastcodec::IntContextModel random_context_model(uint32_t seed, int32_t M, fastcodec::ContextOrder order,
                                                       int32_t num_scales) {
  std::mt19937 rng(seed);
  fastcodec::IntContextModel m;
  m.M = M;
  m.order = order;
  for (int dy = -2; dy <= 2; ++dy)
    for (int dx = -2; dx <= 2; ++dx) {
      const bool keep = order == fastcodec::ContextOrder::kWavefront ? (dy < 0 || (dy == 0 && dx < 0))
                                                                     : ((dy + dx) & 1) != 0;
      if (keep) m.taps.insert(m.taps.end(), {dy, dx});
    }
  const int32_t ntaps = static_cast<int32_t>(m.taps.size() / 2);
  m.context = random_layer(rng, ntaps * M, 2 * M, 8191, -1);
  m.params[0] = random_layer(rng, 4 * M, 3 * M, 8191, 41);
  m.params[1] = random_layer(rng, 3 * M, 3 * M, 8191, 41);
  m.params[2] = random_layer(rng, 3 * M, 2 * M, 8191, -1);
  m.y_frac = 4;
  std::uniform_int_distribution<int32_t> frac(2, 9);
  for (int32_t c = 0; c < M; ++c) m.mean_frac.push_back(frac(rng));
  m.num_scales = num_scales;
  for (int32_t c = 0; c < M; ++c)
    for (int32_t k = 0; k < num_scales; ++k) m.thresholds.push_back(-4000 + k * 8000 / num_scales);
  return m;
}

// Rows k = 0..rows-1: a discretized Laplacian of width growing with k over [-(4+4k), 4+4k], 16-bit.
inline fastcodec::CdfTable laplace_table(int rows) {
  const int width = 2 * (4 + 4 * rows) + 3;
  std::vector<int32_t> cdfs(static_cast<size_t>(rows) * width), lengths(rows), offsets(rows);
  for (int r = 0; r < rows; ++r) {
    const int c = 4 + 4 * r, len = 2 * c + 3;  // cdf entries: 2c+1 values + the escape symbol
    std::vector<double> p(2 * c + 1);
    double sum = 0;
    for (int s = 0; s <= 2 * c; ++s) sum += p[s] = std::exp(-std::abs(s - c) / (0.5 + r));
    int32_t* row = cdfs.data() + static_cast<size_t>(r) * width;
    const int32_t total = 1 << 16;
    int32_t acc = 0;
    row[0] = 0;
    for (int s = 0; s <= 2 * c; ++s) {
      int32_t f = 1 + static_cast<int32_t>(p[s] / sum * (total - 2 * len));
      acc += f;
      row[s + 1] = acc;
    }
    row[len - 1] = total;  // escape takes the rest
    for (int s = len; s < width; ++s) row[s] = total;
    lengths[r] = len;
    offsets[r] = -c;
  }
  fastcodec::CdfTable t;
  if (!fastcodec::CdfTable::Build(cdfs.data(), rows, width, lengths.data(), offsets.data(), 16, &t).ok())
    __builtin_trap();
  return t;
}

}  // namespace fastcodec_test
