#pragma once
// The threads of `s3rec serve` that hold client connections (cpp-httplib's TaskQueue:
// one accepted connection is one task that lasts as long as the connection). Threads
// are started on demand up to `max_threads`; beyond that, accepted connections wait in
// a queue of `max_queue`, and when the queue is full, enqueue() blocks the accept loop
// (new connections then wait in the kernel's listen backlog). shutdown() runs every
// queued connection before joining, so nothing accepted is dropped.
#include <httplib.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace s3rec::serve {

class ConnectionPool : public httplib::TaskQueue {
 public:
  ConnectionPool(int max_threads, int max_queue);
  ~ConnectionPool() override;
  void enqueue(std::function<void()> fn) override;
  void shutdown() override;

 private:
  void work();
  size_t max_threads_, max_queue_;
  std::vector<std::thread> workers_;
  std::deque<std::function<void()>> jobs_;
  size_t idle_ = 0;  // workers waiting for a job
  bool shutdown_ = false;
  std::mutex mu_;
  std::condition_variable not_empty_, not_full_;
};

}  // namespace s3rec::serve
