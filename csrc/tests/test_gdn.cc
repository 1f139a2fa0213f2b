// C++ unit tests of the fused bf16 GDN (csrc/transforms/gdn.*), run under the sanitizers: every output of small
// layers (1 to 3 threads, position counts that do not fill a block, 64 to 192 channels), all four
// forms, against the definition in double precision on the same bf16 inputs and weights. Skipped
// (ctest: "Skipped") where the CPU lacks AVX-512 BF16.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "transforms/gdn.h"
#include "transforms/winograd.h"
#include "bf16_values.h"
#include "harness.h"

using namespace fastcodec;
using fastcodec_test::from_bf16;
using fastcodec_test::to_bf16;

namespace {

void check_gdn(std::mt19937& rng, int64_t n, int c, bool inverse, bool simplified, int threads) {
  std::normal_distribution<float> nd(0.0f, 2.0f);
  std::uniform_real_distribution<float> ud(0.0f, 0.02f);
  std::vector<uint16_t> x(static_cast<size_t>(n) * c), gt(static_cast<size_t>(c) * c), y(x.size(), 0xffff);
  std::vector<double> gamma(static_cast<size_t>(c) * c);
  std::vector<float> beta(static_cast<size_t>(c));
  for (auto& v : x) v = to_bf16(nd(rng));
  for (int i = 0; i < c; ++i) {
    beta[i] = 1.0f + ud(rng);
    for (int j = 0; j < c; ++j) {
      const uint16_t g = to_bf16((i == j ? 0.1f : 0.0f) + ud(rng));
      gamma[static_cast<size_t>(i) * c + j] = from_bf16(g);
      gt[(static_cast<size_t>(j / 2) * c + i) * 2 + j % 2] = g;  // [j / 2][i][j % 2]
    }
  }
  gdn_bf16(x.data(), n, c, gt.data(), beta.data(), inverse, simplified, y.data(), threads);
  for (int64_t p = 0; p < n; ++p)
    for (int i = 0; i < c; ++i) {
      double norm = beta[i];
      for (int j = 0; j < c; ++j) {
        const double xv = from_bf16(x[p * c + j]);
        const double f = from_bf16(to_bf16(static_cast<float>(simplified ? std::fabs(xv) : xv * xv)));
        norm += gamma[static_cast<size_t>(i) * c + j] * f;
      }
      const double s = simplified ? norm : std::sqrt(norm);
      const double xv = from_bf16(x[p * c + i]);
      const double want = inverse ? xv * s : xv / s;
      const double got = from_bf16(y[p * c + i]);
      // y's rounding to bf16 (half an ulp: up to 2^-8 relative), rsqrt14 / rcp14 (2^-14), float32 sums
      CHECK(std::fabs(got - want) <= std::fabs(want) * (1.0 / 200));
    }
}

}  // namespace

int main() {
  using fastcodec_test::run;
  if (!winograd_supported()) {
    return fastcodec_test::skip("gdn_bf16 needs AVX-512 BF16");
  }
  std::mt19937 rng(11);
  for (bool inverse : {false, true})
    for (bool simplified : {false, true}) {
      run("1 position, 64 channels", [&] { check_gdn(rng, 1, 64, inverse, simplified, 1); });
      run("101 positions, 128 channels, 2 threads", [&] { check_gdn(rng, 101, 128, inverse, simplified, 2); });
      run("50 positions, 192 channels, 3 threads", [&] { check_gdn(rng, 50, 192, inverse, simplified, 3); });
    }
  return fastcodec_test::report();
}
