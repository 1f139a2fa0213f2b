// bf16 <-> float conversions for the C++ tests of the bf16 kernels (round to nearest even).
#pragma once

#include <cstdint>
#include <cstring>

namespace fastcodec_test {

inline uint16_t to_bf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  u += 0x7fff + ((u >> 16) & 1);
  return static_cast<uint16_t>(u >> 16);
}

inline double from_bf16(uint16_t b) {
  const uint32_t u = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

}  // namespace fastcodec_test
