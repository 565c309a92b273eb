#include "serve/connection_pool.h"

#include <algorithm>
#include <system_error>

namespace s3rec::serve {

ConnectionPool::ConnectionPool(int max_threads, int max_queue)
    : max_threads_(size_t(std::max(1, max_threads))), max_queue_(size_t(std::max(1, max_queue))) {}

ConnectionPool::~ConnectionPool() {
  if (!shutdown_) shutdown();
}

void ConnectionPool::enqueue(std::function<void()> fn) {
  std::unique_lock<std::mutex> lock(mu_);
  not_full_.wait(lock, [&] { return jobs_.size() < max_queue_ || shutdown_; });
  jobs_.push_back(std::move(fn));
  // more connections waiting than idle threads: start one, if the cap allows
  if (jobs_.size() > idle_ && workers_.size() < max_threads_) {
    try {
      workers_.emplace_back([this] { work(); });
      return;
    } catch (const std::system_error&) {
      if (workers_.empty()) throw;  // no thread at all: nothing can serve
      max_threads_ = workers_.size();  // the system's limit: serve with the threads there are
    }
  }
  not_empty_.notify_one();
}

void ConnectionPool::shutdown() {
  std::vector<std::thread> workers;
  {
    std::lock_guard<std::mutex> lock(mu_);
    shutdown_ = true;
    workers.swap(workers_);
  }
  not_empty_.notify_all();
  not_full_.notify_all();
  for (auto& t : workers) t.join();
}

void ConnectionPool::work() {
  for (;;) {
    std::function<void()> fn;
    {
      std::unique_lock<std::mutex> lock(mu_);
      ++idle_;
      not_empty_.wait(lock, [&] { return !jobs_.empty() || shutdown_; });
      --idle_;
      if (jobs_.empty()) return;  // shut down and drained
      fn = std::move(jobs_.front());
      jobs_.pop_front();
      not_full_.notify_one();
    }
    fn();
  }
}

}  // namespace s3rec::serve
