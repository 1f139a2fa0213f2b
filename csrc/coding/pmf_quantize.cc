#include "coding/pmf_quantize.h"

#include <algorithm>
#include <string>
#include <vector>

#include "coding/cdf_table.h"

namespace fastcodec {

Status quantize_weights(const int64_t* w, int64_t n, int precision, uint32_t* freq) {
  if (precision < kMinPrecision || precision > kMaxPrecision) {
    return Status::InvalidArgument("precision must be in [" + std::to_string(kMinPrecision) + ", " +
                                   std::to_string(kMaxPrecision) + "], got " + std::to_string(precision));
  }
  const int64_t total = int64_t{1} << precision;
  if (n < 1 || n > total) {
    return Status::InvalidArgument("a row of " + std::to_string(n) + " symbols cannot be quantized to " +
                                   std::to_string(precision) + "-bit frequencies (1 <= symbols <= 2^precision)");
  }
  for (int64_t i = 0; i < n; ++i) {
    if (w[i] < 0) return Status::InvalidArgument("weight " + std::to_string(i) + " is negative");
  }
  std::vector<uint8_t> floor_one(static_cast<size_t>(n), 0);
  int64_t floored = 0;
  unsigned __int128 wsum = 0;
  for (;;) {
    wsum = 0;
    for (int64_t i = 0; i < n; ++i) if (!floor_one[i]) wsum += static_cast<uint64_t>(w[i]);
    const int64_t budget = total - floored;
    if (wsum == 0) break;
    bool changed = false;
    for (int64_t i = 0; i < n; ++i) {
      if (floor_one[i]) continue;
      if (static_cast<unsigned __int128>(static_cast<uint64_t>(w[i])) * static_cast<uint64_t>(budget) < wsum) {
        floor_one[i] = 1;
        ++floored;
        changed = true;
      }
    }
    if (!changed) break;
  }
  const int64_t budget = total - floored;
  const int64_t free_count = n - floored;
  int64_t used = floored;
  std::vector<std::pair<uint64_t, int64_t>> rem;  // (remainder, index) of the proportional symbols
  rem.reserve(static_cast<size_t>(free_count));
  for (int64_t i = 0; i < n; ++i) {
    if (floor_one[i]) {
      freq[i] = 1;
    } else if (wsum == 0) {  // no weight left: share the budget evenly
      freq[i] = static_cast<uint32_t>(budget / free_count);
      used += freq[i];
      rem.emplace_back(0, i);
    } else {
      const unsigned __int128 prod = static_cast<unsigned __int128>(static_cast<uint64_t>(w[i])) * static_cast<uint64_t>(budget);
      freq[i] = static_cast<uint32_t>(prod / wsum);
      used += freq[i];
      rem.emplace_back(static_cast<uint64_t>(prod % wsum), i);
    }
  }
  int64_t left = total - used;  // < free_count
  std::sort(rem.begin(), rem.end(), [](const auto& a, const auto& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  for (size_t k = 0; left > 0; ++k, --left) freq[rem[k].second] += 1;
  return Status::Ok();
}

Status quantize_weight_rows(const int64_t* weights, int64_t rows, int64_t width, const int32_t* counts,
                            int precision, int32_t* cdfs) {
  std::vector<uint32_t> freq(static_cast<size_t>(width));
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t n = counts[r];
    if (n < 1 || n > width) {
      return Status::InvalidArgument("row " + std::to_string(r) + " has " + std::to_string(n) +
                                     " symbols, expected 1.." + std::to_string(width));
    }
    Status st = quantize_weights(weights + r * width, n, precision, freq.data());
    if (!st.ok()) return Status::InvalidArgument("row " + std::to_string(r) + ": " + st.message());
    int32_t* cdf = cdfs + r * (width + 1);
    int64_t acc = 0;
    cdf[0] = 0;
    for (int64_t i = 0; i < n; ++i) {
      acc += freq[i];
      cdf[i + 1] = static_cast<int32_t>(acc);
    }
    for (int64_t i = n + 1; i <= width; ++i) cdf[i] = static_cast<int32_t>(acc);
  }
  return Status::Ok();
}

}  // namespace fastcodec
