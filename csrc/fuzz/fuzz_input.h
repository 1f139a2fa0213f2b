// Turns fuzzer bytes into a valid table, indexes and symbols, so every target exercises the
// coders (not the table validator) on arbitrary streams.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "coding/cdf_table.h"

namespace fastcodec_fuzz {

class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size) : p_(data), end_(data + size) {}
  uint32_t u8() { return p_ < end_ ? *p_++ : 0; }
  uint32_t u16() { return u8() | (u8() << 8); }
  uint32_t u32() { return u16() | (u16() << 16); }
  const uint8_t* rest() const { return p_; }
  size_t left() const { return static_cast<size_t>(end_ - p_); }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

// A table of 1..4 rows, precision 8..16, row lengths 2..64, cdfs spread from the reader.
inline fastcodec::CdfTable make_table(ByteReader& in) {
  const int precision = 8 + static_cast<int>(in.u8() % 9);
  const int rows = 1 + static_cast<int>(in.u8() % 4);
  const int64_t width = 64;
  const uint32_t total = uint32_t{1} << precision;
  std::vector<int32_t> cdfs(rows * width), lengths(rows), offsets(rows);
  for (int r = 0; r < rows; ++r) {
    int len = 2 + static_cast<int>(in.u8() % 63);
    if (static_cast<uint32_t>(len - 1) > total) len = static_cast<int>(total) + 1;
    lengths[r] = len;
    offsets[r] = static_cast<int32_t>(in.u32());
    if (static_cast<int64_t>(offsets[r]) + len > INT32_MAX) offsets[r] = -offsets[r] / 2;
    // Frequencies: 1 + a share of the remaining slots from the reader, the last takes the rest.
    int32_t* row = cdfs.data() + r * width;
    uint32_t left = total - static_cast<uint32_t>(len - 1);
    row[0] = 0;
    for (int s = 0; s < len - 1; ++s) {
      uint32_t extra = (s == len - 2) ? left : (left ? in.u16() % (left + 1) : 0);
      left -= extra;
      row[s + 1] = row[s] + 1 + static_cast<int32_t>(extra);
    }
    for (int s = len; s < width; ++s) row[s] = static_cast<int32_t>(total);
  }
  fastcodec::CdfTable table;
  fastcodec::Status st = fastcodec::CdfTable::Build(cdfs.data(), rows, width, lengths.data(), offsets.data(),
                                                    precision, &table);
  if (!st.ok()) __builtin_trap();  // the generator above only makes valid tables
  return table;
}

}  // namespace fastcodec_fuzz
