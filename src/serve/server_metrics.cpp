#include "serve/server_metrics.h"

#include <algorithm>
#include <cstdio>

namespace s3rec::serve {

namespace {

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

}  // namespace

void LatencyHistogram::record(double seconds) {
  seconds = std::max(0.0, seconds);
  const size_t b = size_t(std::lower_bound(kBounds.begin(), kBounds.end(), seconds) - kBounds.begin());
  buckets_[b].fetch_add(1, std::memory_order_relaxed);
  sum_ns_.fetch_add(uint64_t(seconds * 1e9), std::memory_order_relaxed);
}

std::string LatencyHistogram::render(const std::string& name) const {
  std::string out;
  uint64_t cumulative = 0;
  for (size_t b = 0; b < kBounds.size(); ++b) {
    cumulative += buckets_[b].load(std::memory_order_relaxed);
    out += name + "_bucket{le=\"" + number(kBounds[b]) + "\"} " + std::to_string(cumulative) + "\n";
  }
  cumulative += buckets_[kBounds.size()].load(std::memory_order_relaxed);
  // _count is the +Inf bucket's cumulative count, so the two always agree
  out += name + "_bucket{le=\"+Inf\"} " + std::to_string(cumulative) + "\n";
  out += name + "_sum " + number(double(sum_ns_.load(std::memory_order_relaxed)) * 1e-9) + "\n";
  out += name + "_count " + std::to_string(cumulative) + "\n";
  return out;
}

const char* ServerMetrics::endpoint_label(const std::string& path) {
  for (const char* known : {"/v1/recommend", "/v1/recommend/batch", "/v1/model", "/healthz", "/metrics"})
    if (path == known) return known;
  return "other";
}

void ServerMetrics::count(const std::string& path, int status) {
  std::lock_guard<std::mutex> lock(mu_);
  ++requests_[{endpoint_label(path), status}];
}

void ServerMetrics::record_recommend(double queue_seconds, double compute_seconds) {
  queue_.record(queue_seconds);
  compute_.record(compute_seconds);
}

std::string ServerMetrics::prometheus(long queue_depth) const {
  std::string out;
  out += "# HELP s3rec_requests_total HTTP requests answered, by endpoint and status.\n";
  out += "# TYPE s3rec_requests_total counter\n";
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [key, n] : requests_)
      out += "s3rec_requests_total{endpoint=\"" + key.first + "\",code=\"" + std::to_string(key.second) + "\"} " +
             std::to_string(n) + "\n";
  }
  out += "# HELP s3rec_request_seconds A request's time in the server, from its first bytes to its answer sent.\n";
  out += "# TYPE s3rec_request_seconds histogram\n";
  out += request_.render("s3rec_request_seconds");
  out += "# HELP s3rec_recommend_queue_seconds Wait of a recommend request for a compute thread.\n";
  out += "# TYPE s3rec_recommend_queue_seconds histogram\n";
  out += queue_.render("s3rec_recommend_queue_seconds");
  out += "# HELP s3rec_recommend_compute_seconds Computation of a recommend request (parse, encode, search).\n";
  out += "# TYPE s3rec_recommend_compute_seconds histogram\n";
  out += compute_.render("s3rec_recommend_compute_seconds");
  out += "# HELP s3rec_compute_queue_depth Requests waiting for a compute thread.\n";
  out += "# TYPE s3rec_compute_queue_depth gauge\n";
  out += "s3rec_compute_queue_depth " + std::to_string(queue_depth) + "\n";
  out += "# HELP s3rec_compute_threads Compute threads of the server.\n";
  out += "# TYPE s3rec_compute_threads gauge\n";
  out += "s3rec_compute_threads " + std::to_string(compute_threads_) + "\n";
  return out;
}

}  // namespace s3rec::serve
