// parallel_for: runs f(i) for i in [0, n) on up to `threads` std::threads that take jobs from a
// shared counter (dynamic scheduling: streams differ in length). Threads live for one call, so
// there is no global pool to leak across fork() in data-loader workers.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace fastcodec {

// threads <= 0 means all hardware threads.
inline int resolve_threads(int threads, int64_t jobs) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(threads, jobs)));
}

template <class F>
void parallel_for(int64_t n, int threads, F&& f) {
  const int t = resolve_threads(threads, n);
  if (t <= 1) {
    for (int64_t i = 0; i < n; ++i) f(i);
    return;
  }
  std::atomic<int64_t> next{0};
  auto worker = [&]() {
    for (int64_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) f(i);
  };
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(t - 1));
  for (int k = 1; k < t; ++k) pool.emplace_back(worker);
  worker();
  for (auto& th : pool) th.join();
}

}  // namespace fastcodec
