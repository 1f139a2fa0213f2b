// C++ unit tests of the core, built with -DFASTCODEC_TESTS=ON and run by ctest (under ASan + UBSan
// with -DFASTCODEC_SANITIZE=ON in CI). Prints "N passed, N failed"; exit status 1 on any failure.
#include <cstdint>
#include <cstdio>
#include <functional>

#include "harness.h"
#include <random>
#include <string>
#include <vector>

#include "coding/coder.h"
#include "coding/pmf_quantize.h"

using namespace fastcodec;

namespace {

using fastcodec_test::run;

struct Tables {
  std::vector<int32_t> cdfs, lengths, offsets;
  int64_t width = 0;
};

Tables random_tables(std::mt19937& rng, int rows, int max_len, int precision) {
  Tables t;
  const uint32_t total = uint32_t{1} << precision;
  t.width = max_len;
  t.cdfs.assign(static_cast<size_t>(rows * max_len), static_cast<int32_t>(total));
  for (int r = 0; r < rows; ++r) {
    int len = 2 + static_cast<int>(rng() % static_cast<uint32_t>(max_len - 1));
    if (static_cast<uint32_t>(len - 1) > total) len = static_cast<int>(total) + 1;
    std::vector<uint32_t> w(static_cast<size_t>(len - 1));
    std::vector<int64_t> weights(w.size());
    for (auto& v : weights) v = static_cast<int64_t>(rng() % 1000) * static_cast<int64_t>(rng() % 1000);
    std::vector<uint32_t> freq(w.size());
    CHECK(quantize_weights(weights.data(), static_cast<int64_t>(weights.size()), precision, freq.data()).ok());
    int32_t* row = t.cdfs.data() + r * max_len;
    row[0] = 0;
    for (size_t s = 0; s < freq.size(); ++s) row[s + 1] = row[s] + static_cast<int32_t>(freq[s]);
    t.lengths.push_back(len);
    t.offsets.push_back(static_cast<int32_t>(rng() % 2001) - 1000);
  }
  return t;
}

CdfTable build(const Tables& t, int precision) {
  CdfTable table;
  Status st = CdfTable::Build(t.cdfs.data(), static_cast<int64_t>(t.lengths.size()), t.width, t.lengths.data(),
                              t.offsets.data(), precision, &table);
  CHECK(st.ok());
  return table;
}

void random_symbols(std::mt19937& rng, const CdfTable& table, int64_t n, std::vector<int32_t>* sym,
                    std::vector<int32_t>* idx) {
  sym->resize(static_cast<size_t>(n));
  idx->resize(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const int32_t t = static_cast<int32_t>(rng() % static_cast<uint32_t>(table.num_tables()));
    (*idx)[i] = t;
    const uint32_t kind = rng() % 100;
    if (kind < 90) {
      (*sym)[i] = table.offset(t) + static_cast<int32_t>(rng() % (table.escape_symbol(t) + 1));
    } else if (kind < 98) {
      (*sym)[i] = table.offset(t) + static_cast<int32_t>(rng() % 200) - 100;
    } else {
      (*sym)[i] = static_cast<int32_t>(rng());
    }
  }
}

void test_round_trips() {
  std::mt19937 rng(1);
  for (int iter = 0; iter < 60; ++iter) {
    const int precision = 8 + iter % 9;
    const Tables t = random_tables(rng, 1 + iter % 5, 2 + static_cast<int>(rng() % 500), precision);
    const CdfTable table = build(t, precision);
    for (int64_t n : {0, 1, 2, 63, 64, 1000, 20000}) {
      std::vector<int32_t> sym, idx, back(static_cast<size_t>(n));
      random_symbols(rng, table, n, &sym, &idx);
      for (Coder c : {Coder::kAns, Coder::kRange}) {
        std::vector<uint8_t> stream;
        CHECK(encode(c, table, sym.data(), idx.data(), n, &stream).ok());
        std::fill(back.begin(), back.end(), 0);
        CHECK(decode(c, table, stream.data(), stream.size(), idx.data(), n, back.data()).ok());
        CHECK(back == sym);
      }
    }
  }
}

void test_int32_extremes() {
  const int32_t cdf[3] = {0, 1 << 15, 1 << 16};
  const int32_t len = 3;
  for (int32_t offset : {INT32_MIN, -1, 0, INT32_MAX - 1}) {
    CdfTable table;
    CHECK(CdfTable::Build(cdf, 1, 3, &len, &offset, 16, &table).ok());
    std::vector<int32_t> sym = {INT32_MIN, INT32_MIN + 1, -1, 0, 1, INT32_MAX - 1, INT32_MAX, offset};
    std::vector<int32_t> idx(sym.size(), 0), back(sym.size());
    for (Coder c : {Coder::kAns, Coder::kRange}) {
      std::vector<uint8_t> stream;
      CHECK(encode(c, table, sym.data(), idx.data(), static_cast<int64_t>(sym.size()), &stream).ok());
      CHECK(decode(c, table, stream.data(), stream.size(), idx.data(), static_cast<int64_t>(sym.size()), back.data()).ok());
      CHECK(back == sym);
    }
  }
}

void test_malformed_streams() {
  std::mt19937 rng(2);
  const Tables t = random_tables(rng, 3, 300, 12);
  const CdfTable table = build(t, 12);
  std::vector<int32_t> sym, idx;
  random_symbols(rng, table, 800, &sym, &idx);
  std::vector<int32_t> back(sym.size());
  for (Coder c : {Coder::kAns, Coder::kRange}) {
    std::vector<uint8_t> stream;
    CHECK(encode(c, table, sym.data(), idx.data(), 800, &stream).ok());
    // Every truncation is an error, read exactly within the given (heap-exact, for ASan) buffer.
    for (size_t cut = 0; cut < stream.size(); ++cut) {
      std::vector<uint8_t> part(stream.begin(), stream.begin() + static_cast<long>(cut));
      Status st = decode(c, table, part.data(), part.size(), idx.data(), 800, back.data());
      CHECK(!st.ok() && st.code() != StatusCode::kInvalidArgument);
    }
    // Bit flips and random bytes: any status, no crash.
    for (size_t bit = 0; bit < stream.size() * 8; bit += 5) {
      std::vector<uint8_t> flipped = stream;
      flipped[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
      decode(c, table, flipped.data(), flipped.size(), idx.data(), 800, back.data());
    }
    for (int k = 0; k < 200; ++k) {
      std::vector<uint8_t> noise(rng() % 3000);
      for (auto& b : noise) b = static_cast<uint8_t>(rng());
      decode(c, table, noise.data(), noise.size(), idx.data(), 800, back.data());
    }
  }
}

void test_bad_indexes_and_tables() {
  const int32_t cdf[4] = {0, 10, 20, 256};
  const int32_t len = 4, off = 0;
  CdfTable table;
  CHECK(CdfTable::Build(cdf, 1, 4, &len, &off, 8, &table).ok());
  std::vector<int32_t> sym = {0, 1}, idx = {0, 1}, back(2);
  std::vector<uint8_t> stream;
  CHECK(encode(Coder::kAns, table, sym.data(), idx.data(), 2, &stream).code() == StatusCode::kInvalidArgument);
  CHECK(decode(Coder::kRange, table, stream.data(), 0, idx.data(), 2, back.data()).code() == StatusCode::kInvalidArgument);
  const int32_t bad_start[4] = {1, 10, 20, 256};
  const int32_t bad_order[4] = {0, 20, 20, 256};
  const int32_t bad_end[4] = {0, 10, 20, 255};
  for (const int32_t* c : {bad_start, bad_order, bad_end}) {
    CdfTable t2;
    CHECK(CdfTable::Build(c, 1, 4, &len, &off, 8, &t2).code() == StatusCode::kInvalidArgument);
  }
  CdfTable t3;
  CHECK(CdfTable::Build(cdf, 1, 4, &len, &off, 17, &t3).code() == StatusCode::kInvalidArgument);
}

void test_quantize_weights() {
  std::mt19937 rng(3);
  for (int iter = 0; iter < 200; ++iter) {
    const int precision = 8 + iter % 9;
    const int64_t n = 1 + static_cast<int64_t>(rng() % std::min<uint32_t>(500, 1u << precision));
    std::vector<int64_t> w(static_cast<size_t>(n));
    for (auto& v : w) v = (rng() % 3 == 0) ? 0 : static_cast<int64_t>(rng());
    std::vector<uint32_t> f(static_cast<size_t>(n));
    CHECK(quantize_weights(w.data(), n, precision, f.data()).ok());
    uint64_t sum = 0;
    for (uint32_t v : f) {
      CHECK(v >= 1);
      sum += v;
    }
    CHECK(sum == (uint64_t{1} << precision));
  }
  std::vector<int64_t> w(300, 1);
  std::vector<uint32_t> f(300);
  CHECK(quantize_weights(w.data(), 300, 8, f.data()).code() == StatusCode::kInvalidArgument);
}

}  // namespace

int main() {
  run("round_trips", test_round_trips);
  run("int32_extremes", test_int32_extremes);
  run("malformed_streams", test_malformed_streams);
  run("bad_indexes_and_tables", test_bad_indexes_and_tables);
  run("quantize_weights", test_quantize_weights);
  return fastcodec_test::report();
}
