// Endian-independent loads and stores on byte pointers. Streams are little-endian (rANS words) or
// big-endian (range coder bytes) by definition of the wire format, whatever the host is; byte
// pointers also make unaligned Python buffers safe to read.
#pragma once

#include <cstdint>

namespace fastcodec {

inline uint16_t load_u16le(const uint8_t* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }

inline void store_u16le(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v);
  p[1] = static_cast<uint8_t>(v >> 8);
}

inline uint32_t load_u32le(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
         (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
}

inline void store_u32le(uint8_t* p, uint32_t v) {
  store_u16le(p, static_cast<uint16_t>(v));
  store_u16le(p + 2, static_cast<uint16_t>(v >> 16));
}

}  // namespace fastcodec
