// int16 x int16 -> int32 matrix products of the integer layers (csrc/integer/intnet.h): a portable loop and
// SIMD kernels (AVX2 vpmaddwd, AVX-512BW vpmaddwd, AVX-512 VNNI vpdpwssd) picked at run time.
// Every kernel computes the same exact integer sums: the layers' no-overflow bound (IntLayer::
// Validate) holds for every partial sum in any order, and a vpmaddwd pair sum |w0 x0 + w1 x1| is a
// partial sum too — so the choice of kernel never changes a result (csrc/tests/test_context.cc
// compares them all against a naive int64 evaluation).
#pragma once

#include <cstdint>
#include <vector>

namespace fastcodec {

enum class IntIsa : int { kScalar = 0, kAvx2 = 1, kAvx512 = 2, kAvx512Vnni = 3 };

// Whether this CPU (and build) runs the kernel.
bool int_isa_supported(IntIsa isa);
// The best supported kernel, capped by the environment variable FASTCODEC_INT_ISA
// (scalar | avx2 | avx512 | vnni) for tests and benchmarks; read once.
IntIsa int_isa();
const char* int_isa_name(IntIsa isa);

// Weights [cout][cin] repacked for the kernels: blocks of 16 output channels, input channels in
// pairs: data[((b * kpairs + kp) * 16 + o) * 2 + j] = w[16 b + o][2 kp + j], zero beyond cout/cin.
struct PackedInt16 {
  int32_t cin = 0, cout = 0, kpairs = 0, blocks = 0;
  std::vector<int16_t> data;
};

PackedInt16 pack_int16(const int16_t* w, int32_t cout, int32_t cin);

// acc[p * acc_stride + o - 16 * block_begin] = sum_{k < 2 * kpairs_used} w[o][k] * x[p * x_stride + k]
// for p < n and 16 * block_begin <= o < 16 * block_end (block_end < 0: w.blocks; the padded channels
// give 0) — a range of output blocks lets threads split a layer by output channels. Needs
// 2 * kpairs_used <= x_stride (rows are read in pairs: callers with an odd cin use the scalar layer
// loop instead) and acc_stride >= 16 * (block_end - block_begin).
void int16_gemm(IntIsa isa, const PackedInt16& w, int32_t kpairs_used, const int16_t* x, int64_t n,
                int64_t x_stride, int32_t* acc, int64_t acc_stride, int32_t block_begin = 0, int32_t block_end = -1);

}  // namespace fastcodec
