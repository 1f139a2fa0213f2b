#include "integer/context_coding.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "coding/rans.h"
#include "common/parallel.h"

namespace fastcodec {

Status IntContextModel::Validate() const {
  if (M <= 0 || M > 4096) return Status::InvalidArgument("context model: M out of range");
  const size_t ntaps = taps.size() / 2;
  if (taps.size() % 2 != 0 || ntaps == 0 || ntaps > 64) return Status::InvalidArgument("context model: bad taps");
  for (size_t t = 0; t < ntaps; ++t) {
    const int32_t dy = taps[2 * t], dx = taps[2 * t + 1];
    if (dy < -8 || dy > 8 || dx < -8 || dx > 8) return Status::InvalidArgument("context model: tap too far");
    const bool causal = order == ContextOrder::kWavefront ? 3 * dy + dx < 0 : ((dy + dx) & 1) != 0;
    if (!causal) return Status::InvalidArgument("context model: a tap reads a position not yet decoded");
  }
  if (context.cin != static_cast<int32_t>(ntaps) * M || context.cout != 2 * M || context.leaky != -1)
    return Status::InvalidArgument("context model: context layer shape");
  if (params[0].cin != 4 * M || params[2].cout != 2 * M || params[1].cin != params[0].cout ||
      params[2].cin != params[1].cout)
    return Status::InvalidArgument("context model: entropy-parameter layer shapes");
  if (params[0].in_amax < context.amax || params[1].in_amax < params[0].amax || params[2].in_amax < params[1].amax)
    return Status::InvalidArgument("context model: a layer's input bound is below its producer's clamp");
  for (const IntLayer* l : {&context, &params[0], &params[1], &params[2]}) {
    Status s = l->Validate();
    if (!s.ok()) return s;
  }
  if (y_frac < 0 || y_frac > 24) return Status::InvalidArgument("context model: y_frac out of range");
  if (mean_frac.size() != static_cast<size_t>(M)) return Status::InvalidArgument("context model: mean_frac size");
  for (int32_t f : mean_frac)
    if (f < -8 || f > 24) return Status::InvalidArgument("context model: mean_frac out of range");
  if (num_scales <= 0 || thresholds.size() != static_cast<size_t>(M) * num_scales)
    return Status::InvalidArgument("context model: thresholds size");
  for (int32_t c = 0; c < M; ++c)
    for (int32_t k = 1; k < num_scales; ++k)
      if (thresholds[c * num_scales + k] < thresholds[c * num_scales + k - 1])
        return Status::InvalidArgument("context model: thresholds not ascending");
  return Status::Ok();
}

void IntContextModel::Pack() {
  context.Pack();
  for (IntLayer& l : params) l.Pack();
}

namespace {

// One pass of the shared loop: positions `pos` (h * W + w), all of whose context inputs are final.
// Positions of a pass are independent, so Predict splits them among the pool's threads (each with
// its own scratch); every result is the same exact integer whatever the split.
class Engine {
 public:
  Engine(const IntContextModel& m, const int16_t* hyper, int32_t H, int32_t W, WorkerPool* pool)
      : m_(m), hyper_(hyper), H_(H), W_(W), M_(m.M), ntaps_(static_cast<int32_t>(m.taps.size() / 2)),
        yctx_(static_cast<size_t>(H) * W * m.M, 0), pool_(pool), scratch_(pool->size()) {}

  // Computes table indexes and means [n][M] for the positions; with_context = false uses a zero
  // context (the checkerboard anchors: the context half of the first layer's input is skipped).
  void Predict(const int32_t* pos, int64_t n, bool with_context, int32_t* indexes, int16_t* means) {
    if (pool_->size() > 1 && n <= kChannelSplitMax) {
      PredictByChannels(pos, n, with_context, indexes, means);
      return;
    }
    constexpr int64_t kMaxChunk = 32;
    const int64_t chunk = std::clamp<int64_t>((n + pool_->size() - 1) / pool_->size(), 1, kMaxChunk);
    const int64_t chunks = (n + chunk - 1) / chunk;
    pool_->Run(chunks, [&](int64_t c, int worker) {
      const int64_t p0 = c * chunk, np = std::min(chunk, n - p0);
      PredictChunk(pos + p0, np, with_context, indexes + p0 * M_, means + p0 * M_, scratch_[worker]);
    });
  }

  // Records the decoded latent of a position for later contexts.
  void Store(int32_t position, const int32_t* sym, const int16_t* mean) {
    int16_t* dst = yctx_.data() + static_cast<size_t>(position) * M_;
    const int64_t amax = m_.context.in_amax;
    for (int32_t c = 0; c < M_; ++c) {
      const int32_t d = m_.mean_frac[c] - m_.y_frac;  // mean has mean_frac bits, y_ctx has y_frac
      int64_t mv = mean[c];
      mv = d > 0 ? (mv + (int64_t{1} << (d - 1))) >> d : mv * (int64_t{1} << -d);
      int64_t v = static_cast<int64_t>(sym[c]) * (int64_t{1} << m_.y_frac) + mv;
      dst[c] = static_cast<int16_t>(std::clamp<int64_t>(v, -amax, amax));
    }
  }

 private:
  struct Scratch {
    std::vector<int16_t> feats, patches, a, b, out;
  };

  // A pass of few positions (the wavefront: ~11 for a Kodak image) split by positions gives each
  // thread a handful of rows against all ~3.8 MB of weights, streamed from L3 once per pass per
  // thread. Split by output channels instead, each thread streams only its share of every layer;
  // the layers follow one another through the pool (a step each).
  static constexpr int64_t kChannelSplitMax = 64;

  void PredictByChannels(const int32_t* pos, int64_t n, bool with_context, int32_t* indexes, int16_t* means) {
    Scratch& s = scratch_[0];
    const int32_t M = M_, M2 = 2 * M_;
    Gather(pos, n, with_context, s);
    const IntIsa isa = int_isa();
    const int parts = pool_->size();
    auto split = [&](const IntLayer& l, const int16_t* in, int64_t in_stride, int16_t* out, int64_t out_stride,
                     int32_t cin_used) {
      const int32_t blocks = l.OutputBlocks();
      pool_->Run(parts, [&](int64_t i, int) {
        const int32_t b0 = static_cast<int32_t>(blocks * i / parts), b1 = static_cast<int32_t>(blocks * (i + 1) / parts);
        l.ApplyBlocks(isa, in, n, in_stride, out, out_stride, cin_used, b0, b1);
      });
    };
    if (with_context)
      split(m_.context, s.patches.data(), static_cast<int64_t>(ntaps_) * M, s.feats.data() + M2, 4 * M, -1);
    s.a.resize(static_cast<size_t>(n) * m_.params[0].cout);
    s.b.resize(static_cast<size_t>(n) * m_.params[1].cout);
    s.out.resize(static_cast<size_t>(n) * M2);
    split(m_.params[0], s.feats.data(), 4 * M, s.a.data(), m_.params[0].cout, with_context ? 4 * M : M2);
    split(m_.params[1], s.a.data(), m_.params[0].cout, s.b.data(), m_.params[1].cout, -1);
    split(m_.params[2], s.b.data(), m_.params[1].cout, s.out.data(), M2, -1);
    pool_->Run(parts, [&](int64_t i, int) { Finish(n, s, indexes, means, M_ * i / parts, M_ * (i + 1) / parts); });
  }

  // feats[p] = (hyper row, zeros for the context features); patches[p] = the context taps' latents
  void Gather(const int32_t* pos, int64_t n, bool with_context, Scratch& s) const {
    const int32_t M = M_, M2 = 2 * M_;
    s.feats.assign(static_cast<size_t>(n) * 4 * M, 0);
    for (int64_t p = 0; p < n; ++p)
      std::copy_n(hyper_ + static_cast<size_t>(pos[p]) * M2, M2, s.feats.data() + p * 4 * M);
    if (with_context) {
      s.patches.assign(static_cast<size_t>(n) * ntaps_ * M, 0);
      for (int64_t p = 0; p < n; ++p) {
        const int32_t h = pos[p] / W_, w = pos[p] % W_;
        for (int32_t t = 0; t < ntaps_; ++t) {
          const int32_t hh = h + m_.taps[2 * t], ww = w + m_.taps[2 * t + 1];
          if (hh < 0 || hh >= H_ || ww < 0 || ww >= W_) continue;
          std::copy_n(yctx_.data() + (static_cast<size_t>(hh) * W_ + ww) * M, M,
                      s.patches.data() + (p * ntaps_ + t) * M);
        }
      }
    }
  }

  void PredictChunk(const int32_t* pos, int64_t n, bool with_context, int32_t* indexes, int16_t* means,
                    Scratch& s) const {
    const int32_t M = M_, M2 = 2 * M_;
    Gather(pos, n, with_context, s);
    if (with_context)
      m_.context.Apply(s.patches.data(), n, static_cast<int64_t>(ntaps_) * M, s.feats.data() + M2, 4 * M);
    s.a.resize(static_cast<size_t>(n) * m_.params[0].cout);
    s.b.resize(static_cast<size_t>(n) * m_.params[1].cout);
    s.out.resize(static_cast<size_t>(n) * M2);
    // without context the second half of the input is zeros: skipping it gives the same integers
    m_.params[0].Apply(s.feats.data(), n, 4 * M, s.a.data(), m_.params[0].cout, with_context ? 4 * M : M2);
    m_.params[1].Apply(s.a.data(), n, m_.params[0].cout, s.b.data(), m_.params[1].cout);
    m_.params[2].Apply(s.b.data(), n, m_.params[1].cout, s.out.data(), M2);
    Finish(n, s, indexes, means);
  }

  // table indexes (thresholds on the scale outputs) and means of the positions from s.out, for the
  // latent channels [c0, c1) (default: all)
  void Finish(int64_t n, const Scratch& s, int32_t* indexes, int16_t* means, int64_t c0 = 0, int64_t c1 = -1) const {
    const int32_t M = M_, M2 = 2 * M_;
    const int32_t K = m_.num_scales;
    if (c1 < 0) c1 = M;
    for (int64_t p = 0; p < n; ++p) {
      for (int64_t c = c0; c < c1; ++c) {
        const int32_t v = s.out[p * M2 + c];
        const int32_t* thr = m_.thresholds.data() + static_cast<size_t>(c) * K;
        const int32_t idx = static_cast<int32_t>(std::lower_bound(thr, thr + K, v) - thr);  // #{thr < v}
        indexes[p * M + c] = std::min(idx, K - 1);
        means[p * M + c] = s.out[p * M2 + M + c];
      }
    }
  }

  const IntContextModel& m_;
  const int16_t* hyper_;
  int32_t H_, W_, M_, ntaps_;
  std::vector<int16_t> yctx_;
  WorkerPool* pool_;
  std::vector<Scratch> scratch_;
};

// The coding order as a list of passes: (positions, with_context).
struct Pass {
  std::vector<int32_t> pos;
  bool with_context;
};

std::vector<Pass> passes(ContextOrder order, int32_t H, int32_t W) {
  std::vector<Pass> out;
  if (order == ContextOrder::kWavefront) {
    const int32_t T = 3 * (H - 1) + (W - 1) + 1;
    out.resize(T);
    for (int32_t h = 0; h < H; ++h)
      for (int32_t w = 0; w < W; ++w) out[3 * h + w].pos.push_back(h * W + w);
    for (Pass& p : out) p.with_context = true;
  } else {
    // anchors, then the others; passes of at most kChunk positions bound the per-pass buffers
    constexpr size_t kChunk = 1024;
    for (int parity = 0; parity < 2; ++parity) {
      Pass cur{{}, parity == 1};
      for (int32_t h = 0; h < H; ++h)
        for (int32_t w = 0; w < W; ++w) {
          if (((h + w) & 1) != parity) continue;
          cur.pos.push_back(h * W + w);
          if (cur.pos.size() == kChunk) { out.push_back(cur); cur.pos.clear(); }
        }
      if (!cur.pos.empty()) out.push_back(cur);
    }
  }
  return out;
}

Status check_args(const IntContextModel& m, const int16_t* hyper, int32_t H, int32_t W) {
  if (H <= 0 || W <= 0 || static_cast<int64_t>(H) * W > (int64_t{1} << 26))
    return Status::InvalidArgument("context coding: latent size out of range");
  const int64_t n = static_cast<int64_t>(H) * W * 2 * m.M;
  const int32_t lim = m.params[0].in_amax;
  for (int64_t i = 0; i < n; ++i)
    if (hyper[i] < -lim || hyper[i] > lim) return Status::InvalidArgument("context coding: hyper value out of range");
  return Status::Ok();
}

}  // namespace

Status context_decode(const IntContextModel& m, const int16_t* hyper, int32_t H, int32_t W,
                      const CdfTable& table, const uint8_t* data, size_t size, int32_t* symbols,
                      int16_t* means, int threads) {
  Status s = check_args(m, hyper, H, W);
  if (!s.ok()) return s;
  if (table.num_tables() < m.num_scales) return Status::InvalidArgument("context coding: table has too few rows");
  RansStreamDecoder dec;
  s = dec.Init(data, size);
  if (!s.ok()) return s;
  WorkerPool pool(resolve_threads(threads, int64_t{H} * W));
  Engine engine(m, hyper, H, W, &pool);
  const int32_t M = m.M;
  std::vector<int32_t> idx, sym;
  std::vector<int16_t> mean;
  for (const Pass& pass : passes(m.order, H, W)) {
    const int64_t n = static_cast<int64_t>(pass.pos.size());
    idx.resize(n * M);
    sym.resize(n * M);
    mean.resize(n * M);
    engine.Predict(pass.pos.data(), n, pass.with_context, idx.data(), mean.data());
    s = dec.Decode(table, idx.data(), n * M, sym.data());
    if (!s.ok()) return s;
    for (int64_t p = 0; p < n; ++p) {
      engine.Store(pass.pos[p], sym.data() + p * M, mean.data() + p * M);
      std::copy_n(sym.data() + p * M, M, symbols + static_cast<size_t>(pass.pos[p]) * M);
      std::copy_n(mean.data() + p * M, M, means + static_cast<size_t>(pass.pos[p]) * M);
    }
  }
  return dec.Finish();
}

Status context_encode(const IntContextModel& m, const int16_t* hyper, int32_t H, int32_t W, const float* y,
                      int32_t* symbols_in_order, int32_t* indexes_in_order, int16_t* means, int threads) {
  Status s = check_args(m, hyper, H, W);
  if (!s.ok()) return s;
  WorkerPool pool(resolve_threads(threads, int64_t{H} * W));
  Engine engine(m, hyper, H, W, &pool);
  const int32_t M = m.M;
  std::vector<int16_t> mean;
  int64_t k = 0;
  for (const Pass& pass : passes(m.order, H, W)) {
    const int64_t n = static_cast<int64_t>(pass.pos.size());
    mean.resize(n * M);
    int32_t* idx = indexes_in_order + k;
    int32_t* sym = symbols_in_order + k;
    engine.Predict(pass.pos.data(), n, pass.with_context, idx, mean.data());
    for (int64_t p = 0; p < n; ++p) {
      const size_t base = static_cast<size_t>(pass.pos[p]) * M;
      for (int32_t c = 0; c < M; ++c) {
        const double mu = std::ldexp(static_cast<double>(mean[p * M + c]), -m.mean_frac[c]);
        double r = std::nearbyint(static_cast<double>(y[base + c]) - mu);
        if (!(r == r)) r = 0;  // NaN
        sym[p * M + c] = static_cast<int32_t>(std::clamp(r, -1073741824.0, 1073741824.0));
      }
      engine.Store(pass.pos[p], sym + p * M, mean.data() + p * M);
      std::copy_n(mean.data() + p * M, M, means + base);
    }
    k += n * M;
  }
  return Status::Ok();
}

}  // namespace fastcodec
