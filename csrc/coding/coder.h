// One entry point per direction over both coders, so drivers (batches, bindings) name a coder by
// value instead of duplicating dispatch.
#pragma once

#include <cstdint>
#include <vector>

#include "coding/cdf_table.h"
#include "coding/range_coder.h"
#include "coding/rans.h"
#include "common/status.h"

namespace fastcodec {

enum class Coder : int { kAns = 0, kRange = 1 };

inline Status encode(Coder c, const CdfTable& t, const int32_t* symbols, const int32_t* indexes, int64_t n,
                     std::vector<uint8_t>* out) {
  return c == Coder::kAns ? rans_encode(t, symbols, indexes, n, out) : range_encode(t, symbols, indexes, n, out);
}

inline Status decode(Coder c, const CdfTable& t, const uint8_t* data, size_t size, const int32_t* indexes,
                     int64_t n, int32_t* out) {
  return c == Coder::kAns ? rans_decode(t, data, size, indexes, n, out)
                          : range_decode(t, data, size, indexes, n, out);
}

}  // namespace fastcodec
