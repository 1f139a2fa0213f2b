// C++ unit tests of the integer layers and the fused context coding loops (csrc/intnet.*,
// csrc/context_coding.*): exact layer arithmetic against a naive int64 evaluation, encode/decode
// round trips in both coding orders, truncated streams and invalid models rejected.
#include <cstdint>
#include <cstdio>
#include <functional>

#include "harness.h"
#include <random>
#include <vector>

#include "../rans.h"
#include "context_fixture.h"

using namespace fastcodec;

namespace {

using fastcodec_test::run;

void test_layer_matches_naive() {
  std::mt19937 rng(1);
  IntLayer l = fastcodec_test::random_layer(rng, 70, 9, 8191, 41);
  CHECK(l.Validate().ok());
  const int64_t n = 37;  // more than one block of 32 positions
  std::vector<int16_t> in(n * 70), out(n * 9);
  std::uniform_int_distribution<int32_t> a(-8191, 8191);
  for (auto& v : in) v = static_cast<int16_t>(a(rng));
  for (int k = 0; k < 70; ++k) in[k] = static_cast<int16_t>(l.weight[k] >= 0 ? 8191 : -8191);  // worst case
  l.Apply(in.data(), n, 70, out.data(), 9);
  for (int64_t p = 0; p < n; ++p)
    for (int o = 0; o < 9; ++o) {
      int64_t acc = l.bias[o];
      for (int k = 0; k < 70; ++k) acc += int64_t{l.weight[o * 70 + k]} * in[p * 70 + k];
      const int32_t sh = l.shift[o];
      int64_t v = (acc + (sh ? (int64_t{1} << (sh - 1)) : 0)) >> sh;
      v = std::clamp<int64_t>(v, -l.amax, l.amax);
      if (v < 0) v = (v * l.leaky + 2048) >> 12;
      CHECK(out[p * 9 + o] == v);
    }
  l.weight[5] = 32767;  // sum |w| * in_amax beyond 2^31
  for (int k = 0; k < 70; ++k) l.weight[k] = 32767;
  CHECK(l.Validate().code() == StatusCode::kInvalidArgument);
}

void round_trip(ContextOrder order) {
  const int32_t M = 6, H = 7, W = 9, rows = 5;
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
  std::vector<int32_t> a(sym), b(dec);  // same multiset (coding order vs raster layout)
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  CHECK(a == b);
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
  run("round_trip_wavefront", test_round_trip_wavefront);
  run("round_trip_checkerboard", test_round_trip_checkerboard);
  run("invalid_models", test_invalid_models);
  return fastcodec_test::report();
}
