#pragma once
// What the serving load generators (bench_serve, soak) send and how they summarise it:
// request bodies from users' histories, and percentiles of latencies.
#include <algorithm>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace serve_workload {

// POST /v1/recommend bodies, one per line of `path` (the last 50 items of each history;
// the line's first token is dropped when `drop_first`, as for the reference format's
// "user item item ..." lines). Without a file: 100 short histories of items 1..102.
inline std::vector<std::string> request_bodies(const std::string& path, bool drop_first, int k) {
  std::vector<std::string> out;
  std::ifstream in(path);
  if (!path.empty() && !in) throw std::runtime_error(path + ": cannot open");
  for (std::string line; std::getline(in, line);) {
    std::istringstream ls(line);
    std::vector<long long> items;
    std::string t;
    if (drop_first) ls >> t;
    while (ls >> t) items.push_back(std::stoll(t));
    if (items.empty()) continue;
    if (items.size() > 50) items.erase(items.begin(), items.end() - 50);
    out.push_back(nlohmann::json{{"items", items}, {"k", k}}.dump());
  }
  if (out.empty())
    for (int i = 1; i <= 100; ++i) out.push_back(nlohmann::json{{"items", {i, i + 1, i + 2}}, {"k", k}}.dump());
  return out;
}

// The command line's --key=value options, in order (throws on anything else).
inline std::vector<std::pair<std::string, std::string>> key_values(int argc, char** argv) {
  std::vector<std::pair<std::string, std::string>> out;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const size_t eq = a.find('=');
    if (a.rfind("--", 0) != 0 || eq == std::string::npos) throw std::invalid_argument("expected --key=value: " + a);
    out.emplace_back(a.substr(2, eq - 2), a.substr(eq + 1));
  }
  return out;
}

// The p-th percentile (0..100) by rank; reorders v. 0 for an empty v.
inline double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  const size_t i = std::min(v.size() - 1, size_t(p / 100.0 * double(v.size())));
  std::nth_element(v.begin(), v.begin() + long(i), v.end());
  return v[i];
}

// The cumulative buckets of histogram `name` in a Prometheus text exposition, as
// (upper bound, count) in order (+Inf as infinity). Empty when the metric is absent.
inline std::vector<std::pair<double, double>> histogram_buckets(const std::string& text, const std::string& name) {
  std::vector<std::pair<double, double>> out;
  std::istringstream in(text);
  const std::string head = name + "_bucket{le=\"";
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(head, 0) != 0) continue;
    const size_t q = line.find('"', head.size());
    if (q == std::string::npos) continue;
    const std::string le = line.substr(head.size(), q - head.size());
    const double bound = le == "+Inf" ? std::numeric_limits<double>::infinity() : std::stod(le);
    out.emplace_back(bound, std::stod(line.substr(line.rfind(' ') + 1)));
  }
  return out;
}

// The p-th percentile (0..100) of the observations between two scrapes of one histogram,
// as the upper bound of the bucket it falls in (an upper estimate); 0 without observations.
inline double histogram_percentile(const std::vector<std::pair<double, double>>& before,
                                   const std::vector<std::pair<double, double>>& after, double p) {
  if (after.empty()) return 0;
  const auto at = [&](size_t i) { return after[i].second - (i < before.size() ? before[i].second : 0); };
  const double total = at(after.size() - 1);
  if (total <= 0) return 0;
  for (size_t i = 0; i < after.size(); ++i)
    if (at(i) >= p / 100.0 * total) return after[i].first;
  return after.back().first;
}

}  // namespace serve_workload
