#pragma once
// Training samples drawn from a dataset (SPEC sections 3-4).
#include <cstddef>
#include <vector>

#include "s3rec/batch.h"
#include "s3rec/dataset.h"
#include "s3rec/rng.h"

namespace s3rec {

// Throws std::invalid_argument unless train_fraction is in (0, 1].
void check_train_fraction(double train_fraction);
// Length kept of a training part of n items under train_fraction (0, 1]: n at 1, else
// ceil(fraction * n), at least 1. Checks the fraction.
int reduced_train_length(int n, double train_fraction);

// Pre-training: every prefix (lengths 1..len) of each user's training part
// s[0:n-2], truncated first to its last max_len items. train_fraction < 1 first keeps
// the first ceil(fraction * len) items of each training part, and negative segments
// then come from those reduced parts only (at 1, from whole sequences, as the reference).
class PretrainSampler {
 public:
  PretrainSampler(const Dataset& d, int max_len, float mask_ratio, double train_fraction = 1.0);
  size_t num_samples() const { return samples_.size(); }
  // The epoch's order: a Fisher-Yates shuffle of the canonical order (user, then
  // length), so an epoch's order depends only on its RNG (resuming is exact).
  void shuffle(Rng& rng);
  // Samples [begin, end) of the current order. Draw order per sample: the mask
  // and negative of each position left to right, then segment length k, start j
  // and the negative segment's start.
  void make_batch(size_t begin, size_t end, Rng& rng, PretrainBatch& out) const;

 private:
  struct Sample { int user, start, len; };  // items s[start, start+len) of user's sequence
  const Dataset& d_;
  float mask_ratio_;
  std::vector<Sample> canonical_, samples_;
  std::vector<int> long_sequence_;  // all users' full sequences back to back
};

// Fine-tuning: per user, input s[0:n-3] (last max_len), targets s[1:n-2], one
// negative per position from the items the user never interacted with.
class FinetuneSampler {
 public:
  // train_fraction < 1 keeps the first ceil(fraction * len) items of each training part s[0:n-2].
  FinetuneSampler(const Dataset& d, int max_len, double train_fraction = 1.0);
  size_t num_users() const { return users_.size(); }
  void shuffle(Rng& rng);  // Fisher-Yates of the canonical (ascending user) order
  void make_batch(size_t begin, size_t end, Rng& rng, FinetuneBatch& out) const;

 private:
  const Dataset& d_;
  int max_len_;
  std::vector<int> canonical_, users_;  // users with a non-empty input
  std::vector<int> train_len_; // per user: length of the (possibly reduced) training part
  std::vector<std::vector<int>> sorted_items_;  // per user, for rejection sampling
};

// True when `item` is in the sorted vector.
bool contains_sorted(const std::vector<int>& sorted, int item);

}  // namespace s3rec
