// Interleaved rANS ("stack" coder: last in, first out), 64-bit states with 32-bit renormalization.
//
// Wire format (version 1, see docs/coding.md):
//   [lane code c: 1 byte, N = 2^c lanes, c <= 3][lane states: N x uint64 LE]
//   [renormalization words: uint32 LE, in decoder read order]
// Symbol i is coded by lane i % N. Every state starts at and returns to L = 2^31, so a decoder that
// consumed every word and ended with every lane at L has read a consistent stream; anything else
// is reported. N is the encoder's choice (rans_lanes): more lanes decode faster, each costs 8 bytes.
//
// Invariants: a state x lies in [L, 2^63) between symbols; L / 2^precision >= 2^15 keeps the
// coding loss from state truncation negligible. Encoding runs from the last symbol to the first and
// writes words backwards; decoding runs forwards. With precision <= 16, one symbol moves at most
// one word in each direction.
#pragma once

#include <cstdint>
#include <vector>

#include "coding/cdf_table.h"
#include "common/status.h"

namespace fastcodec {

constexpr uint64_t kRansL = uint64_t{1} << 31;
constexpr int kMaxLaneCode = 3;

// Lanes for a stream of n symbols that encoded to about `bytes` bytes with the most lanes: the most
// that keep the lane states under 1/512 of the stream (always 1 for short streams).
int rans_lanes(int64_t n, size_t bytes);

// Upper bound on the encoded size in bytes of n symbols, `escapes` of them escaped.
size_t rans_max_size(int64_t n, int64_t escapes);

// REQUIRES: symbols and indexes hold n values. Replaces *out with the stream.
Status rans_encode(const CdfTable& table, const int32_t* symbols, const int32_t* indexes, int64_t n,
                   std::vector<uint8_t>* out);

// Decodes n symbols into out. Never reads outside data[0, size) nor writes outside out[0, n).
Status rans_decode(const CdfTable& table, const uint8_t* data, size_t size, const int32_t* indexes,
                   int64_t n, int32_t* out);

// Incremental decoding for models whose tables depend on earlier symbols (autoregressive context
// models): the caller asks for the next symbols with the indexes it has just computed. The same
// stream as rans_decode; symbol i still goes to lane i % N. Holds no copy of the data: the caller
// keeps it alive.
class RansStreamDecoder {
 public:
  Status Init(const uint8_t* data, size_t size);
  // Decodes the next n symbols. After an error the decoder stays failed.
  Status Decode(const CdfTable& table, const int32_t* indexes, int64_t n, int32_t* out);
  // OK when every word was consumed and every lane is back at its initial state.
  Status Finish() const;
  int64_t decoded() const { return count_; }

 private:
  uint64_t x_[8] = {};
  int lanes_ = 0;
  const uint8_t* p_ = nullptr;
  const uint8_t* end_ = nullptr;
  int64_t count_ = 0;
  bool failed_ = true;
};

}  // namespace fastcodec
