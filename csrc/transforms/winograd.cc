#include "transforms/winograd.h"

#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "common/parallel.h"
#include "transforms/bf16_tile.h"

namespace fastcodec {

namespace {

using bf16::kCols;
using bf16::kRows;
using bf16::load_bf16;
using bf16::load_bf16_tail;
using bf16::micro_kernel;
using bf16::store_bf16;
using bf16::store_bf16_tail;

// 1D transforms. n = 4: F(2, 3), inputs d0..d3, products m = BT d, outputs AT m. n = 3: F(2, 2).
constexpr int kBT4[4][4] = {{1, 0, -1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, 1, 0, -1}};
constexpr int kBT3[3][3] = {{1, -1, 0}, {0, 1, 0}, {0, -1, 1}};
constexpr int kAT4[2][4] = {{1, 1, 1, 0}, {0, 1, -1, -1}};
constexpr int kAT3[2][3] = {{1, 1, 0}, {0, 1, 1}};

constexpr int kElements = 49;  // 16 + 12 + 12 + 9
constexpr int kTiles = 48;      // tiles per work block (a multiple of kRows, bf16_tile.h)

inline int phase_n(int a) { return a == 0 ? 4 : 3; }
inline int bt(int n, int r, int c) { return n == 4 ? kBT4[r][c] : kBT3[r][c]; }
inline int at(int n, int r, int c) { return n == 4 ? kAT4[r][c] : kAT3[r][c]; }
inline int phase_offset(int p) { return p == 0 ? 0 : p == 1 ? 16 : p == 2 ? 28 : 40; }

struct Geometry {
  int32_t h, w, cin, cout;
  bool transposed;
  int32_t lh, lw;          // the low-resolution grid the tiles cover
  int32_t tiles_x;  // tiles per row
  int64_t tiles;    // tiles in all
  // First low-resolution input offset of a phase's input tile (relative to the tile's origin).
  int start(int a) const { return (transposed && a == 1) ? 0 : -1; }
  // Full-resolution input index of low-resolution index r in phase a, or -1 outside the image.
  int src(int r, int a, int32_t size) const {
    const int s = transposed ? r : 2 * r + a;
    return (s >= 0 && s < size) ? s : -1;
  }
};

// s + co * v for a transform coefficient co in {-1, 0, 1}.
__attribute__((target("avx512f"))) inline __m512 add_signed(__m512 s, __m512 v, int co) {
  return co == 1 ? _mm512_add_ps(s, v) : co == -1 ? _mm512_sub_ps(s, v) : s;
}

// V[e][t][c] for the NA x NB input tile of one phase: the separable input transform, 16 channels
// at a time in float32 (a masked tail for cin % 16), rounded once to bf16.
template <int NA, int NB>
__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"))) void input_transform(const uint16_t* const* ptr,
                                                                            int32_t cin, uint16_t* v,
                                                                            int64_t e_stride) {
  for (int32_t c = 0; c < cin; c += 16) {
    const int n = std::min(16, cin - c);
    __m512 d[NA][NB], t[NA][NB];
#pragma GCC unroll 16
    for (int i = 0; i < NA; ++i)
#pragma GCC unroll 4
      for (int k = 0; k < NB; ++k) d[i][k] = n == 16 ? load_bf16(ptr[i * NB + k] + c) : load_bf16_tail(ptr[i * NB + k] + c, n);
#pragma GCC unroll 4
    for (int r = 0; r < NA; ++r)
#pragma GCC unroll 4
      for (int k = 0; k < NB; ++k) {
        __m512 s = _mm512_setzero_ps();
#pragma GCC unroll 4
        for (int i = 0; i < NA; ++i) s = add_signed(s, d[i][k], bt(NA, r, i));
        t[r][k] = s;
      }
#pragma GCC unroll 4
    for (int r = 0; r < NA; ++r)
#pragma GCC unroll 4
      for (int q = 0; q < NB; ++q) {
        __m512 s = _mm512_setzero_ps();
#pragma GCC unroll 4
        for (int k = 0; k < NB; ++k) s = add_signed(s, t[r][k], bt(NB, q, k));
        if (n == 16) {
          store_bf16(v + (r * NB + q) * e_stride + c, s);
        } else {
          store_bf16_tail(v + (r * NB + q) * e_stride + c, s, n);
        }
      }
  }
}

struct Scratch {
  std::vector<uint16_t> v;  // [49][kTiles][cin]
  std::vector<float> m;     // [16][kTiles][cout]: the products of one phase's elements
  std::vector<float> o;     // [phases][kTiles][2][2][cout]
};

// o[t][q] (+)= the separable output transform AT_a M AT_b^T of one phase's products m, for the
// tile's 2x2 outputs q; store = true for the phase that writes o first.
template <int NA, int NB>
__attribute__((target("avx512f"))) void output_transform(const float* m, int n_tiles, int32_t cout, float* o,
                                                         bool store) {
  const int64_t e_stride = static_cast<int64_t>(kTiles) * cout;
  for (int t = 0; t < n_tiles; ++t)
    for (int32_t c = 0; c < cout; c += 16) {
      const float* src = m + static_cast<int64_t>(t) * cout + c;
      __m512 r[2][NB];
#pragma GCC unroll 4
      for (int k = 0; k < NB; ++k) {
        __m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
#pragma GCC unroll 4
        for (int i = 0; i < NA; ++i) {
          const int c0 = at(NA, 0, i), c1 = at(NA, 1, i);
          if (c0 == 0 && c1 == 0) continue;
          const __m512 v = _mm512_loadu_ps(src + (i * NB + k) * e_stride);
          s0 = add_signed(s0, v, c0);
          s1 = add_signed(s1, v, c1);
        }
        r[0][k] = s0;
        r[1][k] = s1;
      }
#pragma GCC unroll 2
      for (int oi = 0; oi < 2; ++oi)
#pragma GCC unroll 2
        for (int ok = 0; ok < 2; ++ok) {
          __m512 acc = _mm512_setzero_ps();
#pragma GCC unroll 4
          for (int k = 0; k < NB; ++k) acc = add_signed(acc, r[oi][k], at(NB, ok, k));
          float* dst = o + (static_cast<int64_t>(t) * 4 + oi * 2 + ok) * cout + c;
          _mm512_storeu_ps(dst, store ? acc : _mm512_add_ps(_mm512_loadu_ps(dst), acc));
        }
    }
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"))) void run_block(const Geometry& g, const uint16_t* x,
                                                                       const uint16_t* u, const float* bias,
                                                                       const uint16_t* zeros, int64_t first,
                                                                       uint16_t* y, Scratch& s) {
  const int32_t cin = g.cin, cout = g.cout;
  const int n_tiles = static_cast<int>(std::min<int64_t>(kTiles, g.tiles - first));
  const int padded = (n_tiles + kRows - 1) / kRows * kRows;
  const int out_phases = g.transposed ? 4 : 1;
  const int64_t e_stride = static_cast<int64_t>(padded) * cin;
  s.v.resize(static_cast<size_t>(kElements) * kTiles * cin);
  s.o.resize(static_cast<size_t>(out_phases) * kTiles * 4 * cout);  // written whole by the output transforms

  // Input transforms of every tile of the block (padding tiles read zeros).
  const uint16_t* ptr[16];
  for (int t = 0; t < padded; ++t) {
    const int64_t tile = first + t;
    const bool real = t < n_tiles;
    const int32_t ty = real ? static_cast<int32_t>(tile / g.tiles_x) * 2 : 0;
    const int32_t tx = real ? static_cast<int32_t>(tile % g.tiles_x) * 2 : 0;
    for (int p = 0; p < 4; ++p) {
      const int a = p >> 1, b = p & 1, na = phase_n(a), nb = phase_n(b);
      for (int i = 0; i < na; ++i) {
        const int ry = real ? g.src(ty + g.start(a) + i, a, g.h) : -1;
        for (int k = 0; k < nb; ++k) {
          const int rx = ry < 0 ? -1 : g.src(tx + g.start(b) + k, b, g.w);
          ptr[i * nb + k] = rx < 0 ? zeros : x + (static_cast<int64_t>(ry) * g.w + rx) * cin;
        }
      }
      uint16_t* v = s.v.data() + phase_offset(p) * e_stride + static_cast<int64_t>(t) * cin;
      if (p == 0) input_transform<4, 4>(ptr, cin, v, e_stride);
      if (p == 1) input_transform<4, 3>(ptr, cin, v, e_stride);
      if (p == 2) input_transform<3, 4>(ptr, cin, v, e_stride);
      if (p == 3) input_transform<3, 3>(ptr, cin, v, e_stride);
    }
  }

  // Products of each phase's elements into m, then the phase's output transform into o.
  s.m.resize(static_cast<size_t>(16) * kTiles * cout);
  const int64_t m_stride = static_cast<int64_t>(kTiles) * cout;
  __m512 acc[kRows][4];
  for (int p = 0; p < 4; ++p) {
    const int a = p >> 1, b = p & 1, na = phase_n(a), nb = phase_n(b);
    for (int i = 0; i < na; ++i)
      for (int k = 0; k < nb; ++k) {
        const int e = phase_offset(p) + i * nb + k;
        const uint16_t* ue = u + static_cast<int64_t>(e) * cin * cout;
        float* me = s.m.data() + (i * nb + k) * m_stride;
        for (int32_t cb = 0; cb < cout; cb += kCols) {
          const uint16_t* next = cb + kCols < cout ? ue + (cb + kCols) * 2
                                 : e + 1 < kElements ? ue + static_cast<int64_t>(cin) * cout : nullptr;
          for (int t0 = 0; t0 < padded; t0 += kRows) {
            micro_kernel(s.v.data() + e * e_stride + static_cast<int64_t>(t0) * cin, cin, ue + cb * 2, cout,
                         t0 + kRows >= padded ? next : nullptr, acc);
            const int rows = std::min(kRows, n_tiles - t0);
            for (int r = 0; r < rows; ++r)
              for (int j = 0; j < 4; ++j) _mm512_storeu_ps(me + static_cast<int64_t>(t0 + r) * cout + cb + 16 * j, acc[r][j]);
          }
        }
      }
    // a convolution's phases all add into one output (phase 0 writes it first); a transposed
    // convolution's phases each write their own
    float* o_phase = s.o.data() + (g.transposed ? static_cast<int64_t>(p) * kTiles * 4 * cout : 0);
    const bool store = g.transposed || p == 0;
    if (p == 0) output_transform<4, 4>(s.m.data(), n_tiles, cout, o_phase, store);
    if (p == 1) output_transform<4, 3>(s.m.data(), n_tiles, cout, o_phase, store);
    if (p == 2) output_transform<3, 4>(s.m.data(), n_tiles, cout, o_phase, store);
    if (p == 3) output_transform<3, 3>(s.m.data(), n_tiles, cout, o_phase, store);
  }

  // Bias, bf16, and the tiles' outputs to their places.
  const int32_t ow = g.transposed ? 2 * g.w : g.lw;
  for (int t = 0; t < n_tiles; ++t) {
    const int64_t tile = first + t;
    const int32_t ty = static_cast<int32_t>(tile / g.tiles_x) * 2, tx = static_cast<int32_t>(tile % g.tiles_x) * 2;
    for (int p = 0; p < out_phases; ++p)
      for (int q = 0; q < 4; ++q) {
        const int32_t ly = ty + (q >> 1), lx = tx + (q & 1);
        if (ly >= g.lh || lx >= g.lw) continue;
        const int32_t oy = g.transposed ? 2 * ly + (p >> 1) : ly, ox = g.transposed ? 2 * lx + (p & 1) : lx;
        const float* src = s.o.data() + ((static_cast<int64_t>(p) * kTiles + t) * 4 + q) * cout;
        uint16_t* dst = y + (static_cast<int64_t>(oy) * ow + ox) * cout;
        for (int32_t c = 0; c < cout; c += 16) {
          __m512 val = _mm512_loadu_ps(src + c);
          if (bias != nullptr) val = _mm512_add_ps(val, _mm512_loadu_ps(bias + c));
          store_bf16(dst + c, val);
        }
      }
  }
}

}  // namespace

bool winograd_supported() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bf16");
}

void winograd_s2(const uint16_t* x, int32_t h, int32_t w, int32_t cin, const uint16_t* u, const float* bias,
                 int32_t cout, bool transposed, uint16_t* y, int threads) {
  Geometry g;
  g.h = h;
  g.w = w;
  g.cin = cin;
  g.cout = cout;
  g.transposed = transposed;
  g.lh = transposed ? h : (h + 1) / 2;
  g.lw = transposed ? w : (w + 1) / 2;
  g.tiles_x = (g.lw + 1) / 2;
  g.tiles = static_cast<int64_t>(g.tiles_x) * ((g.lh + 1) / 2);
  const std::vector<uint16_t> zeros(static_cast<size_t>(cin), 0);
  const int64_t blocks = (g.tiles + kTiles - 1) / kTiles;
  const int t = resolve_threads(threads, blocks);
  std::vector<Scratch> scratch(static_cast<size_t>(t));
  // Blocks in contiguous ranges per thread (neighbouring tiles share input rows in cache).
  parallel_for(t, t, [&](int64_t k) {
    const int64_t lo = blocks * k / t, hi = blocks * (k + 1) / t;
    for (int64_t blk = lo; blk < hi; ++blk) run_block(g, x, u, bias, zeros.data(), blk * kTiles, y, scratch[k]);
  });
}

}  // namespace fastcodec
