// libFuzzer target: the incremental rANS decoder (RansStreamDecoder) on arbitrary bytes, asked for
// symbols in pieces of fuzzer-chosen sizes: statuses only, never out-of-bounds or a hang.
#include <vector>

#include "coding/rans.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fastcodec_fuzz::ByteReader in(data, size);
  const fastcodec::CdfTable table = fastcodec_fuzz::make_table(in);
  const int64_t n = in.u16() % 4096;
  const int64_t piece = 1 + in.u8() % 64;
  std::vector<int32_t> indexes(n), out(n);
  for (int64_t i = 0; i < n; ++i) indexes[i] = static_cast<int32_t>((i * 7) % table.num_tables());
  fastcodec::RansStreamDecoder dec;
  if (!dec.Init(in.rest(), in.left()).ok()) return 0;
  for (int64_t i = 0; i < n; i += piece) {
    const int64_t m = (n - i) < piece ? n - i : piece;
    if (!dec.Decode(table, indexes.data() + i, m, out.data() + i).ok()) return 0;
  }
  dec.Finish();
  return 0;
}
