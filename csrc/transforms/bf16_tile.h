// Shared pieces of the bf16 CPU kernels (winograd.cc, gdn.cc beside this file): bf16 <-> float32 loads
// and stores, and the register-blocked product of kRows rows by kCols columns with AVX-512 BF16
// vdpbf16ps (float32 sums of bf16 channel pairs). Callers check winograd_supported() first.
#pragma once

#include <immintrin.h>

#include <cstdint>
#include <cstring>

namespace fastcodec {
namespace bf16 {

constexpr int kRows = 6;   // rows (tiles, positions) per register block
constexpr int kCols = 64;  // output channels per register block (4 x 16)

// (The maskz forms: GCC 12's plain ones start from _mm512_undefined_epi32 and warn at -O3.)
__attribute__((target("avx512f,avx512bw"))) inline __m512 load_bf16(const uint16_t* p) {
  const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  return _mm512_castsi512_ps(_mm512_maskz_slli_epi32(0xffff, _mm512_maskz_cvtepu16_epi32(0xffff, v), 16));
}

// The first n < 16 values at p (the rest 0).
__attribute__((target("avx512f,avx512bw,avx512vl"))) inline __m512 load_bf16_tail(const uint16_t* p, int n) {
  const __m256i v = _mm256_maskz_loadu_epi16(static_cast<__mmask16>((1u << n) - 1), p);
  return _mm512_castsi512_ps(_mm512_maskz_slli_epi32(0xffff, _mm512_maskz_cvtepu16_epi32(0xffff, v), 16));
}

__attribute__((target("avx512f,avx512bw,avx512bf16"))) inline void store_bf16(uint16_t* p, __m512 v) {
  const __m256bh b = _mm512_cvtneps_pbh(v);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(p), reinterpret_cast<const __m256i&>(b));
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"))) inline void store_bf16_tail(uint16_t* p, __m512 v,
                                                                                          int n) {
  const __m256bh b = _mm512_cvtneps_pbh(v);
  _mm256_mask_storeu_epi16(p, static_cast<__mmask16>((1u << n) - 1), reinterpret_cast<const __m256i&>(b));
}

// acc[r][j] = sum_k v[r * k_stride... ]: rows r < kRows of v (bf16, row length cin, consecutive rows
// cin apart) times the kCols columns of u starting at u (bf16 pairs: u[(k / 2) * cout * 2 + 2 n +
// k % 2], row stride cout * 2), float32 sums by vdpbf16ps on channel pairs. prefetch (or null): the
// next weight block (same layout), fetched into L1 meanwhile.
__attribute__((target("avx512f,avx512bw,avx512bf16"))) inline void micro_kernel(const uint16_t* v, int32_t cin,
                                                                                const uint16_t* u, int32_t cout,
                                                                                const uint16_t* prefetch,
                                                                                __m512 acc[kRows][4]) {
  for (int r = 0; r < kRows; ++r)
    for (int j = 0; j < 4; ++j) acc[r][j] = _mm512_setzero_ps();
  const int32_t kpairs = cin / 2;
  for (int32_t kp = 0; kp < kpairs; ++kp) {
    const uint16_t* up = u + static_cast<int64_t>(kp) * cout * 2;
    if (prefetch != nullptr) {  // the next weight block, 256 bytes per channel pair, into L1
      const char* pf = reinterpret_cast<const char*>(prefetch + static_cast<int64_t>(kp) * cout * 2);
      _mm_prefetch(pf, _MM_HINT_T0);
      _mm_prefetch(pf + 64, _MM_HINT_T0);
      _mm_prefetch(pf + 128, _MM_HINT_T0);
      _mm_prefetch(pf + 192, _MM_HINT_T0);
    }
    const __m512i b0 = _mm512_loadu_si512(up), b1 = _mm512_loadu_si512(up + 32);
    const __m512i b2 = _mm512_loadu_si512(up + 64), b3 = _mm512_loadu_si512(up + 96);
    for (int r = 0; r < kRows; ++r) {
      int32_t pair;
      std::memcpy(&pair, v + static_cast<int64_t>(r) * cin + 2 * kp, 4);
      const __m512i a = _mm512_set1_epi32(pair);
      acc[r][0] = _mm512_dpbf16_ps(acc[r][0], reinterpret_cast<const __m512bh&>(a), reinterpret_cast<const __m512bh&>(b0));
      acc[r][1] = _mm512_dpbf16_ps(acc[r][1], reinterpret_cast<const __m512bh&>(a), reinterpret_cast<const __m512bh&>(b1));
      acc[r][2] = _mm512_dpbf16_ps(acc[r][2], reinterpret_cast<const __m512bh&>(a), reinterpret_cast<const __m512bh&>(b2));
      acc[r][3] = _mm512_dpbf16_ps(acc[r][3], reinterpret_cast<const __m512bh&>(a), reinterpret_cast<const __m512bh&>(b3));
    }
  }
}

}  // namespace bf16
}  // namespace fastcodec
