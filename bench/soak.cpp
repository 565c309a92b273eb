// Soak test of `s3rec serve`: starts the server on MODEL (--port=0), sends it an open-loop
// schedule of requests for a long time, a fraction of them hostile, and checks that
//  - no well-formed request fails (per-interval p50/p99 reported, latency counted from
//    each request's scheduled send time, so a server that falls behind pays for it);
//  - every hostile request gets what it should (4xx, or the connection closed; a slow
//    client is cut off; a valid but trickled request is answered);
//  - resident memory (/proc/PID/status) does not grow after warm-up;
//  - SIGTERM with requests in flight answers them all and exits 0 (serve_probe.h).
// Exit status 0 when every check holds (and p99 stays under --p99_ms in every interval
// after warm-up, unless --p99_ms=0).
//
// usage: soak --model=FILE [--binary=build/s3rec] [--serve_args="--threads=16 ..."]
//             [--histories=FILE] [--drop_first=true] [--k=10] [--rate=1000] [--seconds=600]
//             [--hostile=0.1] [--connections=16] [--hostile_threads=256] [--interval=60]
//             [--warmup=60] [--rss_tolerance_mib=16] [--p99_ms=5] [--sigterm=true] [--json=FILE]
#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <mutex>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "serve_probe.h"
#include "serve_workload.h"

namespace {

using namespace serve_probe;
using nlohmann::json;

struct Options {
  std::string model, binary = "build/s3rec", serve_args, histories, json;
  bool drop_first = true, sigterm = true;
  int k = 10, connections = 16, hostile_threads = 256;
  double rate = 1000, seconds = 600, hostile = 0.1, interval = 60, warmup = 60, rss_tolerance_mib = 16, p99_ms = 5;
};

Options parse(int argc, char** argv) {
  Options o;
  for (const auto& [k, v] : serve_workload::key_values(argc, argv)) {
    if (k == "model") o.model = v;
    else if (k == "binary") o.binary = v;
    else if (k == "serve_args") o.serve_args = v;
    else if (k == "histories") o.histories = v;
    else if (k == "json") o.json = v;
    else if (k == "drop_first") o.drop_first = v == "true";
    else if (k == "sigterm") o.sigterm = v == "true";
    else if (k == "k") o.k = std::stoi(v);
    else if (k == "connections") o.connections = std::stoi(v);
    else if (k == "hostile_threads") o.hostile_threads = std::stoi(v);
    else if (k == "rate") o.rate = std::stod(v);
    else if (k == "seconds") o.seconds = std::stod(v);
    else if (k == "hostile") o.hostile = std::stod(v);
    else if (k == "interval") o.interval = std::stod(v);
    else if (k == "warmup") o.warmup = std::stod(v);
    else if (k == "rss_tolerance_mib") o.rss_tolerance_mib = std::stod(v);
    else if (k == "p99_ms") o.p99_ms = std::stod(v);
    else throw std::invalid_argument("unknown option --" + k);
  }
  if (o.model.empty()) throw std::invalid_argument("--model=FILE is required");
  if (o.rate <= 0 || o.seconds <= 0 || o.interval <= 0 || o.connections < 1 || o.hostile < 0 || o.hostile >= 1)
    throw std::invalid_argument("--rate, --seconds, --interval, --connections must be positive, --hostile in [0, 1)");
  return o;
}

// ---- hostile clients ------------------------------------------------------------------

enum Kind { kMalformedJson, kWrongTypes, kUnknownItem, kOversizeBody, kHugeDeclared, kGarbage, kSlowTrickle,
            kSlowloris, kGoneMidRequest, kKinds };
const char* const kKindNames[kKinds] = {"malformed JSON", "wrong types", "unknown item", "oversize body",
                                        "huge Content-Length", "garbage bytes", "slow trickle (valid)",
                                        "slowloris (endless headers)", "gone mid-request"};

struct Fixtures {
  std::string good_body, oversize_request, huge_declared_request;
};

// Runs one hostile client; true when the server did what it should.
bool run_hostile(Kind kind, long n, int port, const Fixtures& f) {
  const int fd = connect_to(port);
  if (fd < 0) return false;
  auto post = [](const std::string& body) { return request_text("POST", "/v1/recommend", body); };
  auto refused = [](const Reply& r) { return !r.timed_out && (r.status == 0 || (r.status >= 400 && r.status < 500)); };
  bool ok = false;
  switch (kind) {
    case kMalformedJson:
      ok = send_all(fd, post(R"({"items": [1, 2, {"k": )")) && read_reply(fd, 30).status == 400;
      break;
    case kWrongTypes:
      ok = send_all(fd, post(R"({"items": {"1": 2}, "k": "ten", "exclude_history": 1})")) && read_reply(fd, 30).status == 400;
      break;
    case kUnknownItem:
      ok = send_all(fd, post(R"({"items": ["no-such-item", -1], "k": 10})")) && read_reply(fd, 30).status == 400;
      break;
    case kOversizeBody:
      send_all(fd, f.oversize_request);  // the server may stop reading once it has seen enough
      ok = refused(read_reply(fd, 30));
      break;
    case kHugeDeclared:
      send_all(fd, f.huge_declared_request);
      ok = refused(read_reply(fd, 30));
      break;
    case kGarbage: {
      std::string g(512, '\0');
      uint64_t x = uint64_t(n) * 0x9E3779B97F4A7C15ull + 1;
      for (char& c : g) c = char((x = x * 6364136223846793005ull + 1442695040888963407ull) >> 56);
      send_all(fd, g + "\r\n\r\n");
      ok = refused(read_reply(fd, 30));
      break;
    }
    case kSlowTrickle: {  // a valid request in 20 pieces over 2 s: must be answered
      const std::string req = post(f.good_body);
      ok = true;
      for (size_t i = 0, step = (req.size() + 19) / 20; ok && i < req.size(); i += step) {
        ok = send_all(fd, req.substr(i, step));
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      ok = ok && read_reply(fd, 30).status == 200;
      break;
    }
    case kSlowloris: {  // header bytes every 200 ms, never the end: must be cut off
      ok = false;
      if (!send_all(fd, "POST /v1/recommend HTTP/1.1\r\nHost: x\r\n")) break;
      for (int i = 0; i < 150; ++i) {  // gives up after 30 s
        if (!send_all(fd, i % 2 ? "\n" : "X-Slow: 1\r")) {
          ok = true;  // the server closed
          break;
        }
        const Reply r = read_reply(fd, 0.2);
        if (!r.timed_out) {
          ok = refused(r);
          break;
        }
      }
      break;
    }
    case kGoneMidRequest: {  // vanish half-way through the headers or the body
      const std::string req = post(f.good_body);
      send_all(fd, req.substr(0, n % 2 ? 40 : req.size() - 8));
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (n % 4 < 2) {
        reset_close(fd);
      } else {
        ::close(fd);
      }
      return true;  // nothing to expect; the well-formed traffic shows whether the server minded
    }
    case kKinds: break;
  }
  ::close(fd);
  return ok;
}

// ---- recording --------------------------------------------------------------------------

struct Interval {
  std::vector<double> latency_ms;  // answered well-formed requests
  long failed = 0;                 // well-formed requests without a 200
  long hostile = 0, hostile_wrong = 0;
};

struct RssSample {
  double t;
  long rss_kib, threads;
};

class Recorder {
 public:
  explicit Recorder(size_t intervals) : intervals_(intervals) {}
  void well_formed(size_t i, double ms, bool ok) {
    std::lock_guard<std::mutex> lock(mu_);
    if (ok) intervals_[i].latency_ms.push_back(ms);
    else ++intervals_[i].failed;
  }
  void hostile(size_t i, Kind k, bool ok) {
    std::lock_guard<std::mutex> lock(mu_);
    ++intervals_[i].hostile;
    ++sent_[k];
    if (!ok) {
      ++intervals_[i].hostile_wrong;
      ++wrong_[k];
    }
  }
  void rss(const RssSample& s) {
    std::lock_guard<std::mutex> lock(mu_);
    rss_.push_back(s);
  }
  // copies, for reports while the run goes on
  std::vector<Interval> intervals() {
    std::lock_guard<std::mutex> lock(mu_);
    return intervals_;
  }
  std::vector<RssSample> rss_samples() {
    std::lock_guard<std::mutex> lock(mu_);
    return rss_;
  }
  std::array<long, kKinds> sent() {
    std::lock_guard<std::mutex> lock(mu_);
    return sent_;
  }
  std::array<long, kKinds> wrong() {
    std::lock_guard<std::mutex> lock(mu_);
    return wrong_;
  }

 private:
  std::mutex mu_;
  std::vector<Interval> intervals_;
  std::vector<RssSample> rss_;
  std::array<long, kKinds> sent_{}, wrong_{};
};

// Hostile jobs wait here for one of the hostile client threads.
class JobQueue {
 public:
  using Job = std::pair<long, Kind>;  // the slot and what to send
  void push(Job j) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      jobs_.push_back(j);
    }
    cv_.notify_one();
  }
  void close() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      closed_ = true;
    }
    cv_.notify_all();
  }
  bool pop(Job& j) {  // false once closed and empty
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return !jobs_.empty() || closed_; });
    if (jobs_.empty()) return false;
    j = jobs_.front();
    jobs_.pop_front();
    return true;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> jobs_;
  bool closed_ = false;
};

// Deterministic choice of the hostile slots: about `fraction` of them, spread evenly.
bool is_hostile(long n, double fraction) {
  uint64_t x = uint64_t(n) + 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  x ^= x >> 31;
  return double(x >> 11) * 0x1.0p-53 < fraction;
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / double(v.size());
}

std::vector<std::string> split_ws(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string t; in >> t;) out.push_back(t);
  return out;
}

json interval_json(Interval iv, double t_end) {
  auto& l = iv.latency_ms;
  const double p50 = serve_workload::percentile(l, 50), p99 = serve_workload::percentile(l, 99),
               p999 = serve_workload::percentile(l, 99.9);
  const double mx = l.empty() ? 0 : *std::max_element(l.begin(), l.end());
  return {{"t_end", t_end}, {"answered", l.size()}, {"failed", iv.failed}, {"p50_ms", p50}, {"p99_ms", p99},
          {"p999_ms", p999}, {"max_ms", mx}, {"hostile", iv.hostile}, {"hostile_wrong", iv.hostile_wrong}};
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  std::vector<std::string> bodies;  // well-formed requests
  try {
    o = parse(argc, argv);
    bodies = serve_workload::request_bodies(o.histories, o.drop_first, o.k);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "soak: %s\n", e.what());
    return 2;
  }
  std::vector<std::string> cmd = {o.binary, "serve", "--model=" + o.model, "--port=0"};
  for (const auto& a : split_ws(o.serve_args)) cmd.push_back(a);
  ServerProcess srv(cmd, 1800, /*echo=*/true);
  const int port = srv.port();

  // the server's body limit, for requests just over it
  size_t max_body = 1 << 20;
  {
    const int fd = connect_to(port);
    if (fd >= 0 && send_all(fd, "GET /v1/model HTTP/1.1\r\nHost: x\r\n\r\n")) {
      const json m = json::parse(read_reply(fd, 30).body, nullptr, false);
      if (m.contains("limits") && m["limits"].contains("max_body_bytes")) max_body = m["limits"]["max_body_bytes"].get<size_t>();
    }
    if (fd >= 0) ::close(fd);
  }
  Fixtures f;
  f.good_body = bodies[0];
  f.oversize_request = request_text("POST", "/v1/recommend", std::string(max_body + 1, ' '));
  f.huge_declared_request = request_text("POST", "/v1/recommend", std::string(64 << 10, '['), 1LL << 40);

  const long total = long(o.rate * o.seconds);
  const size_t n_intervals = size_t(std::ceil(o.seconds / o.interval));
  Recorder rec(n_intervals);
  const Clock::time_point start = Clock::now() + std::chrono::milliseconds(500);
  auto due_of = [&](long n) {
    return start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(double(n) / o.rate));
  };
  auto interval_of = [&](long n) { return std::min(n_intervals - 1, size_t(double(n) / o.rate / o.interval)); };
  std::fprintf(stderr, "soak: %ld requests at %.0f/s for %.0f s, %.0f%% hostile, %d well-formed connections\n", total,
               o.rate, o.seconds, 100 * o.hostile, o.connections);

  // well-formed traffic: connection c sends the well-formed slots n = c mod C, keep-alive
  std::vector<std::thread> threads;
  for (int c = 0; c < o.connections; ++c)
    threads.emplace_back([&, c] {
      int fd = -1;
      for (long n = c; n < total; n += o.connections) {
        if (is_hostile(n, o.hostile)) continue;
        const Clock::time_point due = due_of(n);
        std::this_thread::sleep_until(due);
        if (fd < 0) fd = connect_to(port);
        const bool sent = fd >= 0 && send_all(fd, request_text("POST", "/v1/recommend", bodies[size_t(n) % bodies.size()]));
        const Reply r = sent ? read_reply(fd, 30) : Reply{};
        rec.well_formed(interval_of(n), std::chrono::duration<double, std::milli>(Clock::now() - due).count(), r.status == 200);
        if (r.status != 200 || r.close) {
          if (fd >= 0) ::close(fd);
          fd = -1;
        }
      }
      if (fd >= 0) ::close(fd);
    });
  // hostile traffic: dispatched on schedule to a pool of clients
  JobQueue jobs;
  std::vector<std::thread> hostile_clients;
  for (int h = 0; h < o.hostile_threads; ++h)
    hostile_clients.emplace_back([&] {
      for (JobQueue::Job j; jobs.pop(j);) rec.hostile(interval_of(j.first), j.second, run_hostile(j.second, j.first, port, f));
    });
  std::thread dispatcher([&] {
    long h = 0;  // kinds in turn
    for (long n = 0; n < total; ++n)
      if (is_hostile(n, o.hostile)) {
        std::this_thread::sleep_until(due_of(n));
        jobs.push({n, Kind(h++ % kKinds)});
      }
    jobs.close();
  });
  // memory once a second; a report line per interval
  std::atomic<bool> done{false};
  std::thread monitor([&] {
    size_t reported = 0;
    for (int s = 0; !done; ++s) {
      std::this_thread::sleep_until(start + std::chrono::seconds(s));
      const double t = seconds_since(start);
      rec.rss({t, proc_status(srv.pid(), "VmRSS"), proc_status(srv.pid(), "Threads")});
      // an interval is reported 2 s after its end, when its requests have come back
      if (reported < n_intervals && t >= double(reported + 1) * o.interval + 2) {
        const json j = interval_json(rec.intervals()[reported], double(reported + 1) * o.interval);
        const auto r = rec.rss_samples().back();
        std::fprintf(stderr,
                     "soak: t=%4.0fs well-formed %ld answered, %ld failed, p50 %.2f ms, p99 %.2f ms, max %.1f ms | "
                     "hostile %ld (%ld wrong) | RSS %.1f MiB, %ld threads\n",
                     j["t_end"].get<double>(), j["answered"].get<long>(), j["failed"].get<long>(), j["p50_ms"].get<double>(),
                     j["p99_ms"].get<double>(), j["max_ms"].get<double>(), j["hostile"].get<long>(),
                     j["hostile_wrong"].get<long>(), double(r.rss_kib) / 1024, r.threads);
        ++reported;
      }
    }
  });
  for (auto& t : threads) t.join();
  dispatcher.join();
  for (auto& t : hostile_clients) t.join();
  done = true;
  monitor.join();
  const double run_seconds = seconds_since(start);

  // ---- verdicts --------------------------------------------------------------------------
  json out = {{"options",
               {{"model", o.model}, {"serve_args", o.serve_args}, {"rate", o.rate}, {"seconds", o.seconds},
                {"hostile", o.hostile}, {"connections", o.connections}, {"interval", o.interval}, {"warmup", o.warmup}}}};
  long failed = 0, answered = 0, p99_over = 0, after_warmup = 0;
  const auto intervals = rec.intervals();
  for (size_t i = 0; i < intervals.size(); ++i) {
    const json j = interval_json(intervals[i], std::min(o.seconds, double(i + 1) * o.interval));
    out["intervals"].push_back(j);
    failed += j["failed"].get<long>();
    answered += j["answered"].get<long>();
    if (double(i) * o.interval < o.warmup) continue;
    ++after_warmup;
    if (o.p99_ms > 0 && j["p99_ms"].get<double>() > o.p99_ms) ++p99_over;
  }
  std::vector<double> early, late;  // RSS over 30 s after warm-up, and over the last 30 s
  for (const auto& s : rec.rss_samples()) {
    if (s.rss_kib < 0) continue;
    out["rss"].push_back({{"t", std::round(s.t)}, {"rss_mib", double(s.rss_kib) / 1024}, {"threads", s.threads}});
    if (s.t >= o.warmup && s.t < o.warmup + 30) early.push_back(double(s.rss_kib) / 1024);
    if (s.t >= run_seconds - 30) late.push_back(double(s.rss_kib) / 1024);
  }
  const double growth = mean(late) - mean(early);
  const bool memory_ok = !early.empty() && !late.empty() && growth <= o.rss_tolerance_mib;
  long hostile_wrong = 0;
  const auto sent = rec.sent(), wrong = rec.wrong();
  for (int k = 0; k < kKinds; ++k) {
    out["hostile"][kKindNames[k]] = {{"sent", sent[size_t(k)]}, {"wrong", wrong[size_t(k)]}};
    hostile_wrong += wrong[size_t(k)];
  }
  std::printf("soak: %ld well-formed requests answered, %ld failed; %ld hostile, %ld handled wrongly\n", answered,
              failed, long(std::accumulate(sent.begin(), sent.end(), 0L)), hostile_wrong);
  for (int k = 0; k < kKinds; ++k)
    std::printf("  hostile %-28s %7ld sent, %ld wrong\n", kKindNames[k], sent[size_t(k)], wrong[size_t(k)]);
  std::printf("soak: RSS %.1f MiB after warm-up, %.1f MiB at the end (growth %+.1f MiB, tolerance %.0f): %s\n",
              mean(early), mean(late), growth, o.rss_tolerance_mib, memory_ok ? "ok" : "GROWS");
  if (o.p99_ms > 0)
    std::printf("soak: p99 above %.1f ms in %ld of %ld intervals after warm-up\n", o.p99_ms, p99_over, after_warmup);
  out["rss_growth_mib"] = growth;
  bool drain_ok = true;
  if (o.sigterm) {
    const DrainReport d = sigterm_drain(srv, [&](long n) { return bodies[size_t(n) % bodies.size()]; }, 8, 8);
    drain_ok = d.partial_answered == d.partial && d.lost_before == 0 && d.idle_closed && d.exit_status >= 0 &&
               WIFEXITED(d.exit_status) && WEXITSTATUS(d.exit_status) == 0;
    std::printf(
        "soak: SIGTERM with requests in flight: %d/%d half-sent requests answered, %ld/%ld requests sent before "
        "the signal answered (%ld more after it), idle connection %s, exit status %d after %.2f s: %s\n",
        d.partial_answered, d.partial, d.sent_before - d.lost_before, d.sent_before, d.answered_after,
        d.idle_closed ? "closed" : "NOT closed", d.exit_status >= 0 && WIFEXITED(d.exit_status) ? WEXITSTATUS(d.exit_status) : -1,
        d.exit_seconds, drain_ok ? "ok" : "FAILED");
    out["sigterm"] = {{"partial", d.partial}, {"partial_answered", d.partial_answered},
                      {"sent_before", d.sent_before}, {"lost_before", d.lost_before},
                      {"answered_after", d.answered_after}, {"idle_closed", d.idle_closed},
                      {"exit_code", d.exit_status >= 0 && WIFEXITED(d.exit_status) ? WEXITSTATUS(d.exit_status) : -1},
                      {"exit_seconds", d.exit_seconds}};
  }
  const bool ok = failed == 0 && hostile_wrong == 0 && memory_ok && drain_ok && p99_over == 0;
  out["ok"] = ok;
  if (!o.json.empty()) {
    std::ofstream js(o.json);
    js << out.dump(2) << "\n";
  }
  std::printf("soak: %s\n", ok ? "PASS" : "FAIL");
  return ok ? 0 : 1;
}
