#include "coding/symbol_scan.h"

#include <string>

namespace fastcodec {
namespace {

Status bad_index(const CdfTable& table, const int32_t* indexes, int64_t n) {
  const int64_t rows = table.num_tables();
  for (int64_t i = 0; i < n; ++i) {
    if (indexes[i] < 0 || indexes[i] >= rows) {
      return Status::InvalidArgument("indexes[" + std::to_string(i) + "] = " + std::to_string(indexes[i]) +
                                     " is not a table row (expected 0 <= index < " + std::to_string(rows) + ")");
    }
  }
  return Status::Ok();
}

}  // namespace

Status check_indexes(const CdfTable& table, const int32_t* indexes, int64_t n) {
  const uint32_t rows = static_cast<uint32_t>(table.num_tables());
  uint32_t bad = 0;
  for (int64_t i = 0; i < n; ++i) bad |= static_cast<uint32_t>(static_cast<uint32_t>(indexes[i]) >= rows);
  return bad ? bad_index(table, indexes, n) : Status::Ok();
}

Status count_escapes(const CdfTable& table, const int32_t* symbols, const int32_t* indexes, int64_t n,
                     int64_t* escapes) {
  Status st = check_indexes(table, indexes, n);
  if (!st.ok()) return st;
  int64_t count = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t d = static_cast<int64_t>(symbols[i]) - table.offset(indexes[i]);
    count += static_cast<uint64_t>(d) >= table.escape_symbol(indexes[i]);
  }
  *escapes = count;
  return Status::Ok();
}

}  // namespace fastcodec
