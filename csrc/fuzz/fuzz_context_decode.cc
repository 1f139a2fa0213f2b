// libFuzzer target: the fused context decoding loop (both coding orders) on arbitrary hyper inputs,
// latent sizes and streams: statuses only, never out-of-bounds, overflow (UBSan) or a hang.
#include <vector>

#include "../tests/context_fixture.h"
#include "fuzz_input.h"

static fastcodec::IntContextModel packed(fastcodec::IntContextModel m) {
  m.Pack();
  return m;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // packed like the Python module's models: the SIMD layer kernels, on 2 threads
  static const fastcodec::IntContextModel models[2] = {
      packed(fastcodec_test::random_context_model(11, 4, fastcodec::ContextOrder::kWavefront, 4)),
      packed(fastcodec_test::random_context_model(12, 4, fastcodec::ContextOrder::kCheckerboard, 4))};
  static const fastcodec::CdfTable table = fastcodec_test::laplace_table(4);
  fastcodec_fuzz::ByteReader in(data, size);
  const fastcodec::IntContextModel& m = models[in.u8() & 1];
  const int32_t H = 1 + static_cast<int32_t>(in.u8() % 8), W = 1 + static_cast<int32_t>(in.u8() % 8);
  std::vector<int16_t> hyper(static_cast<size_t>(H) * W * 2 * m.M);
  for (auto& v : hyper) v = static_cast<int16_t>(static_cast<int32_t>(in.u16() % 16383) - 8191);
  std::vector<int32_t> sym(static_cast<size_t>(H) * W * m.M);
  std::vector<int16_t> means(sym.size());
  fastcodec::context_decode(m, hyper.data(), H, W, table, in.rest(), in.left(), sym.data(), means.data(), 2);
  return 0;
}
