#include "coding/rans.h"

#include <memory>
#include <string>

#include "coding/byte_io.h"
#include "coding/escape.h"
#include "coding/symbol_scan.h"

namespace fastcodec {
namespace {

inline uint64_t mulhi64(uint64_t a, uint64_t b) {
  return static_cast<uint64_t>((static_cast<unsigned __int128>(a) * b) >> 64);
}

// ---- encoder ------------------------------------------------------------------------------------

inline void enc_emit(uint64_t& x, uint8_t*& p) {
  p -= 4;
  store_u32le(p, static_cast<uint32_t>(x));
  x >>= 32;
}

inline void enc_put(uint64_t& x, uint8_t*& p, const EncSymbol& e) {
  if ((x >> 32) >= e.xmax_hi) enc_emit(x, p);
  const uint64_t q = mulhi64(x, e.rcp) >> e.rcp_shift;  // x / freq
  x += e.bias + q * e.cmpl_freq;                         // (x / freq) << prec | (x % freq + start)
}

inline void enc_put_bits(uint64_t& x, uint8_t*& p, uint32_t bits, int k) {
  if ((x >> 32) >= (kRansL >> k)) enc_emit(x, p);
  x = (x << k) | bits;
}

__attribute__((noinline)) void enc_escape(uint64_t& x, uint8_t*& p, const EncSymbol* row, uint32_t esc,
                                          int64_t d) {
  const Escape e = make_escape(d, esc);
  const int payload = e.nbits > 0 ? e.nbits - 1 : 0;
  // Pushed in reverse of the decoder's reading order: highest chunk first.
  const int nchunks = (payload + kChunkBits - 1) / kChunkBits;
  for (int c = nchunks - 1; c >= 0; --c) {
    const int lo = c * kChunkBits;
    const int k = (payload - lo) < kChunkBits ? payload - lo : kChunkBits;
    enc_put_bits(x, p, static_cast<uint32_t>((e.raw >> lo) & ((uint64_t{1} << k) - 1)), k);
  }
  enc_put_bits(x, p, static_cast<uint32_t>(e.nbits), kLengthBits);
  enc_put(x, p, row[esc]);
}

inline void enc_symbol(const CdfTable& t, uint64_t& x, uint8_t*& p, int32_t v, int32_t idx) {
  const TableRow& row = t.row(idx);
  const int64_t d = static_cast<int64_t>(v) - row.offset;
  if (static_cast<uint64_t>(d) < row.escape) {
    enc_put(x, p, row.enc[d]);
  } else {
    enc_escape(x, p, row.enc, row.escape, d);
  }
}

// Writes the renormalization words backwards ending at p; leaves the final states in states[].
template <int N>
void encode_lanes(const CdfTable& t, const int32_t* sym, const int32_t* idx, int64_t n, uint8_t*& p,
                  uint64_t* states) {
  uint64_t x[N];
  for (int j = 0; j < N; ++j) x[j] = kRansL;
  const int64_t full = n / N * N;
  for (int64_t i = n - 1; i >= full; --i) enc_symbol(t, x[i - full], p, sym[i], idx[i]);
  for (int64_t b = full - N; b >= 0; b -= N) {
#pragma GCC unroll 8
    for (int j = N - 1; j >= 0; --j) enc_symbol(t, x[j], p, sym[b + j], idx[b + j]);
  }
  for (int j = 0; j < N; ++j) states[j] = x[j];
}

// Encodes with 2^code lanes into *out (exact size); returns the stream size. The words are first
// written backwards into an uninitialized buffer of the worst-case size, of which only the pages
// actually written are ever touched.
size_t encode_with(int code, const CdfTable& t, const int32_t* sym, const int32_t* idx, int64_t n,
                   int64_t escapes, std::vector<uint8_t>* out) {
  const size_t bound = rans_max_size(n, escapes);
  std::unique_ptr<uint8_t[]> buf(new uint8_t[bound]);
  uint8_t* const end = buf.get() + bound;
  uint8_t* p = end;
  uint64_t states[8];
  switch (code) {
    case 3: encode_lanes<8>(t, sym, idx, n, p, states); break;
    case 2: encode_lanes<4>(t, sym, idx, n, p, states); break;
    case 1: encode_lanes<2>(t, sym, idx, n, p, states); break;
    default: encode_lanes<1>(t, sym, idx, n, p, states); break;
  }
  const int lanes = 1 << code;
  p -= 8 * lanes;
  for (int j = 0; j < lanes; ++j) {
    store_u32le(p + 8 * j, static_cast<uint32_t>(states[j]));
    store_u32le(p + 8 * j + 4, static_cast<uint32_t>(states[j] >> 32));
  }
  *--p = static_cast<uint8_t>(code);
  out->assign(p, end);
  return out->size();
}

// ---- decoder ------------------------------------------------------------------------------------

struct DecStream {
  const uint8_t* p;
  const uint8_t* end;
  bool overrun = false;
};

inline void dec_renorm(uint64_t& x, DecStream& s) {
  if (x < kRansL) {
    if (s.end - s.p >= 4) {
      x = (x << 32) | load_u32le(s.p);
      s.p += 4;
    } else {
      x = (x << 32) | 0x80000000u;  // keeps the state valid; the call fails after the block
      s.overrun = true;
    }
  }
}

inline uint32_t dec_get(const CdfTable& t, const TableRow& row, uint64_t& x, DecStream& s, uint32_t mask,
                        int prec) {
  const uint32_t slot = static_cast<uint32_t>(x) & mask;
  const uint32_t sym = t.find(row, slot);
  const uint32_t start = row.cdf[sym];
  x = uint64_t{row.cdf[sym + 1] - start} * (x >> prec) + slot - start;
  dec_renorm(x, s);
  return sym;
}

inline uint32_t dec_get_bits(uint64_t& x, DecStream& s, int k) {
  const uint32_t bits = static_cast<uint32_t>(x) & ((uint32_t{1} << k) - 1);
  x >>= k;
  dec_renorm(x, s);
  return bits;
}

// Returns false when the escape payload is invalid (corrupt stream).
__attribute__((noinline)) bool dec_escape(const TableRow& row, uint64_t& x, DecStream& s, int32_t* out) {
  const int nbits = static_cast<int>(dec_get_bits(x, s, kLengthBits));
  if (nbits > kMaxRawBits) return false;
  const int payload = nbits > 0 ? nbits - 1 : 0;
  uint64_t raw = nbits > 0 ? uint64_t{1} << payload : 0;
  for (int lo = 0; lo < payload; lo += kChunkBits) {
    const int k = (payload - lo) < kChunkBits ? payload - lo : kChunkBits;
    raw |= uint64_t{dec_get_bits(x, s, k)} << lo;
  }
  return escape_value(raw, row.escape, row.offset, out);
}

inline bool dec_symbol(const CdfTable& t, uint64_t& x, DecStream& s, int32_t idx, uint32_t mask, int prec,
                       int32_t* out) {
  const TableRow& row = t.row(idx);
  const uint32_t sym = dec_get(t, row, x, s, mask, prec);
  if (sym < row.escape) {
    *out = static_cast<int32_t>(sym) + row.offset;
    return true;
  }
  return dec_escape(row, x, s, out);
}

template <int N>
Status decode_lanes(const CdfTable& t, const uint8_t* data, size_t size, const int32_t* idx, int64_t n,
                    int32_t* out) {
  if (size < 1 + 8 * size_t{N}) {
    return Status::Truncated("rANS stream of " + std::to_string(size) + " bytes is shorter than its " +
                             std::to_string(1 + 8 * N) + "-byte header");
  }
  uint64_t x[N];
  for (int j = 0; j < N; ++j) {
    x[j] = load_u32le(data + 1 + 8 * j) | (uint64_t{load_u32le(data + 5 + 8 * j)} << 32);
    if (x[j] < kRansL || (x[j] >> 63) != 0) {
      return Status::Corrupt("rANS lane " + std::to_string(j) + " starts in an invalid state");
    }
  }
  DecStream s{data + 1 + 8 * N, data + size};
  const int prec = t.precision();
  const uint32_t mask = (uint32_t{1} << prec) - 1;
  const int64_t full = n / N * N;
  bool valid = true;
  int64_t i = 0;
  for (; i < full && valid && !s.overrun; i += N) {
#pragma GCC unroll 8
    for (int j = 0; j < N; ++j) valid &= dec_symbol(t, x[j], s, idx[i + j], mask, prec, out + i + j);
  }
  for (; i < n && valid && !s.overrun; ++i) valid &= dec_symbol(t, x[i - full], s, idx[i], mask, prec, out + i);
  if (s.overrun) {
    return Status::Truncated("rANS stream ended within its first " + std::to_string(i) + " of " +
                             std::to_string(n) + " symbols");
  }
  if (!valid) return Status::Corrupt("rANS stream holds an invalid escape within its first " + std::to_string(i) + " symbols");
  if (s.p != s.end) {
    return Status::Corrupt("rANS stream has " + std::to_string(s.end - s.p) + " bytes left after the last symbol");
  }
  for (int j = 0; j < N; ++j) {
    if (x[j] != kRansL) return Status::Corrupt("rANS lane " + std::to_string(j) + " did not end in its initial state");
  }
  return Status::Ok();
}

}  // namespace

Status RansStreamDecoder::Init(const uint8_t* data, size_t size) {
  failed_ = true;
  if (size < 1) return Status::Truncated("rANS stream is empty");
  if (data[0] > kMaxLaneCode) {
    return Status::Corrupt("rANS stream starts with lane code " + std::to_string(data[0]) + " (expected 0..3)");
  }
  lanes_ = 1 << data[0];
  if (size < 1 + 8 * static_cast<size_t>(lanes_)) {
    return Status::Truncated("rANS stream of " + std::to_string(size) + " bytes is shorter than its header");
  }
  for (int j = 0; j < lanes_; ++j) {
    x_[j] = load_u32le(data + 1 + 8 * j) | (uint64_t{load_u32le(data + 5 + 8 * j)} << 32);
    if (x_[j] < kRansL || (x_[j] >> 63) != 0) {
      return Status::Corrupt("rANS lane " + std::to_string(j) + " starts in an invalid state");
    }
  }
  p_ = data + 1 + 8 * lanes_;
  end_ = data + size;
  count_ = 0;
  failed_ = false;
  return Status::Ok();
}

Status RansStreamDecoder::Decode(const CdfTable& table, const int32_t* indexes, int64_t n, int32_t* out) {
  if (failed_) return Status::Corrupt("rANS stream decoder is not in a valid state");
  Status st = check_indexes(table, indexes, n);
  if (!st.ok()) return st;
  DecStream s{p_, end_};
  const int prec = table.precision();
  const uint32_t mask = (uint32_t{1} << prec) - 1;
  int lane = static_cast<int>(count_ & (lanes_ - 1));
  bool valid = true;
  int64_t i = 0;
  for (; i < n && valid && !s.overrun; ++i) {
    valid = dec_symbol(table, x_[lane], s, indexes[i], mask, prec, out + i);
    lane = (lane + 1) & (lanes_ - 1);
  }
  p_ = s.p;
  count_ += i;
  if (s.overrun || !valid) {
    failed_ = true;
    return s.overrun ? Status::Truncated("rANS stream ended at symbol " + std::to_string(count_))
                     : Status::Corrupt("rANS stream holds an invalid escape at symbol " + std::to_string(count_));
  }
  return Status::Ok();
}

Status RansStreamDecoder::Finish() const {
  if (failed_) return Status::Corrupt("rANS stream decoder is not in a valid state");
  if (p_ != end_) {
    return Status::Corrupt("rANS stream has " + std::to_string(end_ - p_) + " bytes left after the last symbol");
  }
  for (int j = 0; j < lanes_; ++j) {
    if (x_[j] != kRansL) return Status::Corrupt("rANS lane " + std::to_string(j) + " did not end in its initial state");
  }
  return Status::Ok();
}

int rans_lanes(int64_t n, size_t bytes) {
  int code = kMaxLaneCode;
  while (code > 0 && ((n >> code) < 64 || (size_t{8} << code) * 512 > bytes)) --code;
  return code;
}

size_t rans_max_size(int64_t n, int64_t escapes) {
  // header, lane states, <= 1 word per symbol and <= 4 more per escape (length + 3 chunks)
  return 1 + 8 * (size_t{1} << kMaxLaneCode) + 4 * static_cast<size_t>(n) + 16 * static_cast<size_t>(escapes);
}

Status rans_encode(const CdfTable& table, const int32_t* symbols, const int32_t* indexes, int64_t n,
                   std::vector<uint8_t>* out) {
  int64_t escapes = 0;
  Status st = count_escapes(table, symbols, indexes, n, &escapes);
  if (!st.ok()) return st;
  int code = rans_lanes(n, ~size_t{0});
  const size_t size = encode_with(code, table, symbols, indexes, n, escapes, out);
  const int fewer = rans_lanes(n, size);
  if (fewer != code) encode_with(fewer, table, symbols, indexes, n, escapes, out);
  return Status::Ok();
}

Status rans_decode(const CdfTable& table, const uint8_t* data, size_t size, const int32_t* indexes,
                   int64_t n, int32_t* out) {
  Status st = check_indexes(table, indexes, n);
  if (!st.ok()) return st;
  if (size < 1) return Status::Truncated("rANS stream is empty");
  switch (data[0]) {
    case 3: return decode_lanes<8>(table, data, size, indexes, n, out);
    case 2: return decode_lanes<4>(table, data, size, indexes, n, out);
    case 1: return decode_lanes<2>(table, data, size, indexes, n, out);
    case 0: return decode_lanes<1>(table, data, size, indexes, n, out);
    default: return Status::Corrupt("rANS stream starts with lane code " + std::to_string(data[0]) + " (expected 0..3)");
  }
}

}  // namespace fastcodec
