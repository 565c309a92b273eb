#include <algorithm>
#include <string>
#include <vector>

#include "s3rec/dataset.h"
#include "s3rec/rng.h"
#include "util/atomic_write.h"

namespace s3rec {

std::vector<std::vector<int>> generate_sample_negatives(const Dataset& d, int n, uint64_t seed) {
  // Candidates: the items that occur in the data.
  std::vector<char> occurs(size_t(d.n_items) + 1, 0);
  for (const auto& s : d.user_seqs)
    for (int it : s) occurs[it] = 1;
  std::vector<int> pool;
  for (int i = 1; i <= d.n_items; ++i)
    if (occurs[i]) pool.push_back(i);
  Rng rng(seed);
  std::vector<std::vector<int>> out(d.user_seqs.size());
  std::vector<char> taken(size_t(d.n_items) + 1, 0);
  for (size_t u = 0; u < d.user_seqs.size(); ++u) {
    const auto& s = d.user_seqs[u];
    long own = 0;  // distinct items of the user (all occur in the data)
    for (int it : s)
      if (!taken[it]) {
        taken[it] = 1;
        ++own;
      }
    const long available = long(pool.size()) - own;
    if (available < n)
      throw DataError(d.name, 0, "user " + d.user_tokens[u] + ": fewer than " + std::to_string(n) +
                                     " items left to draw negatives from");
    while (int(out[u].size()) < n) {  // uniform draws without replacement, rejecting the user's items
      const int x = pool[rng.uniform_int(0, long(pool.size()) - 1)];
      if (taken[x]) continue;
      taken[x] = 1;
      out[u].push_back(x);
    }
    for (int it : s) taken[it] = 0;
    for (int it : out[u]) taken[it] = 0;
  }
  return out;
}

void generate_samples_or_warn(Dataset& d, const LoadOptions& opt, LoadReport* report) {
  try {
    d.sample_negatives = generate_sample_negatives(d, opt.num_negatives, opt.sample_seed);
    d.sample_source = "generated (seed " + std::to_string(opt.sample_seed) + ")";
  } catch (const DataError& e) {
    d.sample_negatives.clear();
    if (report) report->warnings.push_back(std::string(e.what()) + "; sampled evaluation is unavailable");
  }
}

void write_sample_file(const std::string& path, const Dataset& d) {
  std::string text;
  for (size_t u = 0; u < d.sample_negatives.size(); ++u) {
    text += d.user_tokens[u];
    for (int it : d.sample_negatives[u]) {
      text += ' ';
      text += d.item_token(it);
    }
    text += '\n';
  }
  write_file_atomic(path, text);
}

}  // namespace s3rec
