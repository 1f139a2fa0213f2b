// libFuzzer target: decoding arbitrary bytes as a range-coded stream must return a status, never read or
// write out of bounds, hang or allocate without bound.
#include <vector>

#include "coding/range_coder.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fastcodec_fuzz::ByteReader in(data, size);
  const fastcodec::CdfTable table = fastcodec_fuzz::make_table(in);
  const int64_t n = in.u16() % 4096;
  std::vector<int32_t> indexes(n), out(n);
  for (int64_t i = 0; i < n; ++i) indexes[i] = static_cast<int32_t>(i % table.num_tables());
  fastcodec::range_decode(table, in.rest(), in.left(), indexes.data(), n, out.data());
  return 0;
}
