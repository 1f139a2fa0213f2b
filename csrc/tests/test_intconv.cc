// C++ unit tests of the int32 convolution networks (csrc/integer/intconv.*): each layer against a naive
// int64 evaluation straight from the definition (convolution and transposed convolution, borders,
// worst-case inputs), chaining checks, and models whose accumulators could overflow rejected.
#include <algorithm>
#include <cstdint>
#include <random>
#include <vector>

#include "integer/intconv.h"
#include "harness.h"

using namespace fastcodec;

namespace {

IntConv random_conv(std::mt19937& rng, bool transposed, int32_t cin, int32_t cout, int32_t k, int32_t s,
                    int32_t pad, int32_t out_pad, int32_t leaky) {
  IntConv c;
  c.transposed = transposed;
  c.cin = cin;
  c.cout = cout;
  c.kernel = k;
  c.stride = s;
  c.pad = pad;
  c.out_pad = out_pad;
  c.in_amax = 8191;
  c.amax = 8191;
  c.leaky = leaky;
  // sum |w| * in_amax over all taps < 2^30: within the bound for every phase
  const int32_t wmax = std::max<int32_t>(1, std::min<int64_t>(32767, (int64_t{1} << 30) / (int64_t{cin} * k * k * 8191)));
  std::uniform_int_distribution<int32_t> w(-wmax, wmax), b(-(1 << 20), 1 << 20), sh(6, 14);
  for (int64_t i = 0; i < int64_t{cin} * cout * k * k; ++i) c.weight.push_back(static_cast<int16_t>(w(rng)));
  for (int32_t o = 0; o < cout; ++o) {
    c.bias.push_back(b(rng));
    c.shift.push_back(sh(rng));
  }
  return c;
}

// out[oy][ox][o] straight from the definitions, int64 accumulation
std::vector<int16_t> naive(const IntConv& c, const std::vector<int16_t>& in, int32_t H, int32_t W) {
  const int64_t OH = c.OutSize(H), OW = c.OutSize(W);
  std::vector<int64_t> acc(OH * OW * c.cout, 0);
  const int32_t k = c.kernel;
  for (int32_t o = 0; o < c.cout; ++o)
    for (int32_t ci = 0; ci < c.cin; ++ci)
      for (int32_t ky = 0; ky < k; ++ky)
        for (int32_t kx = 0; kx < k; ++kx) {
          const int64_t w = c.transposed ? c.weight[((int64_t{ci} * c.cout + o) * k + ky) * k + kx]
                                         : c.weight[((int64_t{o} * c.cin + ci) * k + ky) * k + kx];
          if (c.transposed) {  // scatter: input (iy, ix) reaches output (iy s - pad + ky, ...)
            for (int32_t iy = 0; iy < H; ++iy)
              for (int32_t ix = 0; ix < W; ++ix) {
                const int64_t oy = int64_t{iy} * c.stride - c.pad + ky, ox = int64_t{ix} * c.stride - c.pad + kx;
                if (oy < 0 || oy >= OH || ox < 0 || ox >= OW) continue;
                acc[(oy * OW + ox) * c.cout + o] += w * in[(int64_t{iy} * W + ix) * c.cin + ci];
              }
          } else {
            for (int64_t oy = 0; oy < OH; ++oy)
              for (int64_t ox = 0; ox < OW; ++ox) {
                const int64_t iy = oy * c.stride - c.pad + ky, ix = ox * c.stride - c.pad + kx;
                if (iy < 0 || iy >= H || ix < 0 || ix >= W) continue;
                acc[(oy * OW + ox) * c.cout + o] += w * in[(iy * W + ix) * c.cin + ci];
              }
          }
        }
  std::vector<int16_t> out(acc.size());
  for (size_t i = 0; i < acc.size(); ++i) {
    const int32_t o = static_cast<int32_t>(i % c.cout), sh = c.shift[o];
    int64_t v = (acc[i] + c.bias[o] + (sh ? (int64_t{1} << (sh - 1)) : 0)) >> sh;
    v = std::clamp<int64_t>(v, -c.amax, c.amax);
    if (c.leaky >= 0 && v < 0) v = (v * c.leaky + 2048) >> 12;
    out[i] = static_cast<int16_t>(v);
  }
  return out;
}

void check_layer(bool transposed, int32_t k, int32_t s, int32_t pad, int32_t out_pad, int32_t H, int32_t W,
                 bool worst) {
  std::mt19937 rng(static_cast<uint32_t>(k * 100 + s * 10 + H + W + worst));
  IntConv c = random_conv(rng, transposed, 5, 7, k, s, pad, out_pad, 41);
  CHECK(c.Prepare().ok());
  std::vector<int16_t> in(static_cast<size_t>(H) * W * c.cin);
  std::uniform_int_distribution<int32_t> a(-8191, 8191);
  for (size_t i = 0; i < in.size(); ++i) {
    // worst: every input at the range limit (signs from the weights of output channel 0)
    in[i] = worst ? static_cast<int16_t>(c.weight[i % c.cin] >= 0 ? 8191 : -8191) : static_cast<int16_t>(a(rng));
  }
  std::vector<int16_t> out(c.OutSize(H) * c.OutSize(W) * c.cout);
  c.Apply(in.data(), H, W, out.data());
  CHECK(out == naive(c, in, H, W));
  for (int threads : {2, 3}) {  // bands of rows on several threads: the same integers
    std::vector<int16_t> par(out.size(), -1);
    c.Apply(in.data(), H, W, par.data(), threads);
    CHECK(par == out);
  }
}

void test_layers_match_naive() {
  for (bool worst : {false, true}) {
    check_layer(true, 5, 2, 2, 1, 3, 4, worst);   // h_s upsampling layer
    check_layer(true, 5, 2, 2, 1, 1, 1, worst);   // a single input position
    check_layer(false, 3, 1, 1, 0, 6, 5, worst);  // h_s output layer
    check_layer(false, 5, 2, 2, 0, 7, 9, worst);  // strided convolution
    check_layer(true, 3, 2, 1, 1, 4, 3, worst);
  }
}

void test_network_chains_and_runs() {
  std::mt19937 rng(3);
  IntConvNet net;
  net.layers.push_back(random_conv(rng, true, 4, 6, 5, 2, 2, 1, 41));
  net.layers.push_back(random_conv(rng, false, 6, 8, 3, 1, 1, 0, -1));
  CHECK(net.Prepare().ok());
  int32_t H, W;
  CHECK(net.OutShape(3, 2, &H, &W) && H == 6 && W == 4);
  std::vector<int32_t> z(3 * 2 * 4);
  std::uniform_int_distribution<int32_t> a(-20000, 20000);  // beyond in_amax: clamped on input
  for (auto& v : z) v = a(rng);
  std::vector<int16_t> out(H * W * 8);
  CHECK(net.Run(z.data(), 3, 2, out.data()).ok());
  std::vector<int16_t> in(z.size());
  for (size_t i = 0; i < z.size(); ++i) in[i] = static_cast<int16_t>(std::clamp(z[i], -8191, 8191));
  CHECK(out == naive(net.layers[1], naive(net.layers[0], in, 3, 2), 6, 4));
  CHECK(!net.OutShape(0, 2, &H, &W));
}

void test_invalid_models_rejected() {
  std::mt19937 rng(5);
  IntConv c = random_conv(rng, true, 8, 4, 5, 2, 2, 1, -1);
  std::fill(c.weight.begin(), c.weight.end(), int16_t{32767});  // 9 taps * 8 * 32767 * 8191 > 2^31
  CHECK(c.Prepare().code() == StatusCode::kInvalidArgument);
  IntConv d = random_conv(rng, false, 3, 3, 3, 1, 1, 0, -1);
  d.weight.pop_back();
  CHECK(d.Prepare().code() == StatusCode::kInvalidArgument);
  IntConvNet net;
  net.layers.push_back(random_conv(rng, false, 3, 5, 3, 1, 1, 0, -1));
  net.layers.push_back(random_conv(rng, false, 4, 5, 3, 1, 1, 0, -1));  // 5 channels do not feed 4
  CHECK(net.Prepare().code() == StatusCode::kInvalidArgument);
  CHECK(IntConvNet{}.Prepare().code() == StatusCode::kInvalidArgument);
}

}  // namespace

int main() {
  fastcodec_test::run("layers_match_naive", test_layers_match_naive);
  fastcodec_test::run("network_chains_and_runs", test_network_chains_and_runs);
  fastcodec_test::run("invalid_models_rejected", test_invalid_models_rejected);
  return fastcodec_test::report();
}
