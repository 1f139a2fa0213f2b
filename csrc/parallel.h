// parallel_for: runs f(i) for i in [0, n) on up to `threads` std::threads that take jobs from a
// shared counter (dynamic scheduling: streams differ in length). Threads live for one call, so
// there is no global pool to leak across fork() in data-loader workers.
#pragma once

#include <algorithm>
#include <atomic>
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
// passes of a context-model coding loop: 141 of them for one Kodak image), so each step costs a
// wake-up instead of thread creation. Run(n, f) calls f(i, worker) for i in [0, n) with dynamic
// scheduling; worker in [0, size()) indexes per-thread scratch. The calling thread is worker 0.
class WorkerPool {
 public:
  explicit WorkerPool(int threads) : size_(std::max(1, threads)) {
    for (int w = 1; w < size_; ++w) helpers_.emplace_back([this, w] { Loop(w); });
  }
  ~WorkerPool() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
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
    {
      std::lock_guard<std::mutex> lock(mu_);
      job_ = &f;
      n_ = n;
      next_.store(0);
      busy_ = size_ - 1;
      ++generation_;
    }
    start_.notify_all();
    Work(0);
    std::unique_lock<std::mutex> lock(mu_);
    done_.wait(lock, [this] { return busy_ == 0; });
    job_ = nullptr;
  }

 private:
  void Work(int worker) {
    for (int64_t i = next_.fetch_add(1); i < n_; i = next_.fetch_add(1)) (*job_)(i, worker);
  }
  void Loop(int worker) {
    uint64_t seen = 0;
    for (;;) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        start_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
      }
      Work(worker);
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (--busy_ == 0) done_.notify_one();
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
  int busy_ = 0;
  uint64_t generation_ = 0;
  bool stop_ = false;
};

}  // namespace fastcodec
