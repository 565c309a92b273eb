// Open-loop HTTP load generator for `s3rec serve`: sends POST /v1/recommend at a
// fixed rate over keep-alive connections and reports latency percentiles and the
// achieved throughput. Each request's latency runs from its *scheduled* send time,
// so a server that falls behind is charged for the queueing (no coordinated omission).
//
// usage: bench_serve --port=P [--host=127.0.0.1] [--rate=1000] [--seconds=20]
//                    [--connections=8] [--k=10] [--histories=FILE] [--json=FILE]
// FILE: one history per line (the first token is dropped when --drop_first=true, as
// for the reference format's "user item item ..." lines).
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "serve_workload.h"

namespace {

using serve_workload::percentile;

using Clock = std::chrono::steady_clock;

struct Options {
  std::string host = "127.0.0.1";
  int port = 8080;
  double rate = 1000;
  double seconds = 20;
  int connections = 8;
  int k = 10;
  std::string histories, json;
  bool drop_first = true;
};

Options parse(int argc, char** argv) {
  Options o;
  for (const auto& [k, v] : serve_workload::key_values(argc, argv)) {
    if (k == "host") o.host = v;
    else if (k == "port") o.port = std::stoi(v);
    else if (k == "rate") o.rate = std::stod(v);
    else if (k == "seconds") o.seconds = std::stod(v);
    else if (k == "connections") o.connections = std::stoi(v);
    else if (k == "k") o.k = std::stoi(v);
    else if (k == "histories") o.histories = v;
    else if (k == "json") o.json = v;
    else if (k == "drop_first") o.drop_first = v == "true";
    else throw std::invalid_argument("unknown option --" + k);
  }
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  try {
    o = parse(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_serve: %s\n", e.what());
    return 2;
  }
  const std::vector<std::string> reqs = serve_workload::request_bodies(o.histories, o.drop_first, o.k);
  const long total = long(o.rate * o.seconds);
  const double interval = 1.0 / o.rate;  // seconds between scheduled sends (all connections)
  std::vector<std::vector<double>> lat(size_t(o.connections));
  std::atomic<long> errors{0};
  // the server's own view (GET /metrics, s3rec serve): scraped before and after the run
  const auto scrape = [&] {
    httplib::Client cli(o.host, o.port);
    auto res = cli.Get("/metrics");
    return res && res->status == 200 ? res->body : std::string();
  };
  const std::string metrics_before = scrape();
  const auto start = Clock::now() + std::chrono::milliseconds(200);
  std::vector<std::thread> workers;
  for (int c = 0; c < o.connections; ++c)
    workers.emplace_back([&, c] {
      httplib::Client cli(o.host, o.port);
      cli.set_keep_alive(true);
      cli.set_tcp_nodelay(true);
      cli.set_read_timeout(10, 0);
      // request n (global order) is scheduled at start + n * interval and sent by connection n % C
      for (long n = c; n < total; n += o.connections) {
        const auto due = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(double(n) * interval));
        std::this_thread::sleep_until(due);
        auto res = cli.Post("/v1/recommend", reqs[size_t(n) % reqs.size()], "application/json");
        const double ms = std::chrono::duration<double, std::milli>(Clock::now() - due).count();
        if (!res || res->status != 200) ++errors;
        else lat[size_t(c)].push_back(ms);
      }
    });
  for (auto& w : workers) w.join();
  const double wall = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<double> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  const double ok = double(all.size());
  const double mean = all.empty() ? 0 : std::accumulate(all.begin(), all.end(), 0.0) / ok;
  const double p50 = percentile(all, 50), p90 = percentile(all, 90), p99 = percentile(all, 99),
               p999 = percentile(all, 99.9);
  const double mx = all.empty() ? 0 : *std::max_element(all.begin(), all.end());
  std::printf("requests %ld (%ld errors) in %.1f s: %.0f req/s offered, %.0f req/s answered\n", total, errors.load(),
              wall, o.rate, ok / wall);
  std::printf("latency ms: mean %.3f  p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n", mean, p50, p90, p99, p999,
              mx);
  nlohmann::json server;  // upper bounds of the server's buckets, in ms
  const std::string metrics_after = scrape();
  if (!metrics_before.empty() && !metrics_after.empty())
    for (const auto& [part, name] : {std::pair{"request", "s3rec_request_seconds"},
                                     {"queue", "s3rec_recommend_queue_seconds"},
                                     {"compute", "s3rec_recommend_compute_seconds"}}) {
      const auto b = serve_workload::histogram_buckets(metrics_before, name),
                 a = serve_workload::histogram_buckets(metrics_after, name);
      for (const auto& [key, p] : {std::pair{"p50", 50.0}, {"p90", 90.0}, {"p99", 99.0}, {"p999", 99.9}})
        server[part][key] = 1e3 * serve_workload::histogram_percentile(b, a, p);
      std::printf("server %-7s ms (bucket upper bounds): p50 <= %g  p90 <= %g  p99 <= %g  p99.9 <= %g\n", part,
                  server[part]["p50"].get<double>(), server[part]["p90"].get<double>(), server[part]["p99"].get<double>(),
                  server[part]["p999"].get<double>());
    }
  if (!o.json.empty()) {
    std::ofstream out(o.json);
    nlohmann::json j{{"offered_rps", o.rate},  {"answered_rps", ok / wall}, {"requests", total},
                     {"errors", errors.load()}, {"connections", o.connections}, {"k", o.k},
                     {"latency_ms", {{"mean", mean}, {"p50", p50}, {"p90", p90}, {"p99", p99}, {"p999", p999}, {"max", mx}}}};
    if (!server.is_null()) j["server_ms"] = server;
    out << j.dump(2) << "\n";
  }
  return errors.load() > 0 ? 1 : 0;
}
