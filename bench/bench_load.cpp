// Loading throughput of the reference format: parses DIR/NAME.txt and
// DIR/NAME_item2attributes.json (and DIR/NAME_sample.txt when present) as `s3rec pretrain`
// does, and reports the seconds, MB/s of input, the interactions read, their binary size
// (4 bytes per item id) and the process's peak resident memory, as one JSON line.
// Negatives are not generated when the sample file is absent (that is sampling, not parsing).
//
// usage: bench_load DIR NAME [--json=FILE]      (bench/make_big_reference.sh writes a large file)
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "s3rec/dataset.h"
#include "s3rec/progress.h"

using namespace s3rec;
namespace fs = std::filesystem;

int main(int argc, char** argv) {
  std::string dir, name, json;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a.rfind("--json=", 0) == 0) json = a.substr(7);
    else if (dir.empty()) dir = a;
    else if (name.empty()) name = a;
    else {
      std::fprintf(stderr, "usage: bench_load DIR NAME [--json=FILE]\n");
      return 2;
    }
  }
  if (name.empty()) {
    std::fprintf(stderr, "usage: bench_load DIR NAME [--json=FILE]\n");
    return 2;
  }
  double bytes = 0;
  for (const char* suffix : {".txt", "_item2attributes.json", "_sample.txt"}) {
    const fs::path p = fs::path(dir) / (name + suffix);
    if (fs::exists(p)) bytes += double(fs::file_size(p));
  }
  const double rss_before = peak_rss_mib();
  LoadOptions lo;
  lo.generate_sample_if_missing = false;
  const auto t0 = std::chrono::steady_clock::now();
  try {
    const Dataset d = load_reference_format(dir, name, lo);
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    const double actions = double(d.num_actions());
    const nlohmann::json r = {{"dataset", name},
                              {"users", d.num_users()},
                              {"items", d.n_items},
                              {"attributes", d.n_attributes},
                              {"interactions", d.num_actions()},
                              {"input_mb", bytes / 1e6},
                              {"seconds", secs},
                              {"mb_per_s", bytes / 1e6 / secs},
                              {"interactions_per_s", actions / secs},
                              {"binary_mib", actions * 4 / (1 << 20)},
                              {"peak_rss_mib", peak_rss_mib()},
                              {"peak_rss_before_mib", rss_before},
                              {"rss_over_binary", peak_rss_mib() / (actions * 4 / (1 << 20))}};
    std::printf("%s\n", r.dump().c_str());
    if (!json.empty()) std::ofstream(json, std::ios::app) << r.dump() << "\n";
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_load: %s\n", e.what());
    return 1;
  }
  return 0;
}
