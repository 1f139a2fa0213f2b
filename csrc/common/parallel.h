// parallel_for: runs f(i) for i in [0, n) on up to `threads` std::threads that take jobs from a
// shared counter (dynamic scheduling: streams differ in length). Threads live for one call, so
// there is no global pool to leak across fork() in data-loader workers.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
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

// A team of threads kept for the length of one call that runs many short parallel steps (the
// passes of a context-model coding loop: 141 of them for one Kodak image, 4 steps each when a pass
// is split by output channels), so each step costs a wake-up instead of thread creation. Run(n, f)
// calls f(i, worker) for i in [0, n) with dynamic scheduling; worker in [0, size()) indexes
// per-thread scratch. The calling thread is worker 0. Between steps the helpers spin for up to
// kSpinMicros before they sleep, and so does Run while it waits for them: a step of a few
// microseconds then costs well under a microsecond of hand-over instead of two futex wake-ups.
class WorkerPool {
 public:
  explicit WorkerPool(int threads) : size_(std::max(1, threads)) {
    for (int w = 1; w < size_; ++w) helpers_.emplace_back([this, w] { Loop(w); });
  }
  ~WorkerPool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_.store(true);
    }
    start_.notify_all();
    for (auto& t : helpers_) t.join();
  }
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  int size() const { return size_; }

  void Run(int64_t n, const std::function<void(int64_t, int)>& f) {
    if (size_ == 1 || n <= 1) {
      for (int64_t i = 0; i < n; ++i) f(i, 0);
      return;
    }
    job_ = &f;
    n_ = n;
    next_.store(0);
    busy_.store(size_ - 1);
    {
      // under the mutex: a helper that found no new step and is about to sleep re-checks under it
      std::lock_guard<std::mutex> lock(mu_);
      generation_.fetch_add(1, std::memory_order_release);
    }
    start_.notify_all();
    Work(0);
    if (!SpinUntil([this] { return busy_.load(std::memory_order_acquire) == 0; })) {
      std::unique_lock<std::mutex> lock(mu_);
      done_.wait(lock, [this] { return busy_.load(std::memory_order_acquire) == 0; });
    }
    job_ = nullptr;
  }

 private:
  static constexpr int kSpinMicros = 200;

  template <class Pred>
  static bool SpinUntil(Pred done) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(kSpinMicros);
    for (int i = 0;; ++i) {
      if (done()) return true;
#if defined(__x86_64__) || defined(__i386__)
      __builtin_ia32_pause();
#endif
      if ((i & 63) == 63 && std::chrono::steady_clock::now() > until) return false;
    }
  }

  void Work(int worker) {
    for (int64_t i = next_.fetch_add(1); i < n_; i = next_.fetch_add(1)) (*job_)(i, worker);
  }
  void Loop(int worker) {
    uint64_t seen = 0;
    for (;;) {
      auto fresh = [&] { return stop_.load() || generation_.load(std::memory_order_acquire) != seen; };
      if (!SpinUntil(fresh)) {
        std::unique_lock<std::mutex> lock(mu_);
        start_.wait(lock, fresh);
      }
      if (stop_.load()) return;
      seen = generation_.load(std::memory_order_acquire);
      Work(worker);
      if (busy_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lock(mu_);  // Run re-checks busy_ under it before sleeping
        done_.notify_one();
      }
    }
  }

  const int size_;
  std::vector<std::thread> helpers_;
  std::mutex mu_;
  std::condition_variable start_, done_;
  const std::function<void(int64_t, int)>* job_ = nullptr;
  int64_t n_ = 0;
  std::atomic<int64_t> next_{0};
  std::atomic<int> busy_{0};
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> stop_{false};
};

}  // namespace fastcodec
