// The tiny test harness shared by the C++ unit tests: CHECK aborts the current test, run() counts.
#pragma once

#include <cstdio>
#include <functional>

namespace fastcodec_test {

inline int g_passed = 0, g_failed = 0;

#define CHECK(cond)                                                          \
  do {                                                                       \
    if (!(cond)) {                                                           \
      std::printf("  %s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      throw 0;                                                               \
    }                                                                        \
  } while (0)

inline void run(const char* name, const std::function<void()>& fn) {
  try {
    fn();
    ++g_passed;
  } catch (...) {
    std::printf("FAILED %s\n", name);
    ++g_failed;
  }
}

// Prints the tally; the exit status of main.
inline int report() {
  std::printf("%d passed, %d failed\n", g_passed, g_failed);
  return g_failed == 0 ? 0 : 1;
}

}  // namespace fastcodec_test
