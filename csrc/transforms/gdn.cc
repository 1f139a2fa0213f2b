#include "transforms/gdn.h"

#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "common/parallel.h"
#include "transforms/bf16_tile.h"

namespace fastcodec {

namespace {

using bf16::kCols;
using bf16::kRows;
using bf16::load_bf16;
using bf16::micro_kernel;
using bf16::store_bf16;

constexpr int kPositions = 48;  // positions per work block (a multiple of kRows)

__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"))) void run_block(
    const uint16_t* x, int64_t first, int n, int32_t c, const uint16_t* gamma_t, const float* beta, bool inverse,
    bool simplified, uint16_t* y, std::vector<uint16_t>& f) {
  const int padded = (n + kRows - 1) / kRows * kRows;
  f.assign(static_cast<size_t>(padded) * c, 0);
  const uint16_t* xb = x + first * c;
  for (int64_t i = 0; i < static_cast<int64_t>(n) * c; i += 16) {  // f(x) in bf16
    const __m512 v = load_bf16(xb + i);
    store_bf16(f.data() + i, simplified ? _mm512_abs_ps(v) : _mm512_mul_ps(v, v));
  }
  __m512 acc[kRows][4];
  for (int32_t cb = 0; cb < c; cb += kCols) {
    __m512 b[4];
    for (int j = 0; j < 4; ++j) b[j] = _mm512_loadu_ps(beta + cb + 16 * j);
    for (int r0 = 0; r0 < padded; r0 += kRows) {
      micro_kernel(f.data() + static_cast<int64_t>(r0) * c, c, gamma_t + cb * 2, c, nullptr, acc);
      const int rows = std::min(kRows, n - r0);
      for (int r = 0; r < rows; ++r) {
        const int64_t at = (first + r0 + r) * c + cb;
        for (int j = 0; j < 4; ++j) {
          const __m512 norm = _mm512_add_ps(acc[r][j], b[j]);
          // scale = sqrt(norm), 1 / sqrt(norm), norm or 1 / norm; rsqrt14 / rcp14 are within 2^-14
          // relative, far below y's bf16 rounding (2^-9)
          __m512 scale;
          if (simplified) {
            scale = inverse ? norm : _mm512_maskz_rcp14_ps(0xffff, norm);
          } else {
            const __m512 rs = _mm512_maskz_rsqrt14_ps(0xffff, norm);
            scale = inverse ? _mm512_mul_ps(norm, rs) : rs;
          }
          store_bf16(y + at + 16 * j, _mm512_mul_ps(load_bf16(x + at + 16 * j), scale));
        }
      }
    }
  }
}

}  // namespace

void gdn_bf16(const uint16_t* x, int64_t n, int32_t c, const uint16_t* gamma_t, const float* beta, bool inverse,
              bool simplified, uint16_t* y, int threads) {
  const int64_t blocks = (n + kPositions - 1) / kPositions;
  const int t = resolve_threads(threads, blocks);
  std::vector<std::vector<uint16_t>> scratch(static_cast<size_t>(t));
  parallel_for(t, t, [&](int64_t k) {
    const int64_t lo = blocks * k / t, hi = blocks * (k + 1) / t;
    for (int64_t blk = lo; blk < hi; ++blk) {
      const int64_t first = blk * kPositions;
      const int count = static_cast<int>(std::min<int64_t>(kPositions, n - first));
      run_block(x, first, count, c, gamma_t, beta, inverse, simplified, y, scratch[k]);
    }
  });
}

}  // namespace fastcodec
