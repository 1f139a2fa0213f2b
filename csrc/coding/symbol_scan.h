// Checks shared by the coders, run once per call before any hot loop.
#pragma once

#include <cstdint>

#include "coding/cdf_table.h"
#include "common/status.h"

namespace fastcodec {

// OK when every index is a row of the table; otherwise InvalidArgument naming the first bad one.
Status check_indexes(const CdfTable& table, const int32_t* indexes, int64_t n);

// check_indexes, and counts the symbols that need escape coding.
Status count_escapes(const CdfTable& table, const int32_t* symbols, const int32_t* indexes, int64_t n,
                     int64_t* escapes);

}  // namespace fastcodec
