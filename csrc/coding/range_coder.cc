#include "coding/range_coder.h"

#include <memory>
#include <string>

#include "coding/escape.h"
#include "coding/symbol_scan.h"

namespace fastcodec {
namespace {

constexpr uint32_t kTop = uint32_t{1} << 24;

class RangeEncoder {
 public:
  explicit RangeEncoder(uint8_t* out) : out_(out), begin_(out) {}

  void put(uint32_t start, uint32_t freq, int precision) {
    const uint32_t r = range_ >> precision;
    low_ += uint64_t{r} * start;
    range_ = r * freq;
    normalize();
  }

  void put_bits(uint32_t bits, int k) {
    range_ >>= k;
    low_ += uint64_t{range_} * bits;
    normalize();
  }

  // Returns the number of bytes written.
  size_t finish() {
    for (int i = 0; i < 5; ++i) shift_low();
    return static_cast<size_t>(out_ - begin_);
  }

 private:
  void normalize() {
    while (range_ < kTop) {
      range_ <<= 8;
      shift_low();
    }
  }

  // Moves the top byte of low out, holding back a run of 0xFF bytes until a carry is settled.
  void shift_low() {
    if (static_cast<uint32_t>(low_) < 0xFF000000u || (low_ >> 32) != 0) {
      const uint8_t carry = static_cast<uint8_t>(low_ >> 32);
      uint8_t byte = cache_;
      do {
        emit(static_cast<uint8_t>(byte + carry));
        byte = 0xFF;
      } while (--pending_ != 0);
      cache_ = static_cast<uint8_t>(low_ >> 24);
    }
    ++pending_;
    low_ = (low_ & 0x00FFFFFFu) << 8;
  }

  void emit(uint8_t b) {
    if (skip_first_) {  // the first byte is always 0 and is not stored
      skip_first_ = false;
      return;
    }
    *out_++ = b;
  }

  uint64_t low_ = 0;
  uint32_t range_ = 0xFFFFFFFFu;
  uint8_t cache_ = 0;
  uint64_t pending_ = 1;
  bool skip_first_ = true;
  uint8_t* out_;
  uint8_t* begin_;
};

class RangeDecoder {
 public:
  RangeDecoder(const uint8_t* data, size_t size) : p_(data), end_(data + size) {
    for (int i = 0; i < 4; ++i) code_ = (code_ << 8) | next();
  }

  // Returns false for a state no encoder produces.
  bool get(const CdfTable& t, int32_t idx, uint32_t* sym) {
    const int prec = t.precision();
    const uint32_t r = range_ >> prec;
    const uint32_t slot = code_ / r;
    if (slot >> prec) return false;
    const TableRow& row = t.row(idx);
    const uint32_t s = t.find(row, slot);
    const uint32_t* cdf = row.cdf;
    code_ -= cdf[s] * r;
    range_ = r * (cdf[s + 1] - cdf[s]);
    normalize();
    *sym = s;
    return true;
  }

  bool get_bits(int k, uint32_t* bits) {
    range_ >>= k;
    const uint32_t v = code_ / range_;
    if (v >> k) return false;
    code_ -= v * range_;
    normalize();
    *bits = v;
    return true;
  }

  bool overrun() const { return overrun_; }
  size_t unread() const { return static_cast<size_t>(end_ - p_); }

 private:
  void normalize() {
    while (range_ < kTop) {
      range_ <<= 8;
      code_ = (code_ << 8) | next();
    }
  }

  uint32_t next() {
    if (p_ < end_) return *p_++;
    overrun_ = true;
    return 0;
  }

  uint32_t code_ = 0;
  uint32_t range_ = 0xFFFFFFFFu;
  const uint8_t* p_;
  const uint8_t* end_;
  bool overrun_ = false;
};

void encode_escape(RangeEncoder& enc, const CdfTable& t, int32_t idx, int64_t d) {
  const uint32_t esc = t.escape_symbol(idx);
  const uint32_t* cdf = t.row(idx).cdf;
  enc.put(cdf[esc], cdf[esc + 1] - cdf[esc], t.precision());
  const Escape e = make_escape(d, esc);
  enc.put_bits(static_cast<uint32_t>(e.nbits), kLengthBits);
  const int payload = e.nbits > 0 ? e.nbits - 1 : 0;
  for (int lo = 0; lo < payload; lo += kChunkBits) {
    const int k = (payload - lo) < kChunkBits ? payload - lo : kChunkBits;
    enc.put_bits(static_cast<uint32_t>((e.raw >> lo) & ((uint64_t{1} << k) - 1)), k);
  }
}

bool decode_escape(RangeDecoder& dec, const CdfTable& t, int32_t idx, int32_t* out) {
  uint32_t nbits = 0;
  if (!dec.get_bits(kLengthBits, &nbits) || nbits > kMaxRawBits) return false;
  const int payload = nbits > 0 ? static_cast<int>(nbits) - 1 : 0;
  uint64_t raw = nbits > 0 ? uint64_t{1} << payload : 0;
  for (int lo = 0; lo < payload; lo += kChunkBits) {
    const int k = (payload - lo) < kChunkBits ? payload - lo : kChunkBits;
    uint32_t bits = 0;
    if (!dec.get_bits(k, &bits)) return false;
    raw |= uint64_t{bits} << lo;
  }
  return escape_value(raw, t.escape_symbol(idx), t.offset(idx), out);
}

}  // namespace

size_t range_max_size(int64_t n, int64_t escapes) {
  // <= 2 bytes per symbol (precision <= 16 bits), <= 7 more per escape (6 + 33 bypass bits), flush.
  return 2 * static_cast<size_t>(n) + 7 * static_cast<size_t>(escapes) + 8;
}

Status range_encode(const CdfTable& table, const int32_t* symbols, const int32_t* indexes, int64_t n,
                    std::vector<uint8_t>* out) {
  int64_t escapes = 0;
  Status st = count_escapes(table, symbols, indexes, n, &escapes);
  if (!st.ok()) return st;
  std::unique_ptr<uint8_t[]> buf(new uint8_t[range_max_size(n, escapes)]);  // uninitialized: only
  RangeEncoder enc(buf.get());                                                // written pages are touched
  const int prec = table.precision();
  for (int64_t i = 0; i < n; ++i) {
    const int32_t idx = indexes[i];
    const int64_t d = static_cast<int64_t>(symbols[i]) - table.offset(idx);
    if (static_cast<uint64_t>(d) < table.escape_symbol(idx)) {
      const uint32_t* cdf = table.row(idx).cdf;
      enc.put(cdf[d], cdf[d + 1] - cdf[d], prec);
    } else {
      encode_escape(enc, table, idx, d);
    }
  }
  out->assign(buf.get(), buf.get() + enc.finish());
  return Status::Ok();
}

Status range_decode(const CdfTable& table, const uint8_t* data, size_t size, const int32_t* indexes,
                    int64_t n, int32_t* out) {
  Status st = check_indexes(table, indexes, n);
  if (!st.ok()) return st;
  if (size < 4) return Status::Truncated("range-coded stream of " + std::to_string(size) + " bytes is shorter than 4");
  RangeDecoder dec(data, size);
  for (int64_t i = 0; i < n; ++i) {
    const int32_t idx = indexes[i];
    uint32_t sym = 0;
    bool ok = dec.get(table, idx, &sym);
    if (ok && sym < table.escape_symbol(idx)) {
      out[i] = static_cast<int32_t>(sym) + table.offset(idx);
    } else if (ok) {
      ok = decode_escape(dec, table, idx, out + i);
    }
    if (dec.overrun()) return Status::Truncated("range-coded stream ended at symbol " + std::to_string(i) + " of " + std::to_string(n));
    if (!ok) return Status::Corrupt("range-coded stream is invalid at symbol " + std::to_string(i));
  }
  if (dec.unread() != 0) {
    return Status::Corrupt("range-coded stream has " + std::to_string(dec.unread()) + " bytes left after the last symbol");
  }
  return Status::Ok();
}

}  // namespace fastcodec
