// Validated, immutable cumulative-frequency tables shared by every coder.
//
// Input layout is CompressAI's: cdfs[T][Lmax] (int32), lengths[T], offsets[T]. Row t uses
// lengths[t] entries: cdf[0] = 0 < cdf[1] < ... < cdf[lengths[t]-1] = 2^precision. It defines
// nsym = lengths[t]-1 symbols; the last one (index lengths[t]-2) is the escape symbol. A value v
// coded with row t is the symbol v - offsets[t] when 0 <= v - offsets[t] < lengths[t]-2, otherwise
// the escape symbol followed by bypass bits (escape.h).
//
// Validation happens once, in build(); the coders' hot loops rely on it (REQUIRES below) and only
// check what comes from the stream.
#pragma once

#include <cstdint>
#include <vector>

#include "status.h"

namespace fastcodec {

constexpr int kMinPrecision = 8;
constexpr int kMaxPrecision = 16;  // the range coder keeps range >= 2^24 and needs range >> prec >= 2^8

// Per-symbol rANS encoder constants (64-bit states, 32-bit renormalization, rans.h).
// q = floor(x / freq) is computed exactly for any x < 2^63 as mulhi64(x, rcp) >> rcp_shift, with
// rcp = ceil(2^(63 + s) / freq), s = ceil(log2 freq), rcp_shift = s - 1 (Granlund & Montgomery
// 1994, Thm 4.2). For freq == 1 (s = 0) the constants use rcp = 2^64 - 1, rcp_shift = 0 and fold
// the error into bias: x + bias + q * cmpl_freq then equals (x / freq) * 2^prec + x % freq + start.
struct EncSymbol {
  uint64_t rcp;
  uint32_t xmax_hi;  // renormalize when (x >> 32) >= xmax_hi, i.e. x >= ((L >> prec) << 32) * freq
  uint32_t bias;     // start, or start + 2^prec - 1 when freq == 1
  uint32_t cmpl_freq;  // 2^precision - freq (0 only for a single-symbol row)
  uint32_t rcp_shift;
};

class CdfTable {
 public:
  // Number of leading bits of a slot that index the decoder's bucket table (chosen by measurement,
  // see BENCHMARKS.md); a bucket lists the first symbol whose range holds its first slot.
  static constexpr int kBucketBits = 12;

  // Validates and builds. On failure returns InvalidArgument naming the row and the fault.
  static Status Build(const int32_t* cdfs, int64_t num_tables, int64_t max_length,
                      const int32_t* lengths, const int32_t* offsets, int precision,
                      CdfTable* out);

  int precision() const { return precision_; }
  int64_t num_tables() const { return static_cast<int64_t>(offsets_.size()); }
  int bucket_shift() const { return bucket_shift_; }
  int32_t offset(int64_t t) const { return offsets_[t]; }
  // Index of row t's escape symbol; symbols below it are literal values.
  uint32_t escape_symbol(int64_t t) const { return escape_[t]; }

  const EncSymbol* enc_row(int64_t t) const { return enc_.data() + sym_base_[t]; }
  // cdf_row(t)[s] is the start of symbol s; cdf_row(t)[nsym] = 2^precision.
  const uint32_t* cdf_row(int64_t t) const { return cdf_.data() + cdf_base_[t]; }
  const uint16_t* bucket_row(int64_t t) const {
    return bucket_.data() + static_cast<size_t>(t) * bucket_stride_;
  }

  // Symbol whose range [cdf[s], cdf[s+1]) holds slot. REQUIRES: slot < 2^precision.
  uint32_t find(int64_t t, uint32_t slot) const {
    const uint32_t* cdf = cdf_row(t);
    const uint16_t* bucket = bucket_row(t);
    uint32_t b = slot >> bucket_shift_;
    uint32_t lo = bucket[b], hi = bucket[b + 1];
    while (lo < hi) {  // largest s in [lo, hi] with cdf[s] <= slot
      uint32_t mid = (lo + hi + 1) >> 1;
      if (cdf[mid] <= slot) lo = mid; else hi = mid - 1;
    }
    return lo;
  }

  size_t memory_bytes() const;

 private:
  int precision_ = 0;
  int bucket_shift_ = 0;
  size_t bucket_stride_ = 0;
  std::vector<int32_t> offsets_;
  std::vector<uint32_t> escape_;
  std::vector<size_t> sym_base_;
  std::vector<size_t> cdf_base_;
  std::vector<EncSymbol> enc_;
  std::vector<uint32_t> cdf_;
  std::vector<uint16_t> bucket_;
};

}  // namespace fastcodec
