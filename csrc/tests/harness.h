// The tiny test harness shared by the C++ unit tests: CHECK aborts the current test, run() counts,
// skip() ends a test that cannot run here with the skip code.
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

// The exit status of a test that cannot run on this machine (a CPU feature it needs is missing):
// CMakeLists.txt registers it as each test's SKIP_RETURN_CODE, so ctest reports "Skipped", not a
// pass. 77 is the code automake and meson use for the same.
constexpr int kSkipped = 77;

inline int skip(const char* why) {
  std::printf("skipped: %s\n", why);
  return kSkipped;
}

// Prints the tally; the exit status of main.
inline int report() {
  std::printf("%d passed, %d failed\n", g_passed, g_failed);
  return g_failed == 0 ? 0 : 1;
}

}  // namespace fastcodec_test
