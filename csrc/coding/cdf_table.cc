#include "coding/cdf_table.h"

#include <limits>
#include <string>

namespace fastcodec {
namespace {

std::string row_fault(int64_t t, const std::string& what) {
  return "cdfs row " + std::to_string(t) + ": " + what;
}

}  // namespace

Status CdfTable::Build(const int32_t* cdfs, int64_t num_tables, int64_t max_length,
                       const int32_t* lengths, const int32_t* offsets, int precision,
                       CdfTable* out) {
  if (precision < kMinPrecision || precision > kMaxPrecision) {
    return Status::InvalidArgument("precision must be in [" + std::to_string(kMinPrecision) + ", " +
                                   std::to_string(kMaxPrecision) + "], got " +
                                   std::to_string(precision));
  }
  if (num_tables < 1) return Status::InvalidArgument("cdfs must hold at least one row, got 0");
  if (num_tables > (int64_t{1} << 24)) {
    return Status::InvalidArgument("cdfs holds " + std::to_string(num_tables) +
                                   " rows; at most 2^24 are supported");
  }
  const uint32_t total = uint32_t{1} << precision;
  CdfTable t;
  t.precision_ = precision;
  std::vector<size_t> sym_base(static_cast<size_t>(num_tables));
  t.rows_.resize(static_cast<size_t>(num_tables));

  size_t sym_total = 0, bucket_total = 0;
  std::vector<size_t> bucket_base(static_cast<size_t>(num_tables));
  std::vector<int> bucket_bits(static_cast<size_t>(num_tables));
  for (int64_t r = 0; r < num_tables; ++r) {
    const int64_t len = lengths[r];
    if (len < 2 || len > max_length) {
      return Status::InvalidArgument("lengths[" + std::to_string(r) + "] must be in [2, " +
                                     std::to_string(max_length) + "] (the row width), got " +
                                     std::to_string(len));
    }
    if (len - 1 > static_cast<int64_t>(total)) {
      return Status::InvalidArgument("lengths[" + std::to_string(r) + "] = " + std::to_string(len) +
                                     " needs more than 2^precision = " + std::to_string(total) +
                                     " slots (every symbol needs at least one)");
    }
    const int32_t* row = cdfs + r * max_length;
    if (row[0] != 0) return Status::InvalidArgument(row_fault(r, "must start at 0, starts at " + std::to_string(row[0])));
    for (int64_t i = 1; i < len; ++i) {
      if (row[i] <= row[i - 1]) {
        return Status::InvalidArgument(row_fault(r, "must be strictly increasing over its length, but cdf[" +
                                                        std::to_string(i) + "] = " + std::to_string(row[i]) +
                                                        " <= cdf[" + std::to_string(i - 1) + "] = " +
                                                        std::to_string(row[i - 1])));
      }
    }
    if (static_cast<uint32_t>(row[len - 1]) != total) {
      return Status::InvalidArgument(row_fault(r, "must end at 2^precision = " + std::to_string(total) +
                                                      ", ends at " + std::to_string(row[len - 1])));
    }
    // Literal values are offsets[r] + s for s < len-2; they must all be int32.
    if (static_cast<int64_t>(offsets[r]) + (len - 2) - 1 > std::numeric_limits<int32_t>::max()) {
      return Status::InvalidArgument("offsets[" + std::to_string(r) + "] + lengths[" + std::to_string(r) +
                                     "] - 3 overflows int32");
    }
    t.rows_[r].escape = static_cast<uint32_t>(len - 2);
    t.rows_[r].offset = offsets[r];
    sym_base[r] = sym_total;
    int bits = kBucketExtraBits;
    while ((int64_t{1} << (bits - kBucketExtraBits)) < len - 1) ++bits;
    bucket_bits[r] = bits < precision ? bits : precision;
    bucket_base[r] = bucket_total;
    bucket_total += (size_t{1} << bucket_bits[r]) + 1;
    sym_total += static_cast<size_t>(len - 1);
  }

  t.enc_.resize(sym_total);
  t.cdf_.resize(sym_total + static_cast<size_t>(num_tables));
  t.bucket_.resize(bucket_total);
  const uint32_t rans_l_over_total = (uint32_t{1} << 31) >> precision;
  for (int64_t r = 0; r < num_tables; ++r) {
    const int32_t* row = cdfs + r * max_length;
    const uint32_t nsym = static_cast<uint32_t>(lengths[r] - 1);
    EncSymbol* enc = t.enc_.data() + sym_base[r];
    uint32_t* cdf = t.cdf_.data() + sym_base[r] + static_cast<size_t>(r);
    for (uint32_t s = 0; s <= nsym; ++s) cdf[s] = static_cast<uint32_t>(row[s]);
    for (uint32_t s = 0; s < nsym; ++s) {
      const uint32_t start = cdf[s], freq = cdf[s + 1] - cdf[s];
      enc[s].xmax_hi = rans_l_over_total * freq;
      enc[s].cmpl_freq = total - freq;
      if (freq == 1) {
        enc[s].rcp = ~uint64_t{0};
        enc[s].rcp_shift = 0;
        enc[s].bias = start + total - 1;
      } else {
        uint32_t shift = 0;
        while ((uint32_t{1} << shift) < freq) ++shift;
        const unsigned __int128 one = 1;
        enc[s].rcp = static_cast<uint64_t>(((one << (63 + shift)) + freq - 1) / freq);
        enc[s].rcp_shift = shift - 1;
        enc[s].bias = start;
      }
    }
    uint16_t* bucket = t.bucket_.data() + bucket_base[r];
    const uint32_t shift = static_cast<uint32_t>(precision - bucket_bits[r]);
    t.rows_[r].bucket_shift = shift;
    t.rows_[r].cdf = cdf;
    t.rows_[r].bucket = bucket;
    t.rows_[r].enc = enc;
    const uint32_t nbuckets = uint32_t{1} << bucket_bits[r];
    uint32_t s = 0;
    for (uint32_t b = 0; b < nbuckets; ++b) {
      const uint32_t slot = b << shift;
      while (cdf[s + 1] <= slot) ++s;
      bucket[b] = static_cast<uint16_t>(s);
    }
    bucket[nbuckets] = static_cast<uint16_t>(nsym - 1);
  }
  *out = std::move(t);
  return Status::Ok();
}

size_t CdfTable::memory_bytes() const {
  return enc_.size() * sizeof(EncSymbol) + cdf_.size() * sizeof(uint32_t) +
         bucket_.size() * sizeof(uint16_t) + rows_.size() * sizeof(TableRow);
}

}  // namespace fastcodec
