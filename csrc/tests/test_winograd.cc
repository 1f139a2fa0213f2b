// C++ unit tests of the Winograd stride-2 layers (csrc/transforms/winograd.*), run under the sanitizers: every
// output of small layers (borders, odd sizes, channel counts that are not multiples of 16, 1..3
// threads) against the layer straight from its definition. Inputs are small integers and weights
// and biases multiples of 1/4, so every transformed input and weight is exact in bf16 and every sum
// exact in float32: the only rounding left is the output's to bf16, and any indexing or transform
// error shows. The weights are transformed and packed here as fastcodec/functional/winograd.py
// does (G of F(2, 3) and F(2, 2)). Skipped where the CPU lacks AVX-512 BF16.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "transforms/winograd.h"
#include "bf16_values.h"
#include "harness.h"

using namespace fastcodec;
using fastcodec_test::from_bf16;
using fastcodec_test::to_bf16;

namespace {

// Taps of parity a in the order of a phase's inputs (fastcodec/functional/winograd.py, _taps).
std::vector<int> taps(int a, bool transposed) {
  if (transposed) return a == 0 ? std::vector<int>{4, 2, 0} : std::vector<int>{3, 1};
  return a == 0 ? std::vector<int>{0, 2, 4} : std::vector<int>{1, 3};
}

// w[o][i][ky][kx] (conv) or w[i][o][ky][kx] (transposed) -> packed [49][cin / 2][cout][2] bf16.
std::vector<uint16_t> pack(const std::vector<double>& w, int cin, int cout, bool transposed) {
  const double g4[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
  const double g3[3][2] = {{1, 0}, {1, 1}, {0, 1}};
  auto g = [&](int n, int r, int c) { return n == 4 ? g4[r][c] : g3[r][c]; };
  std::vector<uint16_t> out(static_cast<size_t>(49) * cin * cout);
  int e = 0;
  for (int p = 0; p < 4; ++p) {
    const int a = p >> 1, b = p & 1;
    const auto ty = taps(a, transposed), tx = taps(b, transposed);
    const int na = a == 0 ? 4 : 3, nb = b == 0 ? 4 : 3;
    for (int r = 0; r < na; ++r)
      for (int q = 0; q < nb; ++q, ++e)
        for (int i = 0; i < cin; ++i)
          for (int o = 0; o < cout; ++o) {
            double s = 0;
            for (size_t y = 0; y < ty.size(); ++y)
              for (size_t x = 0; x < tx.size(); ++x) {
                const int64_t idx = transposed ? ((static_cast<int64_t>(i) * cout + o) * 5 + ty[y]) * 5 + tx[x]
                                               : ((static_cast<int64_t>(o) * cin + i) * 5 + ty[y]) * 5 + tx[x];
                s += g(na, r, static_cast<int>(y)) * w[idx] * g(nb, q, static_cast<int>(x));
              }
            out[((static_cast<size_t>(e) * (cin / 2) + i / 2) * cout + o) * 2 + i % 2] = to_bf16(static_cast<float>(s));
          }
  }
  return out;
}

void check_layer(std::mt19937& rng, int h, int w, int cin, int cout, bool transposed, int threads) {
  std::uniform_int_distribution<int> xs(-2, 2), quarters(-4, 4);
  std::vector<uint16_t> x(static_cast<size_t>(h) * w * cin);
  for (auto& v : x) v = to_bf16(static_cast<float>(xs(rng)));
  std::vector<double> wt(static_cast<size_t>(cin) * cout * 25);
  for (auto& v : wt) v = quarters(rng) / 4.0;
  std::vector<float> bias(static_cast<size_t>(cout));
  for (auto& v : bias) v = static_cast<float>(quarters(rng) / 4.0);
  const auto u = pack(wt, cin, cout, transposed);
  const int oh = transposed ? 2 * h : (h + 1) / 2, ow = transposed ? 2 * w : (w + 1) / 2;
  std::vector<uint16_t> y(static_cast<size_t>(oh) * ow * cout, 0xffff);
  winograd_s2(x.data(), h, w, cin, u.data(), bias.data(), cout, transposed, y.data(), threads);
  for (int oy = 0; oy < oh; ++oy)
    for (int ox = 0; ox < ow; ++ox)
      for (int o = 0; o < cout; ++o) {
        double s = bias[o];
        for (int i = 0; i < cin; ++i)
          for (int ky = 0; ky < 5; ++ky)
            for (int kx = 0; kx < 5; ++kx) {
              int iy, ix;
              if (transposed) {  // oy = 2 iy - 2 + ky
                if ((oy + 2 - ky) % 2 != 0 || (ox + 2 - kx) % 2 != 0) continue;
                iy = (oy + 2 - ky) / 2;
                ix = (ox + 2 - kx) / 2;
              } else {
                iy = 2 * oy + ky - 2;
                ix = 2 * ox + kx - 2;
              }
              if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
              const double xv = from_bf16(x[(static_cast<size_t>(iy) * w + ix) * cin + i]);
              const double wv = transposed ? wt[((static_cast<size_t>(i) * cout + o) * 5 + ky) * 5 + kx]
                                           : wt[((static_cast<size_t>(o) * cin + i) * 5 + ky) * 5 + kx];
              s += xv * wv;
            }
        const double got = from_bf16(y[(static_cast<size_t>(oy) * ow + ox) * cout + o]);
        CHECK(std::fabs(got - s) <= std::fabs(s) * (1.0 / 256));  // the output's rounding to bf16 only
      }
}

}  // namespace

int main() {
  using fastcodec_test::run;
  if (!winograd_supported()) {
    return fastcodec_test::skip("winograd_s2 needs AVX-512 BF16");
  }
  std::mt19937 rng(7);
  for (bool transposed : {false, true}) {
    run("1x1, 2 -> 64", [&] { check_layer(rng, 1, 1, 2, 64, transposed, 1); });
    run("5x7, 40 -> 64, 2 threads", [&] { check_layer(rng, 5, 7, 40, 64, transposed, 2); });
    run("11x4, 16 -> 128, 3 threads", [&] { check_layer(rng, 11, 4, 16, 128, transposed, 3); });
    // several blocks of 48 tiles: 105 (transposed) and 80 tiles
    run("13x30 / 30x34, 34 -> 64, 2 threads",
        [&] { check_layer(rng, transposed ? 13 : 30, transposed ? 30 : 34, 34, 64, transposed, 2); });
  }
  return fastcodec_test::report();
}
