#include "serve/compute_pool.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <exception>

namespace s3rec::serve {

// Lives on the waiting caller's stack; `done` is set and signalled under `m`, so the
// caller cannot wake and destroy it before the worker has let go of it.
struct ComputePool::Job {
  const std::function<void()>* f;
  std::chrono::steady_clock::time_point queued, started, finished;
  std::exception_ptr error;
  bool done = false;
  std::mutex m;
  std::condition_variable cv;
};

int ComputePool::threads_for(int threads) {
  return threads > 0 ? threads : std::max(1, int(std::thread::hardware_concurrency()));
}

ComputePool::ComputePool(int threads) {
  for (int i = 0, n = threads_for(threads); i < n; ++i)
    workers_.emplace_back([this] {
      omp_set_num_threads(1);  // one request, one core: concurrency comes from the pool
      work();
    });
}

ComputePool::~ComputePool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  has_job_.notify_all();
  for (auto& t : workers_) t.join();
}

ComputePool::Timing ComputePool::run(const std::function<void()>& f) {
  Job job;
  job.f = &f;
  job.queued = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> lock(mu_);
    jobs_.push_back(&job);
  }
  has_job_.notify_one();
  {
    std::unique_lock<std::mutex> lock(job.m);
    job.cv.wait(lock, [&] { return job.done; });
  }
  if (job.error) std::rethrow_exception(job.error);
  using seconds = std::chrono::duration<double>;
  return {seconds(job.started - job.queued).count(), seconds(job.finished - job.started).count()};
}

long ComputePool::queue_depth() {
  std::lock_guard<std::mutex> lock(mu_);
  return long(jobs_.size());
}

void ComputePool::work() {
  for (;;) {
    Job* job = nullptr;
    {
      std::unique_lock<std::mutex> lock(mu_);
      has_job_.wait(lock, [&] { return !jobs_.empty() || stopping_; });
      if (jobs_.empty()) return;  // stopping, and nothing left
      job = jobs_.front();
      jobs_.pop_front();
    }
    job->started = std::chrono::steady_clock::now();
    try {
      (*job->f)();
    } catch (...) {
      job->error = std::current_exception();
    }
    job->finished = std::chrono::steady_clock::now();
    std::lock_guard<std::mutex> lock(job->m);
    job->done = true;
    job->cv.notify_one();
  }
}

}  // namespace s3rec::serve
