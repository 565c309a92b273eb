// Recall and latency of the approximate item indexes against exact scoring.
//
//   build/bench_index --model=FILE --histories=DATA.txt [--queries=10000] [--k=10]
//                     [--index=hnsw,ivf] [--ef_search=64,128,256] [--nprobe=16,32,64] [--json=FILE]
//                     [--latency_queries=1000] (exact scoring's latency is timed on the first ones)
//
// Histories: one user per line, "user item item ..." (the reference format); each query is
// the user's last 50 items, history excluded from the answers. For each index kind the
// index is built once (or loaded from MODEL.KIND.index when present), then every search
// setting answers all queries on one thread. Prints build time, memory, recall@k against
// the exact answers, and the per-query latency (mean, p50, p99) of exact and of each setting.
#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include "s3rec/item_index.h"
#include <string>
#include <vector>

#include "s3rec/recommender.h"

using namespace s3rec;
using Clock = std::chrono::steady_clock;

namespace {

std::vector<int> int_list(const std::string& s) {
  std::vector<int> out;
  std::stringstream in(s);
  for (std::string t; std::getline(in, t, ',');) out.push_back(std::stoi(t));
  return out;
}

double pct(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[std::min(v.size() - 1, size_t(p * double(v.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  std::string model, histories, kinds = "hnsw,ivf", efs = "64,128,256", nprobes = "16,32,64", json;
  int queries = 10000, k = 10, latency_queries = 1000;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    const size_t eq = a.find('=');
    const std::string key = a.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
    const std::string v = eq == std::string::npos ? "" : a.substr(eq + 1);
    if (key == "model") model = v;
    else if (key == "histories") histories = v;
    else if (key == "queries") queries = std::stoi(v);
    else if (key == "k") k = std::stoi(v);
    else if (key == "latency_queries") latency_queries = std::stoi(v);
    else if (key == "index") kinds = v;
    else if (key == "ef_search") efs = v;
    else if (key == "nprobe") nprobes = v;
    else if (key == "json") json = v;
    else {
      std::fprintf(stderr, "bench_index: unknown option %s\n", a.c_str());
      return 2;
    }
  }
  if (model.empty() || histories.empty()) {
    std::fprintf(stderr, "usage: bench_index --model=FILE --histories=DATA.txt [--queries=10000] ...\n");
    return 2;
  }
  omp_set_num_threads(1);
  std::vector<std::vector<std::string>> hs;
  {
    std::ifstream in(histories);
    if (!in) {
      std::fprintf(stderr, "%s: cannot open\n", histories.c_str());
      return 1;
    }
    for (std::string line; std::getline(in, line) && int(hs.size()) < queries;) {
      std::istringstream ls(line);
      std::string t;
      ls >> t;  // user
      std::vector<std::string> h;
      while (ls >> t) h.push_back(t);
      if (h.size() < 2) continue;
      h.pop_back();  // the last item is what a model would be asked to predict
      if (h.size() > 50) h.erase(h.begin(), h.end() - 50);
      hs.push_back(std::move(h));
    }
  }
  std::fprintf(stderr, "%zu queries\n", hs.size());
  const auto t0 = Clock::now();
  const Recommender exact(model);
  std::fprintf(stderr, "model loaded in %.1f s (%d items)\n",
               std::chrono::duration<double>(Clock::now() - t0).count(), exact.config().n_items);

  const auto run = [&](const Recommender& rec, std::vector<std::vector<std::string>>& answers) {
    std::vector<double> ms;
    answers.resize(hs.size());
    for (size_t q = 0; q < hs.size(); ++q) {
      const auto a = Clock::now();
      answers[q] = rec.recommend(hs[q], k).items;
      ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - a).count());
    }
    return ms;
  };
  // the exact answers, in batches (one pass over the item table per 256 queries), then the
  // exact per-query latency on the first `latency_queries` of them
  std::vector<std::vector<std::string>> truth;
  for (size_t lo = 0; lo < hs.size(); lo += 256) {
    const std::vector<std::vector<std::string>> chunk(hs.begin() + long(lo), hs.begin() + long(std::min(hs.size(), lo + 256)));
    for (auto& r : exact.recommend_batch(chunk, k)) truth.push_back(std::move(r.items));
  }
  const auto all = hs;
  hs.resize(std::min(hs.size(), size_t(latency_queries)));
  std::vector<std::vector<std::string>> again;
  const auto exact_ms = run(exact, again);
  for (size_t q = 0; q < again.size(); ++q)
    if (again[q] != truth[q]) std::fprintf(stderr, "warning: batched and single exact answers differ (query %zu)\n", q);
  hs = all;
  nlohmann::ordered_json out = {{"model", model}, {"n_items", exact.config().n_items}, {"queries", hs.size()}, {"k", k},
                                {"exact_latency_queries", exact_ms.size()}};
  std::printf("| index | setting | model + index load (s) | memory (MiB) | recall@%d | mean (ms) | p50 (ms) | p99 (ms) |\n", k);
  std::printf("|---|---|---|---|---|---|---|---|\n");
  double mean = 0;
  for (double x : exact_ms) mean += x / double(exact_ms.size());
  std::printf("| exact | | | | 1.0000 | %.3f | %.3f | %.3f |\n", mean, pct(exact_ms, 0.5), pct(exact_ms, 0.99));
  out["rows"].push_back({{"index", "exact"}, {"mean_ms", mean}, {"p50_ms", pct(exact_ms, 0.5)}, {"p99_ms", pct(exact_ms, 0.99)}});
  std::fflush(stdout);

  std::stringstream ks(kinds);
  for (std::string kind; std::getline(ks, kind, ',');) {
    const std::string path = default_index_path(model, kind);
    if (!std::ifstream(path).good()) {  // built once (every core), then loaded for each setting
      IndexOptions o;
      o.kind = kind;
      omp_set_num_threads(omp_get_num_procs());
      const auto b0 = Clock::now();
      const int d = exact.config().hidden_size;
      const auto index = ItemIndex::build(o, exact.item_embeddings() + d, exact.config().n_items, d);
      const double s = std::chrono::duration<double>(Clock::now() - b0).count();
      index->save(path, exact.checkpoint_identity());
      std::printf("| %s | built in %.1f s on %d threads, %.0f MiB, written to %s |||||||\n", kind.c_str(), s,
                  omp_get_max_threads(), double(index->memory_bytes()) / (1 << 20), path.c_str());
      out["builds"].push_back({{"index", kind}, {"seconds", s}, {"threads", omp_get_max_threads()},
                               {"memory_bytes", index->memory_bytes()}});
      omp_set_num_threads(1);
    }
    for (int setting : int_list(kind == "hnsw" ? efs : nprobes)) {
      IndexOptions o;
      o.kind = kind;
      (kind == "hnsw" ? o.ef_search : o.nprobe) = setting;
      const auto b0 = Clock::now();
      const Recommender rec(model, nullptr, o);
      const double build_s = std::chrono::duration<double>(Clock::now() - b0).count();
      std::vector<std::vector<std::string>> got;
      const auto ms = run(rec, got);
      long hits = 0, total = 0;
      for (size_t q = 0; q < hs.size(); ++q) {
        for (const auto& t : got[q]) hits += std::count(truth[q].begin(), truth[q].end(), t) > 0;
        total += long(truth[q].size());
      }
      mean = 0;
      for (double x : ms) mean += x / double(ms.size());
      const double recall = double(hits) / double(std::max(1L, total));
      const std::string name = kind == "hnsw" ? "ef_search=" + std::to_string(setting)
                                              : "nlist=" + std::to_string(rec.index()->options().nlist) +
                                                    " nprobe=" + std::to_string(setting);
      std::printf("| %s | %s | %.1f %s | %.0f | %.4f | %.3f | %.3f | %.3f |\n", kind.c_str(), name.c_str(), build_s,
                  rec.index_built() ? "built" : "loaded", double(rec.index()->memory_bytes()) / (1 << 20), recall,
                  mean, pct(ms, 0.5), pct(ms, 0.99));
      std::fflush(stdout);
      out["rows"].push_back({{"index", kind}, {"setting", name}, {"seconds", build_s}, {"built", rec.index_built()},
                             {"memory_bytes", rec.index()->memory_bytes()}, {"recall", recall}, {"mean_ms", mean},
                             {"p50_ms", pct(ms, 0.5)}, {"p99_ms", pct(ms, 0.99)}});
    }
  }
  if (!json.empty()) std::ofstream(json) << out.dump(1) << "\n";
  return 0;
}
