#pragma once
// The threads of `s3rec serve` that compute answers: a fixed number of them, each with
// one OpenMP thread, taking work in arrival order. A connection thread hands its request
// over and waits, so what computing costs per thread (a deep stack, OpenBLAS's buffers,
// thread-local scratch) exists on these few threads only, however many connections are
// open, and memory stays flat once they have all computed.
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace s3rec::serve {

class ComputePool {
 public:
  explicit ComputePool(int threads);  // threads <= 0: one per core (threads_for(0))
  static int threads_for(int threads);  // the pool size a request of `threads` gives
  ~ComputePool();  // finishes what is queued, then joins
  ComputePool(const ComputePool&) = delete;
  ComputePool& operator=(const ComputePool&) = delete;

  struct Timing {
    double queued = 0;    // seconds from the call until a thread took `f`
    double computed = 0;  // seconds `f` ran
  };
  // Runs `f` on one of the pool's threads and waits for it; rethrows what `f` throws.
  Timing run(const std::function<void()>& f);
  long queue_depth();  // jobs waiting for a thread now

 private:
  struct Job;
  void work();
  std::vector<std::thread> workers_;
  std::deque<Job*> jobs_;
  bool stopping_ = false;
  std::mutex mu_;
  std::condition_variable has_job_;
};

}  // namespace s3rec::serve
