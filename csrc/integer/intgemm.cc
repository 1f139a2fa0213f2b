#include "integer/intgemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <string>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define FASTCODEC_X86_KERNELS 1
#else
#define FASTCODEC_X86_KERNELS 0
#endif

namespace fastcodec {

PackedInt16 pack_int16(const int16_t* w, int32_t cout, int32_t cin) {
  PackedInt16 p;
  p.cin = cin;
  p.cout = cout;
  p.kpairs = (cin + 1) / 2;
  p.blocks = (cout + 15) / 16;
  p.data.assign(static_cast<size_t>(p.blocks) * p.kpairs * 32, 0);
  for (int32_t o = 0; o < cout; ++o)
    for (int32_t k = 0; k < cin; ++k) {
      const int32_t b = o / 16, kp = k / 2;
      p.data[((static_cast<size_t>(b) * p.kpairs + kp) * 16 + o % 16) * 2 + k % 2] = w[static_cast<size_t>(o) * cin + k];
    }
  return p;
}

namespace {

void gemm_scalar(const PackedInt16& w, int32_t kpairs_used, const int16_t* x, int64_t n, int64_t x_stride,
                 int32_t* acc, int64_t acc_stride, int32_t bb, int32_t be) {
  for (int64_t p = 0; p < n; ++p)
    for (int32_t b = bb; b < be; ++b)
      for (int32_t o = 0; o < 16; ++o) {
        int32_t s = 0;
        for (int32_t kp = 0; kp < kpairs_used; ++kp) {
          const int16_t* wp = w.data.data() + ((static_cast<size_t>(b) * w.kpairs + kp) * 16 + o) * 2;
          s += int32_t{wp[0]} * x[p * x_stride + 2 * kp] + int32_t{wp[1]} * x[p * x_stride + 2 * kp + 1];
        }
        acc[p * acc_stride + (b - bb) * 16 + o] = s;
      }
}

#if FASTCODEC_X86_KERNELS

inline int32_t load_pair(const int16_t* x) {
  int32_t v;
  std::memcpy(&v, x, 4);
  return v;
}

// One tile: NP positions x NB blocks of 16 output channels, accumulated over kp < kpairs_used.
// Weights of block b of the tile at wp + b * kpairs * 32 (consecutive kp 64 bytes apart).
#define FASTCODEC_TILE_BODY(VEC, ZERO, SET1, LOAD, STORE, MAC, LANES)                                   \
  constexpr int V = 16 / LANES; /* vectors per block of 16 channels */                               \
  VEC c[NP][NB * V];                                                                                    \
  for (int p = 0; p < NP; ++p)                                                                          \
    for (int b = 0; b < NB * V; ++b) c[p][b] = ZERO();                                                  \
  for (int32_t kp = 0; kp < kpairs_used; ++kp) {                                                        \
    VEC wv[NB * V];                                                                                     \
    for (int b = 0; b < NB; ++b)                                                                        \
      for (int v = 0; v < V; ++v)                                                                       \
        wv[b * V + v] = LOAD(reinterpret_cast<const VEC*>(wp + (static_cast<int64_t>(b) * kpairs + kp) * 32 + v * LANES * 2)); \
    for (int p = 0; p < NP; ++p) {                                                                      \
      const VEC xv = SET1(load_pair(x + p * x_stride + 2 * kp));                                        \
      for (int b = 0; b < NB * V; ++b) c[p][b] = MAC(c[p][b], xv, wv[b]);                               \
    }                                                                                                   \
  }                                                                                                     \
  for (int p = 0; p < NP; ++p)                                                                          \
    for (int b = 0; b < NB * V; ++b) STORE(reinterpret_cast<VEC*>(acc + p * acc_stride + b * LANES), c[p][b]);

using TileFn = void (*)(const int16_t* wp, int32_t kpairs, int32_t kpairs_used, const int16_t* x, int64_t x_stride,
                        int32_t* acc, int64_t acc_stride);

__attribute__((target("avx2"))) inline __m256i mac_avx2(__m256i c, __m256i x, __m256i w) {
  return _mm256_add_epi32(c, _mm256_madd_epi16(x, w));
}
template <int NP, int NB>
__attribute__((target("avx2"))) void tile_avx2(const int16_t* wp, int32_t kpairs, int32_t kpairs_used,
                                               const int16_t* x, int64_t x_stride, int32_t* acc, int64_t acc_stride) {
  FASTCODEC_TILE_BODY(__m256i, _mm256_setzero_si256, _mm256_set1_epi32, _mm256_loadu_si256, _mm256_storeu_si256,
                      mac_avx2, 8)
}

__attribute__((target("avx512f,avx512bw"))) inline __m512i mac_avx512(__m512i c, __m512i x, __m512i w) {
  return _mm512_add_epi32(c, _mm512_madd_epi16(x, w));
}
template <int NP, int NB>
__attribute__((target("avx512f,avx512bw"))) void tile_avx512(const int16_t* wp, int32_t kpairs, int32_t kpairs_used,
                                                             const int16_t* x, int64_t x_stride, int32_t* acc,
                                                             int64_t acc_stride) {
  FASTCODEC_TILE_BODY(__m512i, _mm512_setzero_si512, _mm512_set1_epi32, _mm512_loadu_si512, _mm512_storeu_si512,
                      mac_avx512, 16)
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) inline __m512i mac_vnni(__m512i c, __m512i x, __m512i w) {
  return _mm512_dpwssd_epi32(c, x, w);
}
template <int NP, int NB>
__attribute__((target("avx512f,avx512bw,avx512vnni"))) void tile_vnni(const int16_t* wp, int32_t kpairs,
                                                                       int32_t kpairs_used, const int16_t* x,
                                                                       int64_t x_stride, int32_t* acc,
                                                                       int64_t acc_stride) {
  FASTCODEC_TILE_BODY(__m512i, _mm512_setzero_si512, _mm512_set1_epi32, _mm512_loadu_si512, _mm512_storeu_si512,
                      mac_vnni, 16)
}

// Tile shapes: registers hold NP * NB * (16 / lanes) accumulators + NB * (16 / lanes) weights + 1.
constexpr int kNP512 = 4, kNB512 = 4;  // 16 + 4 + 1 of 32 zmm
constexpr int kNP256 = 2, kNB256 = 2;  // 8 + 4 + 1 of 16 ymm

// Tile functions by (np, nb); the kernels only ask for np <= their kNP, nb <= their kNB.
#define FASTCODEC_TILE_TABLE(NAME, FN)                                                \
  TileFn NAME(int np, int nb) {                                                       \
    static const TileFn table[4][4] = {                                               \
        {FN<1, 1>, FN<1, 2>, FN<1, 3>, FN<1, 4>}, {FN<2, 1>, FN<2, 2>, FN<2, 3>, FN<2, 4>}, \
        {FN<3, 1>, FN<3, 2>, FN<3, 3>, FN<3, 4>}, {FN<4, 1>, FN<4, 2>, FN<4, 3>, FN<4, 4>}}; \
    return table[np - 1][nb - 1];                                                     \
  }
FASTCODEC_TILE_TABLE(tile_avx2_fn, tile_avx2)
FASTCODEC_TILE_TABLE(tile_avx512_fn, tile_avx512)
FASTCODEC_TILE_TABLE(tile_vnni_fn, tile_vnni)

void gemm_tiled(TileFn (*tile)(int, int), int np_max, int nb_max, const PackedInt16& w, int32_t kpairs_used,
                const int16_t* x, int64_t n, int64_t x_stride, int32_t* acc, int64_t acc_stride, int32_t bb,
                int32_t be) {
  constexpr int64_t kPositions = 32;  // positions whose rows stay in L1 while the weights stream by
  for (int64_t p0 = 0; p0 < n; p0 += kPositions) {
    const int64_t p1 = std::min(n, p0 + kPositions);
    for (int32_t b0 = bb; b0 < be; b0 += nb_max) {
      const int nb = std::min(nb_max, be - b0);
      const int16_t* wp = w.data.data() + static_cast<size_t>(b0) * w.kpairs * 32;
      for (int64_t p = p0; p < p1; p += np_max) {
        const int np = static_cast<int>(std::min<int64_t>(np_max, p1 - p));
        tile(np, nb)(wp, w.kpairs, kpairs_used, x + p * x_stride, x_stride, acc + p * acc_stride + (b0 - bb) * 16, acc_stride);
      }
    }
  }
}

#endif  // FASTCODEC_X86_KERNELS

}  // namespace

bool int_isa_supported(IntIsa isa) {
  switch (isa) {
    case IntIsa::kScalar:
      return true;
#if FASTCODEC_X86_KERNELS
    case IntIsa::kAvx2:
      return __builtin_cpu_supports("avx2");
    case IntIsa::kAvx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
    case IntIsa::kAvx512Vnni:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vnni");
#endif
    default:
      return false;
  }
}

const char* int_isa_name(IntIsa isa) {
  switch (isa) {
    case IntIsa::kAvx2: return "avx2";
    case IntIsa::kAvx512: return "avx512";
    case IntIsa::kAvx512Vnni: return "vnni";
    default: return "scalar";
  }
}

IntIsa int_isa() {
  static const IntIsa chosen = [] {
    IntIsa cap = IntIsa::kAvx512Vnni;
    if (const char* env = std::getenv("FASTCODEC_INT_ISA")) {
      const std::string s(env);
      for (IntIsa i : {IntIsa::kScalar, IntIsa::kAvx2, IntIsa::kAvx512, IntIsa::kAvx512Vnni})
        if (s == int_isa_name(i)) cap = i;
    }
    IntIsa best = IntIsa::kScalar;
    for (IntIsa i : {IntIsa::kAvx2, IntIsa::kAvx512, IntIsa::kAvx512Vnni})
      if (static_cast<int>(i) <= static_cast<int>(cap) && int_isa_supported(i)) best = i;
    return best;
  }();
  return chosen;
}

void int16_gemm(IntIsa isa, const PackedInt16& w, int32_t kpairs_used, const int16_t* x, int64_t n, int64_t x_stride,
                int32_t* acc, int64_t acc_stride, int32_t block_begin, int32_t block_end) {
  if (!int_isa_supported(isa)) isa = IntIsa::kScalar;
  const int32_t bb = std::clamp(block_begin, 0, w.blocks);
  const int32_t be = block_end < 0 ? w.blocks : std::clamp(block_end, bb, w.blocks);
  switch (isa) {
#if FASTCODEC_X86_KERNELS
    case IntIsa::kAvx2:
      return gemm_tiled(tile_avx2_fn, kNP256, kNB256, w, kpairs_used, x, n, x_stride, acc, acc_stride, bb, be);
    case IntIsa::kAvx512:
      return gemm_tiled(tile_avx512_fn, kNP512, kNB512, w, kpairs_used, x, n, x_stride, acc, acc_stride, bb, be);
    case IntIsa::kAvx512Vnni:
      return gemm_tiled(tile_vnni_fn, kNP512, kNB512, w, kpairs_used, x, n, x_stride, acc, acc_stride, bb, be);
#endif
    default:
      return gemm_scalar(w, kpairs_used, x, n, x_stride, acc, acc_stride, bb, be);
  }
}

}  // namespace fastcodec
