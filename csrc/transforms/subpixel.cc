#include "transforms/subpixel.h"

#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "common/parallel.h"

namespace fastcodec {

namespace {

constexpr int kLanes = 16;

// One row band of the layer: low-resolution rows [r0, r1) -> output rows [2 r0, 2 r1).
template <int COUT>
class Band {
 public:
  Band(const uint16_t* x, int32_t h, int32_t w, int32_t cin, const uint32_t* wp, const float* bias, float* y)
      : x_(x), h_(h), w_(w), cpairs_(cin / 2), wp_(wp), y_(y),
        stride_((w + kLanes - 1) / kLanes * kLanes + 2),
        rows_(3, std::vector<uint32_t>(static_cast<size_t>(cpairs_) * stride_, 0)) {
    for (int c = 0; c < COUT; ++c) bias_[c] = bias != nullptr ? bias[c] : 0.0f;
  }

  __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"))) void Run(int32_t r0, int32_t r1) {
    Transpose(r0 - 1);
    Transpose(r0);
    for (int32_t r = r0; r < r1; ++r) {
      Transpose(r + 1);
      const uint32_t* t[3] = {Row(r - 1), Row(r), Row(r + 1)};
      int32_t j0 = 0;
      for (; j0 + kLanes < w_; j0 += 2 * kLanes) Chunks<2>(t, r, j0);
      if (j0 < w_) Chunks<1>(t, r, j0);
    }
  }

 private:
  // rows_[r mod 3][k][1 + j] = channel pair k of input position (r, j); column 0 and the columns
  // from w + 1 on stay 0 (the layer's padding), and so does a whole row outside the image.
  __attribute__((target("avx512f,avx512bw,avx512vl"))) void Transpose(int32_t r) {
    std::vector<uint32_t>& dst = rows_[Slot(r)];
    if (r < 0 || r >= h_) {
      std::fill(dst.begin(), dst.end(), 0u);
      return;
    }
    const auto* src = reinterpret_cast<const int*>(x_ + static_cast<int64_t>(r) * w_ * 2 * cpairs_);
    const __m512i lane = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    const __m512i index = _mm512_mullo_epi32(lane, _mm512_set1_epi32(cpairs_));
    for (int32_t j0 = 0; j0 < w_; j0 += kLanes) {
      const int n = std::min(kLanes, w_ - j0);
      const __mmask16 mask = static_cast<__mmask16>((1u << n) - 1);
      const int* base = src + static_cast<int64_t>(j0) * cpairs_;
      for (int32_t k = 0; k < cpairs_; ++k) {
        const __m512i v = _mm512_mask_i32gather_epi32(_mm512_setzero_si512(), mask, index, base + k, 4);
        _mm512_storeu_si512(dst.data() + static_cast<int64_t>(k) * stride_ + 1 + j0, v);
      }
    }
  }

  int Slot(int32_t r) const { return ((r % 3) + 3) % 3; }
  const uint32_t* Row(int32_t r) const { return rows_[Slot(r)].data(); }

  // Output rows 2r, 2r + 1, columns [2 j0, 2 j0 + 32 NC) of every channel: NC chunks of 16 input
  // positions share each broadcast weight pair.
  template <int NC>
  __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"))) void Chunks(const uint32_t* const* t, int32_t r,
                                                                               int32_t j0) {
    __m512 acc[NC][4][COUT];
#pragma GCC unroll 2
    for (int n = 0; n < NC; ++n)
#pragma GCC unroll 4
      for (int p = 0; p < 4; ++p)
#pragma GCC unroll 4
        for (int c = 0; c < COUT; ++c) acc[n][p][c] = _mm512_setzero_ps();
    for (int32_t k = 0; k < cpairs_; ++k) {
      const uint32_t* wk = wp_ + static_cast<int64_t>(k) * 36 * COUT;
#pragma GCC unroll 3
      for (int ty = 0; ty < 3; ++ty)
#pragma GCC unroll 3
        for (int tx = 0; tx < 3; ++tx) {
          const uint32_t* src = t[ty] + static_cast<int64_t>(k) * stride_ + j0 + tx;
          __m512bh xv[NC];
#pragma GCC unroll 2
          for (int n = 0; n < NC; ++n) xv[n] = (__m512bh)_mm512_loadu_si512(src + n * kLanes);
#pragma GCC unroll 2
          for (int py = 0; py < 2; ++py)
#pragma GCC unroll 2
            for (int px = 0; px < 2; ++px) {
              if (ty < py || tx < px) continue;  // a zero tap of this phase
              const uint32_t* wt = wk + ((ty * 3 + tx) * 4 + py * 2 + px) * COUT;
#pragma GCC unroll 4
              for (int c = 0; c < COUT; ++c) {
                const __m512bh wv = (__m512bh)_mm512_set1_epi32(static_cast<int>(wt[c]));
#pragma GCC unroll 2
                for (int n = 0; n < NC; ++n)
                  acc[n][py * 2 + px][c] = _mm512_dpbf16_ps(acc[n][py * 2 + px][c], xv[n], wv);
              }
            }
        }
    }
#pragma GCC unroll 2
    for (int n = 0; n < NC; ++n) Store(acc[n], r, j0 + n * kLanes);
  }

  // acc[phase][c] of input positions (r, j0 .. j0 + 15) to their outputs: the two column phases of
  // each output row interleaved (lanes l of px 0 and px 1), the bias added.
  __attribute__((target("avx512f,avx512bw,avx512vl"))) void Store(const __m512 (&acc)[4][COUT], int32_t r, int32_t j0) {
    const __m512i lo = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
    const __m512i hi = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
    const int n2 = 2 * std::min(kLanes, w_ - j0);  // valid output columns of the chunk
    const __mmask16 m0 = static_cast<__mmask16>(n2 >= 16 ? 0xffff : (1u << n2) - 1);
    const __mmask16 m1 = static_cast<__mmask16>(n2 >= 32 ? 0xffff : n2 <= 16 ? 0 : (1u << (n2 - 16)) - 1);
    const int64_t ow = 2 * static_cast<int64_t>(w_), plane = 2 * static_cast<int64_t>(h_) * ow;
#pragma GCC unroll 2
    for (int py = 0; py < 2; ++py)
#pragma GCC unroll 4
      for (int c = 0; c < COUT; ++c) {
        const __m512 b = _mm512_set1_ps(bias_[c]);
        const __m512 a0 = _mm512_add_ps(acc[py * 2][c], b), a1 = _mm512_add_ps(acc[py * 2 + 1][c], b);
        float* dst = y_ + c * plane + (2 * static_cast<int64_t>(r) + py) * ow + 2 * static_cast<int64_t>(j0);
        _mm512_mask_storeu_ps(dst, m0, _mm512_permutex2var_ps(a0, lo, a1));
        _mm512_mask_storeu_ps(dst + 16, m1, _mm512_permutex2var_ps(a0, hi, a1));
      }
  }

  const uint16_t* x_;
  int32_t h_, w_, cpairs_;
  const uint32_t* wp_;
  float* y_;
  float bias_[COUT];
  int64_t stride_;  // columns of a transposed row: the chunks' reads end at j0 + 2 + 15 < stride_ (j0 + 16 < w for a pair)
  std::vector<std::vector<uint32_t>> rows_;
};

template <int COUT>
void run(const uint16_t* x, int32_t h, int32_t w, int32_t cin, const uint32_t* wp, const float* bias, float* y,
         int threads) {
  const int t = resolve_threads(threads, h);
  // contiguous bands (a band transposes two rows beyond its own once)
  parallel_for(t, t, [&](int64_t k) {
    Band<COUT> band(x, h, w, cin, wp, bias, y);
    band.Run(static_cast<int32_t>(h * k / t), static_cast<int32_t>(h * (k + 1) / t));
  });
}

}  // namespace

void subpixel_s2(const uint16_t* x, int32_t h, int32_t w, int32_t cin, const uint32_t* wp, const float* bias,
                 int32_t cout, float* y, int threads) {
  switch (cout) {
    case 1: return run<1>(x, h, w, cin, wp, bias, y, threads);
    case 2: return run<2>(x, h, w, cin, wp, bias, y, threads);
    case 3: return run<3>(x, h, w, cin, wp, bias, y, threads);
    default: return run<4>(x, h, w, cin, wp, bias, y, threads);
  }
}

}  // namespace fastcodec
