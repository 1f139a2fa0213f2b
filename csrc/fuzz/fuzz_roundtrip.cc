// libFuzzer target: any symbols (all int32, escapes included) encoded with either coder decode to
// themselves, and the encoder stays within its size bound.
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "coding/coder.h"
#include "fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fastcodec_fuzz::ByteReader in(data, size);
  const fastcodec::CdfTable table = fastcodec_fuzz::make_table(in);
  const auto coder = static_cast<fastcodec::Coder>(in.u8() & 1);
  const int64_t n = static_cast<int64_t>(in.left() / 5);
  std::vector<int32_t> symbols(n), indexes(n), back(n);
  for (int64_t i = 0; i < n; ++i) {
    indexes[i] = static_cast<int32_t>(in.u8() % table.num_tables());
    const uint32_t v = in.u32();
    // Half the values near the row's literal range, half anywhere in int32.
    const int64_t near = int64_t{table.offset(indexes[i])} + static_cast<int64_t>((v >> 1) % 80) - 8;
    symbols[i] = (v & 1) ? static_cast<int32_t>(v)
                         : static_cast<int32_t>(near < INT32_MIN ? INT32_MIN : near > INT32_MAX ? INT32_MAX : near);
  }
  std::vector<uint8_t> stream;
  if (!fastcodec::encode(coder, table, symbols.data(), indexes.data(), n, &stream).ok()) abort();
  if (!fastcodec::decode(coder, table, stream.data(), stream.size(), indexes.data(), n, back.data()).ok()) abort();
  if (back != symbols) abort();
  return 0;
}
