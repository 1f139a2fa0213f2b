// Escape (bypass) coding of values outside a table's literal range, shared by every coder.
//
// A value v coded with row t has d = v - offset (computed in 64 bits). When d is not a literal
// (d < 0 or d >= escape symbol E), the coder writes symbol E and then raw = (d < 0) ? -2d-1 :
// 2(d-E), a number below 2^34: first its bit length n (kLengthBits bypass bits, 0..34), then its
// n-1 bits below the leading one in chunks of at most 16, lowest chunk first.
// Every int32 therefore round-trips, whatever the table.
#pragma once

#include <cstdint>

namespace fastcodec {

constexpr int kLengthBits = 6;
constexpr int kMaxRawBits = 34;
constexpr int kChunkBits = 16;

struct Escape {
  uint64_t raw;
  int nbits;  // bit length of raw
};

inline Escape make_escape(int64_t d, uint32_t escape_symbol) {
  const uint64_t raw = d < 0 ? static_cast<uint64_t>(-2 * d - 1)
                             : static_cast<uint64_t>(2 * (d - static_cast<int64_t>(escape_symbol)));
  int nbits = 0;
  while (nbits < 64 && (raw >> nbits) != 0) ++nbits;
  return {raw, nbits};
}

// Inverse of make_escape. Returns false when the result is no int32 (corrupt stream).
inline bool escape_value(uint64_t raw, uint32_t escape_symbol, int32_t offset, int32_t* value) {
  const int64_t d = (raw & 1) ? -static_cast<int64_t>((raw + 1) >> 1)
                              : static_cast<int64_t>(raw >> 1) + static_cast<int64_t>(escape_symbol);
  const int64_t v = d + offset;
  if (v < INT32_MIN || v > INT32_MAX) return false;
  *value = static_cast<int32_t>(v);
  return true;
}

}  // namespace fastcodec
