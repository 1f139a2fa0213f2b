#include "integer/intnet.h"

#include <algorithm>
#include <cstdlib>
#include <string>

namespace fastcodec {
namespace {

// Exact by the Validate() bound whatever the order, so the compiler may vectorize freely; the
// clones pick AVX2 (vpmaddwd) where the CPU has it.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define FASTCODEC_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define FASTCODEC_CLONES
#endif

// acc[r][p] = sum_k w[r][k] * x[p][k] for R output rows at once: each x element loaded serves R
// products (the loop is bound by loads otherwise).
template <int R>
FASTCODEC_CLONES void dot_rows(const int16_t* w, int32_t cin, int32_t k_used, const int16_t* x, int64_t n,
                               int64_t stride, int32_t* acc, int64_t acc_stride) {
  for (int64_t p = 0; p < n; ++p) {
    const int16_t* xp = x + p * stride;
    int32_t s[R] = {};
    for (int32_t k = 0; k < k_used; ++k) {
      const int32_t xv = xp[k];
      for (int r = 0; r < R; ++r) s[r] += static_cast<int32_t>(w[r * static_cast<int64_t>(cin) + k]) * xv;
    }
    for (int r = 0; r < R; ++r) acc[r * acc_stride + p] = s[r];
  }
}

}  // namespace

Status IntLayer::Validate() const {
  if (cin <= 0 || cout <= 0) return Status::InvalidArgument("integer layer: empty shape");
  if (weight.size() != static_cast<size_t>(cin) * cout || bias.size() != static_cast<size_t>(cout) ||
      shift.size() != static_cast<size_t>(cout))
    return Status::InvalidArgument("integer layer: weight/bias/shift sizes do not match cin x cout");
  if (amax < 1 || amax > 32767 || in_amax < 0 || in_amax > 32767)
    return Status::InvalidArgument("integer layer: amax must lie in [1, 32767]");
  if (leaky < -1 || leaky > (1 << kLeakyShift))
    return Status::InvalidArgument("integer layer: LeakyReLU multiplier out of range");
  for (int32_t o = 0; o < cout; ++o) {
    if (shift[o] < 0 || shift[o] > 30) return Status::InvalidArgument("integer layer: shift outside [0, 30]");
    int64_t bound = std::llabs(static_cast<int64_t>(bias[o])) + (shift[o] > 0 ? (int64_t{1} << (shift[o] - 1)) : 0);
    const int16_t* w = weight.data() + static_cast<size_t>(o) * cin;
    for (int32_t k = 0; k < cin; ++k) bound += std::abs(static_cast<int32_t>(w[k])) * static_cast<int64_t>(in_amax);
    if (bound > INT32_MAX)
      return Status::InvalidArgument("integer layer: output channel " + std::to_string(o) +
                                     " can overflow its int32 accumulator");
  }
  return Status::Ok();
}

void IntLayer::Pack() { packed = pack_int16(weight.data(), cout, cin); }

namespace {

// out = clamp((acc + bias + 2^(shift-1)) >> shift, -amax, amax), then LeakyReLU where leaky >= 0.
inline int16_t finish(const IntLayer& l, int32_t o, int32_t acc) {
  const int32_t sh = l.shift[o];
  const int32_t half = sh > 0 ? (1 << (sh - 1)) : 0;
  int32_t v = (acc + l.bias[o] + half) >> sh;
  v = std::clamp(v, -l.amax, l.amax);
  if (l.leaky >= 0 && v < 0) v = (v * l.leaky + (1 << (kLeakyShift - 1))) >> kLeakyShift;
  return static_cast<int16_t>(v);
}

}  // namespace

void IntLayer::Apply(const int16_t* in, int64_t n, int64_t in_stride, int16_t* out, int64_t out_stride,
                     int32_t cin_used) const {
  ApplyWith(int_isa(), in, n, in_stride, out, out_stride, cin_used);
}

void IntLayer::ApplyWith(IntIsa isa, const int16_t* in, int64_t n, int64_t in_stride, int16_t* out,
                         int64_t out_stride, int32_t cin_used) const {
  ApplyBlocks(isa, in, n, in_stride, out, out_stride, cin_used, 0, OutputBlocks());
}

void IntLayer::ApplyBlocks(IntIsa isa, const int16_t* in, int64_t n, int64_t in_stride, int16_t* out,
                           int64_t out_stride, int32_t cin_used, int32_t block_begin, int32_t block_end) const {
  const int32_t k_used = cin_used < 0 ? cin : std::min(cin_used, cin);
  const int32_t o_begin = std::clamp(block_begin, 0, OutputBlocks()) * 16;
  const int32_t o_end = std::min(cout, std::max(block_end, 0) * 16);
  if (o_begin >= o_end) return;
  const bool simd = isa != IntIsa::kScalar && packed.cin == cin && packed.cout == cout && !packed.data.empty() &&
                    k_used % 2 == 0;
  if (simd) {
    constexpr int64_t kTile = 16;  // positions per accumulator tile
    const int32_t b0 = o_begin / 16, b1 = (o_end + 15) / 16;
    const int64_t width = int64_t{b1 - b0} * 16;
    // per-thread scratch: the context loops call this ~1,000 times per image
    thread_local std::vector<int32_t> acc;
    if (acc.size() < static_cast<size_t>(kTile * width)) acc.resize(static_cast<size_t>(kTile * width));
    for (int64_t p0 = 0; p0 < n; p0 += kTile) {
      const int64_t np = std::min(kTile, n - p0);
      int16_gemm(isa, packed, k_used / 2, in + p0 * in_stride, np, in_stride, acc.data(), width, b0, b1);
      for (int64_t p = 0; p < np; ++p)
        for (int32_t o = o_begin; o < o_end; ++o)
          out[(p0 + p) * out_stride + o] = finish(*this, o, acc[p * width + (o - o_begin)]);
    }
    return;
  }
  constexpr int64_t kBlock = 32;  // positions per pass over the weights (they stay in L1/L2)
  constexpr int kRows = 8;
  int32_t acc[kRows * kBlock];
  for (int64_t p0 = 0; p0 < n; p0 += kBlock) {
    const int64_t np = std::min(kBlock, n - p0);
    for (int32_t o0 = o_begin; o0 < o_end; o0 += kRows) {
      const int rows = std::min(kRows, o_end - o0);
      const int16_t* w = weight.data() + static_cast<size_t>(o0) * cin;
      if (rows == kRows) {
        dot_rows<kRows>(w, cin, k_used, in + p0 * in_stride, np, in_stride, acc, kBlock);
      } else {
        for (int r = 0; r < rows; ++r)
          dot_rows<1>(w + static_cast<size_t>(r) * cin, cin, k_used, in + p0 * in_stride, np, in_stride,
                      acc + r * kBlock, kBlock);
      }
      for (int r = 0; r < rows; ++r)
        for (int64_t p = 0; p < np; ++p) out[(p0 + p) * out_stride + o0 + r] = finish(*this, o0 + r, acc[r * kBlock + p]);
    }
  }
}

}  // namespace fastcodec
