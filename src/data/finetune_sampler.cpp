#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "s3rec/sampling.h"

namespace s3rec {

bool contains_sorted(const std::vector<int>& sorted, int item) {
  return std::binary_search(sorted.begin(), sorted.end(), item);
}

void check_train_fraction(double train_fraction) {
  if (!(train_fraction > 0.0 && train_fraction <= 1.0))
    throw std::invalid_argument("train_fraction must be in (0, 1]");
}

int reduced_train_length(int n, double train_fraction) {
  check_train_fraction(train_fraction);
  if (train_fraction >= 1.0) return n;
  return std::max(1, int(std::ceil(train_fraction * n - 1e-9)));
}

FinetuneSampler::FinetuneSampler(const Dataset& d, int max_len, double train_fraction) : d_(d), max_len_(max_len) {
  check_train_fraction(train_fraction);
  train_len_.assign(d.num_users(), 0);
  sorted_items_.resize(d.num_users());
  for (int u = 0; u < d.num_users(); ++u) {
    const std::vector<int>& s = d.user_seqs[u];
    if (s.size() < 3) continue;
    train_len_[u] = reduced_train_length(int(s.size()) - 2, train_fraction);
    if (train_len_[u] < 2) continue;  // input s[0:len-1] would be empty
    sorted_items_[u] = s;
    std::sort(sorted_items_[u].begin(), sorted_items_[u].end());
    canonical_.push_back(u);
  }
  users_ = canonical_;
}

void FinetuneSampler::shuffle(Rng& rng) {
  users_ = canonical_;
  for (size_t i = users_.size(); i > 1; --i) std::swap(users_[i - 1], users_[rng.uniform_int(0, i - 1)]);
}

void FinetuneSampler::make_batch(size_t begin, size_t end, Rng& rng, FinetuneBatch& out) const {
  out.input.clear();
  out.pos_items.clear();
  out.neg_items.clear();
  const int N = d_.n_items;
  for (size_t i = begin; i < end; ++i) {
    const int u = users_[i];
    const std::vector<int>& s = d_.user_seqs[u];
    const int n_in = train_len_[u] - 1;  // input s[0:len-1], targets s[1:len]
    const int start = std::max(0, n_in - max_len_);
    out.input.add({s.data() + start, size_t(n_in - start)});
    for (int t = start; t < n_in; ++t) {
      out.pos_items.push_back(s[t + 1]);
      int x;
      do x = int(rng.uniform_int(1, N));
      while (contains_sorted(sorted_items_[u], x));
      out.neg_items.push_back(x);
    }
  }
}

}  // namespace s3rec
