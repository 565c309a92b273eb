#pragma once
// What `s3rec serve` counts about itself, for GET /metrics (Prometheus text format 0.0.4):
// requests by endpoint and status, every request's time in the server, and for the
// recommend endpoints the wait for a compute thread and the computation itself. Together with a client's
// end-to-end latency they tell queueing, computing and the network apart.
// Every recording is a few relaxed atomic increments (and a short lock for the status
// count); endpoint labels come from a fixed list, so hostile paths cannot grow the output.
#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace s3rec::serve {

// Latency histogram with fixed upper bounds (seconds, 1-2-5 steps from 50 us to 10 s).
class LatencyHistogram {
 public:
  static constexpr std::array<double, 17> kBounds = {5e-5, 1e-4, 2e-4, 5e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2,
                                                     5e-2, 0.1,  0.2,  0.5,  1,    2,    5,    10};
  void record(double seconds);
  // Prometheus lines for metric `name` (cumulative buckets, +Inf, _sum, _count).
  std::string render(const std::string& name) const;

 private:
  std::array<std::atomic<uint64_t>, kBounds.size() + 1> buckets_{};  // last: above every bound
  std::atomic<uint64_t> sum_ns_{0};
};

class ServerMetrics {
 public:
  explicit ServerMetrics(int compute_threads) : compute_threads_(compute_threads) {}
  // The label a request path is counted under: one of the API's endpoints, or "other".
  static const char* endpoint_label(const std::string& path);
  void count(const std::string& path, int status);
  // A recommend request's wait for a compute thread and its computation (seconds).
  void record_recommend(double queue_seconds, double compute_seconds);
  // Any request's time in the server: from its first bytes to its answer handed to the kernel.
  void record_request(double seconds) { request_.record(seconds); }
  // the exposition, with the compute queue's current depth
  std::string prometheus(long queue_depth) const;

 private:
  int compute_threads_;
  LatencyHistogram queue_, compute_, request_;
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;  // (endpoint, status) -> count
};

}  // namespace s3rec::serve
