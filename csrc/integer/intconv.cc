#include "integer/intconv.h"

#include <algorithm>
#include <string>
#include <utility>

#include "common/parallel.h"

namespace fastcodec {

Status IntConv::Prepare() {
  if (cin <= 0 || cout <= 0 || kernel <= 0 || kernel > 15 || stride < 1 || stride > 4 || pad < 0 ||
      pad >= kernel || out_pad < 0 || out_pad >= stride)
    return Status::InvalidArgument("integer convolution: bad geometry");
  if (weight.size() != static_cast<size_t>(cin) * cout * kernel * kernel)
    return Status::InvalidArgument("integer convolution: weight size does not match its shape");
  if (bias.size() != static_cast<size_t>(cout) || shift.size() != static_cast<size_t>(cout))
    return Status::InvalidArgument("integer convolution: bias/shift sizes do not match cout");
  const int32_t nphase = transposed ? stride * stride : 1;
  phases.assign(nphase, Phase{});
  for (int32_t ph = 0; ph < nphase; ++ph) {
    const int32_t py = ph / stride, px = ph % stride;
    Phase& P = phases[ph];
    for (int32_t ky = 0; ky < kernel; ++ky)
      for (int32_t kx = 0; kx < kernel; ++kx) {
        // transposed: output oy = iy * s - pad + ky, so phase py takes the taps with
        // (py + pad - ky) divisible by s
        if (transposed && (((py + pad - ky) % stride + stride) % stride != 0 ||
                           ((px + pad - kx) % stride + stride) % stride != 0))
          continue;
        P.taps.push_back(ky);
        P.taps.push_back(kx);
      }
    const int32_t ntaps = static_cast<int32_t>(P.taps.size() / 2);
    if (ntaps == 0) return Status::InvalidArgument("integer convolution: a phase without taps");
    IntLayer& L = P.layer;
    L.cin = ntaps * cin;
    L.cout = cout;
    L.weight.resize(static_cast<size_t>(L.cin) * cout);
    for (int32_t o = 0; o < cout; ++o)
      for (int32_t t = 0; t < ntaps; ++t)
        for (int32_t c = 0; c < cin; ++c) {
          const int32_t ky = P.taps[2 * t], kx = P.taps[2 * t + 1];
          const size_t src = transposed ? ((static_cast<size_t>(c) * cout + o) * kernel + ky) * kernel + kx
                                        : ((static_cast<size_t>(o) * cin + c) * kernel + ky) * kernel + kx;
          L.weight[static_cast<size_t>(o) * L.cin + static_cast<size_t>(t) * cin + c] = weight[src];
        }
    L.bias = bias;
    L.shift = shift;
    L.in_amax = in_amax;
    L.amax = amax;
    L.leaky = leaky;
    Status st = L.Validate();
    if (!st.ok()) return st;
    L.Pack();
  }
  return Status::Ok();
}

int64_t IntConv::OutSize(int64_t in) const {
  return transposed ? (in - 1) * stride - 2 * pad + kernel + out_pad : (in + 2 * pad - kernel) / stride + 1;
}

void IntConv::Apply(const int16_t* in, int32_t H, int32_t W, int16_t* out, int threads) const {
  const int64_t OH = OutSize(H), OW = OutSize(W);
  constexpr int64_t kChunk = 32;  // output positions gathered per call of the phase layer
  const int32_t s = transposed ? stride : 1;
  // jobs: (phase, a band of output rows of that phase); they write disjoint outputs, and every
  // output is the same exact integer function of the inputs, so any split gives the same result
  constexpr int64_t kRowsPerJob = 2;
  std::vector<std::pair<int32_t, int64_t>> jobs;
  for (int32_t ph = 0; ph < static_cast<int32_t>(phases.size()); ++ph) {
    const int64_t py = transposed ? ph / s : 0;
    for (int64_t oy = py; oy < OH; oy += s * kRowsPerJob) jobs.emplace_back(ph, oy);
  }
  parallel_for(static_cast<int64_t>(jobs.size()), threads, [&](int64_t j) {
    const int32_t ph = jobs[j].first;
    const Phase& P = phases[ph];
    const int32_t px = transposed ? ph % s : 0;
    const int32_t ntaps = static_cast<int32_t>(P.taps.size() / 2);
    const int64_t width = static_cast<int64_t>(ntaps) * cin;
    std::vector<int16_t> patches(static_cast<size_t>(kChunk * width)), res(static_cast<size_t>(kChunk) * cout);
    int64_t dest[kChunk];
    int64_t n = 0;
    auto flush = [&]() {
      P.layer.Apply(patches.data(), n, width, res.data(), cout);
      for (int64_t i = 0; i < n; ++i)
        std::copy(res.data() + i * cout, res.data() + (i + 1) * cout, out + dest[i] * cout);
      n = 0;
    };
    const int64_t oy_end = std::min<int64_t>(OH, jobs[j].second + s * kRowsPerJob);
    for (int64_t oy = jobs[j].second; oy < oy_end; oy += s)
      for (int64_t ox = px; ox < OW; ox += s) {
        int16_t* row = patches.data() + n * width;
        for (int32_t t = 0; t < ntaps; ++t) {
          const int32_t ky = P.taps[2 * t], kx = P.taps[2 * t + 1];
          int64_t iy, ix;
          if (transposed) {
            iy = (oy + pad - ky) / stride;  // exact: the phase makes the numerator divisible
            ix = (ox + pad - kx) / stride;
            if (oy + pad - ky < 0) iy = -1;
            if (ox + pad - kx < 0) ix = -1;
          } else {
            iy = oy * stride - pad + ky;
            ix = ox * stride - pad + kx;
          }
          int16_t* dst = row + static_cast<int64_t>(t) * cin;
          if (iy < 0 || iy >= H || ix < 0 || ix >= W) {
            std::fill(dst, dst + cin, int16_t{0});
          } else {
            const int16_t* src = in + (iy * W + ix) * cin;
            std::copy(src, src + cin, dst);
          }
        }
        dest[n++] = oy * OW + ox;
        if (n == kChunk) flush();
      }
    if (n) flush();
  });
}

Status IntConvNet::Prepare() {
  if (layers.empty()) return Status::InvalidArgument("integer network: no layers");
  for (size_t i = 0; i < layers.size(); ++i) {
    Status st = layers[i].Prepare();
    if (!st.ok()) return Status::InvalidArgument("layer " + std::to_string(i) + ": " + st.message());
    if (i > 0) {
      if (layers[i].cin != layers[i - 1].cout)
        return Status::InvalidArgument("integer network: channels of layer " + std::to_string(i) + " do not chain");
      // the previous layer's clamp (and a LeakyReLU, which only shrinks magnitudes) guarantee the
      // next layer's input range
      if (layers[i - 1].amax > layers[i].in_amax)
        return Status::InvalidArgument("integer network: layer " + std::to_string(i) +
                                       " input range is narrower than the previous output range");
    }
  }
  return Status::Ok();
}

bool IntConvNet::OutShape(int32_t h, int32_t w, int32_t* H, int32_t* W) const {
  int64_t a = h, b = w;
  if (a < 1 || b < 1) return false;
  for (const IntConv& l : layers) {
    a = l.OutSize(a);
    b = l.OutSize(b);
    if (a < 1 || b < 1 || a > kMaxSide || b > kMaxSide) return false;
  }
  *H = static_cast<int32_t>(a);
  *W = static_cast<int32_t>(b);
  return true;
}

Status IntConvNet::Run(const int32_t* z, int32_t h, int32_t w, int16_t* out, int threads) const {
  int32_t H, W;
  if (!OutShape(h, w, &H, &W)) return Status::InvalidArgument("integer network: input size out of range");
  const int32_t lim = layers[0].in_amax;
  std::vector<int16_t> cur(static_cast<size_t>(h) * w * layers[0].cin), next;
  for (size_t i = 0; i < cur.size(); ++i) cur[i] = static_cast<int16_t>(std::clamp(z[i], -lim, lim));
  int64_t ch = h, cw = w;
  for (size_t i = 0; i < layers.size(); ++i) {
    const IntConv& l = layers[i];
    const int64_t nh = l.OutSize(ch), nw = l.OutSize(cw);
    int16_t* dst;
    if (i + 1 == layers.size()) {
      dst = out;
    } else {
      next.assign(static_cast<size_t>(nh * nw * l.cout), 0);
      dst = next.data();
    }
    l.Apply(cur.data(), static_cast<int32_t>(ch), static_cast<int32_t>(cw), dst, threads);
    cur.swap(next);
    ch = nh;
    cw = nw;
  }
  return Status::Ok();
}

}  // namespace fastcodec
