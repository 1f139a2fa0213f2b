// Range coder ("queue" coder: first in, first out) over the same tables as rANS.
//
// 32-bit range, 64-bit low with carry propagation (the scheme of LZMA's range coder). Wire format
// (version 1, see docs/coding.md): the big-endian bytes of the coded number, without the leading
// byte that is always 0. The decoder reads exactly the bytes the encoder wrote; reading past the
// end or leaving bytes unread is reported, as is any state no encoder can produce.
//
// Invariants: between symbols range >= 2^24 and, while decoding, code < range. With precision
// <= 16, r = range >> precision >= 2^8, so every frequency keeps a non-zero range.
#pragma once

#include <cstdint>
#include <vector>

#include "coding/cdf_table.h"
#include "common/status.h"

namespace fastcodec {

size_t range_max_size(int64_t n, int64_t escapes);

Status range_encode(const CdfTable& table, const int32_t* symbols, const int32_t* indexes, int64_t n,
                    std::vector<uint8_t>* out);

// Decodes n symbols into out. Never reads outside data[0, size) nor writes outside out[0, n).
Status range_decode(const CdfTable& table, const uint8_t* data, size_t size, const int32_t* indexes,
                    int64_t n, int32_t* out);

}  // namespace fastcodec
