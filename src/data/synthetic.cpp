#include "s3rec/synthetic.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <unordered_set>

#include "s3rec/rng.h"

namespace s3rec {

Dataset make_synthetic(const SyntheticOptions& o) {
  if (o.users < 1 || o.items < o.clusters * 2 || o.clusters < 1 || o.min_length < 3 || o.max_length < o.min_length ||
      o.max_length >= o.items - 100)
    throw std::invalid_argument("synthetic: inconsistent sizes (need items >= 2*clusters, 3 <= min_length <= "
                                "max_length < items - 100)");
  Rng rng(o.seed);
  Dataset d;
  d.name = "synthetic";
  d.n_items = o.items;
  d.n_attributes = o.clusters * o.attrs_per_cluster + o.noise_attributes;
  // Items are dealt to clusters round robin; within a cluster, item order defines the successor.
  std::vector<std::vector<int>> members(o.clusters);
  std::vector<int> cluster_of(o.items + 1), index_in(o.items + 1);
  for (int i = 1; i <= o.items; ++i) {
    const int c = (i - 1) % o.clusters;
    cluster_of[i] = c;
    index_in[i] = int(members[c].size());
    members[c].push_back(i);
  }
  std::vector<int> pair_items, pair_attrs;  // (item, attribute)
  for (int i = 1; i <= o.items; ++i) {
    const int c = cluster_of[i];
    // two of the cluster's marker attributes, one noise attribute
    const int a1 = int(rng.uniform_int(0, o.attrs_per_cluster - 1));
    int a2 = int(rng.uniform_int(0, o.attrs_per_cluster - 2));
    if (a2 >= a1) ++a2;
    for (int a : {1 + c * o.attrs_per_cluster + a1, 1 + c * o.attrs_per_cluster + a2}) {
      pair_items.push_back(i);
      pair_attrs.push_back(a);
    }
    if (o.noise_attributes > 0) {
      pair_items.push_back(i);
      pair_attrs.push_back(1 + o.clusters * o.attrs_per_cluster + int(rng.uniform_int(0, o.noise_attributes - 1)));
    }
  }
  d.item_attributes = AttributeTable::from_pairs(pair_items, pair_attrs, o.items + 2);
  d.attribute_tokens.resize(d.n_attributes + 1);
  d.attribute_tokens[0] = "[PAD]";
  for (int a = 1; a <= d.n_attributes; ++a) d.attribute_tokens[a] = std::to_string(a);

  // pick(m): an item of cluster m, uniform or Zipf-skewed by its index in the cluster
  std::vector<double> cdf;
  const size_t csize = members[0].size();
  if (o.popularity_skew > 0) {
    double acc = 0;
    for (size_t r = 0; r < csize; ++r) cdf.push_back(acc += 1.0 / std::pow(double(r + 1), o.popularity_skew));
    for (double& c : cdf) c /= acc;
  }
  auto pick = [&](const std::vector<int>& m) {
    if (cdf.empty()) return m[rng.uniform_int(0, long(m.size()) - 1)];
    const size_t r = size_t(std::lower_bound(cdf.begin(), cdf.end(), rng.uniform()) - cdf.begin());
    return m[std::min(r, m.size() - 1)];
  };
  for (int u = 1; u <= o.users; ++u) {
    // lengths skewed towards short sequences, as in real logs
    const double r = rng.uniform();
    const int len = o.min_length + int(r * r * (o.max_length - o.min_length + 1));
    int taste = int(rng.uniform_int(0, o.clusters - 1));
    std::vector<int> seq;
    std::unordered_set<int> seen;
    int cur = pick(members[taste]);
    while (int(seq.size()) < len) {
      if (!seen.count(cur)) {
        seq.push_back(cur);
        seen.insert(cur);
      }
      if (rng.uniform() < o.p_switch) taste = int(rng.uniform_int(0, o.clusters - 1));
      const double x = rng.uniform();
      const std::vector<int>& m = members[taste];
      if (x < o.p_follow && cluster_of[cur] == taste) {
        cur = m[(index_in[cur] + 1 + rng.uniform_int(0, 1)) % m.size()];
      } else if (x < o.p_follow + o.p_taste) {
        cur = pick(m);
      } else {
        cur = int(rng.uniform_int(1, o.items));
      }
    }
    d.user_seqs.push_back(std::move(seq));
    d.user_tokens.push_back(std::to_string(u));
  }
  d.sample_negatives = generate_sample_negatives(d, 99, o.seed + 1);
  d.sample_source = "generated (seed " + std::to_string(o.seed + 1) + ")";
  return d;
}

}  // namespace s3rec
