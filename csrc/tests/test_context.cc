// C++ unit tests of the integer layers and the fused context coding loops (csrc/integer/intnet.*,
// csrc/integer/context_coding.*): exact layer arithmetic against a naive int64 evaluation, encode/decode
// round trips in both coding orders, truncated streams and invalid models rejected.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <functional>

#include "harness.h"
#include <random>
#include <vector>

#include "coding/rans.h"
#include "context_fixture.h"

using namespace fastcodec;

namespace {

using fastcodec_test::run;

// Every kernel (portable loop, AVX2, AVX-512, VNNI: those this CPU has), packed or not, odd and
// even input widths, output widths off the 16-channel blocks, and a shortened input (cin_used)
// against a naive int64 evaluation.
void check_layer(int32_t cin, int32_t cout, int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  IntLayer l = fastcodec_test::random_layer(rng, cin, cout, 8191, 41);
  CHECK(l.Validate().ok());
  std::vector<int16_t> in(n * cin);
  std::uniform_int_distribution<int32_t> a(-8191, 8191);
  for (auto& v : in) v = static_cast<int16_t>(a(rng));
  for (int k = 0; k < cin; ++k) in[k] = static_cast<int16_t>(l.weight[k] >= 0 ? 8191 : -8191);  // worst case
  auto naive = [&](int64_t p, int32_t o, int32_t used) {
    int64_t acc = l.bias[o];
    for (int k = 0; k < used; ++k) acc += int64_t{l.weight[o * cin + k]} * in[p * cin + k];
    const int32_t sh = l.shift[o];
    int64_t v = (acc + (sh ? (int64_t{1} << (sh - 1)) : 0)) >> sh;
    v = std::clamp<int64_t>(v, -l.amax, l.amax);
    if (v < 0) v = (v * l.leaky + 2048) >> 12;
    return v;
  };
  for (int packed = 0; packed < 2; ++packed) {
    if (packed) l.Pack();
    for (IntIsa isa : {IntIsa::kScalar, IntIsa::kAvx2, IntIsa::kAvx512, IntIsa::kAvx512Vnni}) {
      if (!int_isa_supported(isa)) continue;
      for (int32_t used : {cin, cin / 4 * 2}) {
        std::vector<int16_t> out(n * cout, -1);
        l.ApplyWith(isa, in.data(), n, cin, out.data(), cout, used);
        for (int64_t p = 0; p < n; ++p)
          for (int o = 0; o < cout; ++o) CHECK(out[p * cout + o] == naive(p, o, used));
        // split by output blocks (what threads of a channel-split pass do): each part writes only
        // its own channels, and the parts together give the same integers
        const int32_t blocks = l.OutputBlocks();
        for (int32_t cut = 0; cut <= blocks; ++cut) {
          std::vector<int16_t> parts(n * cout, -1);
          l.ApplyBlocks(isa, in.data(), n, cin, parts.data(), cout, used, 0, cut);
          for (int64_t p = 0; p < n; ++p)
            for (int o = std::min(cout, cut * 16); o < cout; ++o) CHECK(parts[p * cout + o] == -1);
          l.ApplyBlocks(isa, in.data(), n, cin, parts.data(), cout, used, cut, blocks);
          CHECK(parts == out);
        }
      }
    }
  }
}

void test_layer_matches_naive() {
  check_layer(70, 9, 37, 1);     // more than one block of positions, a partial block of channels
  check_layer(71, 40, 19, 2);    // odd cin: the portable loop
  check_layer(256, 70, 45, 3);   // several tiles of 4 blocks of 16 channels
  std::mt19937 rng(1);
  IntLayer l = fastcodec_test::random_layer(rng, 70, 9, 8191, 41);
  l.weight[5] = 32767;  // sum |w| * in_amax beyond 2^31
  for (int k = 0; k < 70; ++k) l.weight[k] = 32767;
  CHECK(l.Validate().code() == StatusCode::kInvalidArgument);
}

// A vpmaddwd pair of extreme products (32767 * 32767 twice) is still an exact int32.
void test_layer_extreme_pairs() {
  IntLayer l;
  l.cin = 2;
  l.cout = 1;
  l.weight = {32767, 32767};
  l.bias = {0};
  l.shift = {16};
  l.in_amax = 32767;
  l.amax = 32767;
  CHECK(l.Validate().ok());
  l.Pack();
  const std::vector<int16_t> in = {32767, 32767, -32767, -32767};
  for (IntIsa isa : {IntIsa::kScalar, IntIsa::kAvx2, IntIsa::kAvx512, IntIsa::kAvx512Vnni}) {
    if (!int_isa_supported(isa)) continue;
    std::vector<int16_t> out(2);
    l.ApplyWith(isa, in.data(), 2, 2, out.data(), 1);
    const int64_t full = 2 * int64_t{32767} * 32767;
    CHECK(out[0] == std::min<int64_t>((full + 32768) >> 16, 32767));
    CHECK(out[1] == std::max<int64_t>((-full + 32768) >> 16, -32767));
  }
}

// M = 6: every layer is one block of 16 output channels; M = 40: several, so the channel-split
// passes of 2 and 3 threads give each thread a different share (truncations: M = 6 only).
void round_trip(ContextOrder order, int32_t M = 6) {
  const int32_t H = 7, W = 9, rows = 5;
  IntContextModel m = fastcodec_test::random_context_model(7, M, order, rows);
  CHECK(m.Validate().ok());
  const CdfTable table = fastcodec_test::laplace_table(rows);
  std::mt19937 rng(3);
  std::uniform_int_distribution<int32_t> h(-8191, 8191);
  std::normal_distribution<float> g(0.0f, 3.0f);
  std::vector<int16_t> hyper(H * W * 2 * M);
  for (auto& v : hyper) v = static_cast<int16_t>(h(rng));
  std::vector<float> y(H * W * M);
  for (auto& v : y) v = g(rng);
  y[5] = 1e6f;  // an escape
  const int64_t n = int64_t{H} * W * M;
  std::vector<int32_t> sym(n), idx(n);
  std::vector<int16_t> means_enc(n), means_dec(n);
  CHECK(context_encode(m, hyper.data(), H, W, y.data(), sym.data(), idx.data(), means_enc.data()).ok());
  std::vector<uint8_t> stream;
  CHECK(rans_encode(table, sym.data(), idx.data(), n, &stream).ok());
  std::vector<int32_t> dec(n);
  CHECK(context_decode(m, hyper.data(), H, W, table, stream.data(), stream.size(), dec.data(), means_dec.data()).ok());
  CHECK(means_dec == means_enc);
  // packed SIMD layers and 2 or 3 threads: the same symbols, tables and means
  IntContextModel packed = m;
  packed.Pack();
  for (int threads : {1, 2, 3}) {
    std::vector<int32_t> sym2(n), idx2(n), dec2(n);
    std::vector<int16_t> means2(n), means3(n);
    CHECK(context_encode(packed, hyper.data(), H, W, y.data(), sym2.data(), idx2.data(), means2.data(), threads).ok());
    CHECK(sym2 == sym && idx2 == idx && means2 == means_enc);
    CHECK(context_decode(packed, hyper.data(), H, W, table, stream.data(), stream.size(), dec2.data(), means3.data(),
                         threads).ok());
    CHECK(dec2 == dec && means3 == means_dec);
  }
  std::vector<int32_t> a(sym), b(dec);  // same multiset (coding order vs raster layout)
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  CHECK(a == b);
  if (M > 6) return;
  for (size_t cut = 0; cut < stream.size(); ++cut) {
    Status s = context_decode(m, hyper.data(), H, W, table, stream.data(), cut, dec.data(), means_dec.data());
    CHECK(!s.ok() && s.code() != StatusCode::kInvalidArgument);
  }
  hyper[0] = 9000;  // outside the entropy-parameter input range
  CHECK(context_decode(m, hyper.data(), H, W, table, stream.data(), stream.size(), dec.data(), means_dec.data())
            .code() == StatusCode::kInvalidArgument);
}

void test_round_trip_wavefront() { round_trip(ContextOrder::kWavefront); }
void test_round_trip_checkerboard() { round_trip(ContextOrder::kCheckerboard); }
void test_round_trip_wide() {
  round_trip(ContextOrder::kWavefront, 40);
  round_trip(ContextOrder::kCheckerboard, 40);
}

void test_invalid_models() {
  IntContextModel m = fastcodec_test::random_context_model(1, 4, ContextOrder::kWavefront, 3);
  CHECK(m.Validate().ok());
  IntContextModel bad = m;
  bad.taps[0] = 0;
  bad.taps[1] = 1;  // (0, +1) is not decoded yet
  CHECK(!bad.Validate().ok());
  bad = m;
  bad.thresholds[1] = -100000;  // not ascending
  CHECK(!bad.Validate().ok());
  bad = m;
  bad.params[1].cin += 1;
  CHECK(!bad.Validate().ok());
  bad = m;
  bad.params[0].in_amax = 10;  // below what the context layer can produce
  CHECK(!bad.Validate().ok());
}

}  // namespace

int main() {
  run("layer_matches_naive", test_layer_matches_naive);
  run("layer_extreme_pairs", test_layer_extreme_pairs);
  run("round_trip_wavefront", test_round_trip_wavefront);
  run("round_trip_checkerboard", test_round_trip_checkerboard);
  run("round_trip_wide", test_round_trip_wide);
  run("invalid_models", test_invalid_models);
  return fastcodec_test::report();
}
