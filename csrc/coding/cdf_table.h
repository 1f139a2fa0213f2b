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

#include "common/status.h"

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

// Everything a coder needs about one row, in one place (one cache line per symbol).
struct TableRow {
  const uint32_t* cdf;     // cdf[s] = start of symbol s; cdf[nsym] = 2^precision
  const uint16_t* bucket;  // bucket[b] = symbol holding slot b << bucket_shift; bucket[2^bits] = nsym-1
  uint32_t bucket_shift;
  const EncSymbol* enc;    // rANS constants per symbol
  uint32_t escape;         // escape symbol index; symbols below it are literal values
  int32_t offset;          // value of symbol 0
};

class CdfTable {
 public:
  CdfTable() = default;
  CdfTable(CdfTable&&) = default;
  CdfTable& operator=(CdfTable&&) = default;
  CdfTable(const CdfTable&) = delete;  // rows_ points into the owned arrays
  CdfTable& operator=(const CdfTable&) = delete;

  // The decoder finds a slot's symbol through a per-row bucket table indexed by the slot's leading
  // bits, then a binary search among the few symbols of the bucket. A row of n symbols gets
  // ceil(log2 n) + kBucketExtraBits bits (at most the precision): about 2^extra buckets per symbol,
  // so most buckets hold one symbol and the tables stay small enough for L1/L2 (measured in
  // BENCHMARKS.md).
  static constexpr int kBucketExtraBits = 3;

  // Validates and builds. On failure returns InvalidArgument naming the row and the fault.
  static Status Build(const int32_t* cdfs, int64_t num_tables, int64_t max_length,
                      const int32_t* lengths, const int32_t* offsets, int precision,
                      CdfTable* out);

  int precision() const { return precision_; }
  int64_t num_tables() const { return static_cast<int64_t>(rows_.size()); }
  const TableRow& row(int64_t t) const { return rows_[t]; }
  int32_t offset(int64_t t) const { return rows_[t].offset; }
  uint32_t escape_symbol(int64_t t) const { return rows_[t].escape; }

  // Symbol whose range [cdf[s], cdf[s+1]) holds slot. REQUIRES: slot < 2^precision.
  uint32_t find(const TableRow& r, uint32_t slot) const {
    uint32_t b = slot >> r.bucket_shift;
    uint32_t lo = r.bucket[b], hi = r.bucket[b + 1];
    while (lo < hi) {  // largest s in [lo, hi] with cdf[s] <= slot
      uint32_t mid = (lo + hi + 1) >> 1;
      if (r.cdf[mid] <= slot) lo = mid; else hi = mid - 1;
    }
    return lo;
  }

  size_t memory_bytes() const;

 private:
  int precision_ = 0;
  std::vector<TableRow> rows_;
  std::vector<EncSymbol> enc_;
  std::vector<uint32_t> cdf_;
  std::vector<uint16_t> bucket_;
};

}  // namespace fastcodec
