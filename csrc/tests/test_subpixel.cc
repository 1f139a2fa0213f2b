// C++ unit tests of the sub-pixel last layer (csrc/transforms/subpixel.*), run under the sanitizers: every output
// of small layers (borders, widths that are not multiples of 16, 1 to 4 output channels, 1..3
// threads) against the 5x5 stride-2 transposed convolution straight from its definition. Inputs are
// small integers and weights and biases multiples of 1/4, so every product and sum is exact in bf16
// and float32 and the comparison is exact: any indexing, tap or phase error shows. The weights are
// packed here as fastcodec/functional/subpixel.py does. Skipped where the CPU lacks AVX-512 BF16.
#include <cstdint>
#include <random>
#include <vector>

#include "transforms/subpixel.h"
#include "transforms/winograd.h"
#include "bf16_values.h"
#include "harness.h"

using namespace fastcodec;
using fastcodec_test::from_bf16;
using fastcodec_test::to_bf16;

namespace {

// W[i][c][ky][kx] (torch's ConvTranspose2d layout) -> wp[k][ty][tx][py][px][c] bf16 pairs: phase
// (py, px) reads input (r + ty - 1, j + tx - 1) with the kernel tap (py + 4 - 2 ty, px + 4 - 2 tx).
std::vector<uint32_t> pack(const std::vector<double>& W, int cin, int cout) {
  std::vector<uint32_t> wp(static_cast<size_t>(cin / 2) * 36 * cout, 0);
  for (int i = 0; i < cin; ++i)
    for (int ty = 0; ty < 3; ++ty)
      for (int tx = 0; tx < 3; ++tx)
        for (int py = 0; py < 2; ++py)
          for (int px = 0; px < 2; ++px) {
            const int ky = py + 4 - 2 * ty, kx = px + 4 - 2 * tx;
            if (ky > 4 || kx > 4) continue;
            for (int c = 0; c < cout; ++c) {
              const uint16_t b = to_bf16(static_cast<float>(W[((static_cast<size_t>(i) * cout + c) * 5 + ky) * 5 + kx]));
              uint32_t& dst = wp[((((static_cast<size_t>(i / 2) * 3 + ty) * 3 + tx) * 2 + py) * 2 + px) * cout + c];
              dst |= static_cast<uint32_t>(b) << (16 * (i % 2));
            }
          }
  return wp;
}

void check_layer(std::mt19937& rng, int h, int w, int cin, int cout, bool with_bias, int threads) {
  std::uniform_int_distribution<int> xs(-3, 3), quarters(-6, 6);
  std::vector<uint16_t> x(static_cast<size_t>(h) * w * cin);
  for (auto& v : x) v = to_bf16(static_cast<float>(xs(rng)));
  std::vector<double> W(static_cast<size_t>(cin) * cout * 25);
  for (auto& v : W) v = quarters(rng) / 4.0;
  std::vector<float> bias(static_cast<size_t>(cout));
  for (auto& v : bias) v = static_cast<float>(quarters(rng) / 4.0);
  const auto wp = pack(W, cin, cout);
  const int oh = 2 * h, ow = 2 * w;
  std::vector<float> y(static_cast<size_t>(cout) * oh * ow, -12345.0f);
  subpixel_s2(x.data(), h, w, cin, wp.data(), with_bias ? bias.data() : nullptr, cout, y.data(), threads);
  for (int c = 0; c < cout; ++c)
    for (int oy = 0; oy < oh; ++oy)
      for (int ox = 0; ox < ow; ++ox) {
        // output oy = 2 iy - 2 + ky
        double want = with_bias ? bias[c] : 0.0;
        for (int ky = 0; ky < 5; ++ky) {
          if ((oy + 2 - ky) % 2 != 0) continue;
          const int iy = (oy + 2 - ky) / 2;
          if (iy < 0 || iy >= h) continue;
          for (int kx = 0; kx < 5; ++kx) {
            if ((ox + 2 - kx) % 2 != 0) continue;
            const int ix = (ox + 2 - kx) / 2;
            if (ix < 0 || ix >= w) continue;
            for (int i = 0; i < cin; ++i)
              want += from_bf16(x[(static_cast<size_t>(iy) * w + ix) * cin + i]) *
                      W[((static_cast<size_t>(i) * cout + c) * 5 + ky) * 5 + kx];
          }
        }
        CHECK(y[(static_cast<size_t>(c) * oh + oy) * ow + ox] == static_cast<float>(want));
      }
}

}  // namespace

int main() {
  using fastcodec_test::run;
  if (!winograd_supported()) {
    return fastcodec_test::skip("subpixel_s2 needs AVX-512 BF16");
  }
  std::mt19937 rng(5);
  run("1x1 input, 2 channels, 1 output", [&] { check_layer(rng, 1, 1, 2, 1, true, 1); });
  run("3x17 input, 8 channels, 3 outputs", [&] { check_layer(rng, 3, 17, 8, 3, true, 1); });
  run("5x16 input, 6 channels, 3 outputs, no bias, 2 threads", [&] { check_layer(rng, 5, 16, 6, 3, false, 2); });
  run("7x33 input, 34 channels, 4 outputs, 3 threads", [&] { check_layer(rng, 7, 33, 34, 4, true, 3); });
  run("2x40 input, 4 channels, 2 outputs, 3 threads", [&] { check_layer(rng, 2, 40, 4, 2, true, 3); });
  return fastcodec_test::report();
}
