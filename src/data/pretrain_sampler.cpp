#include <algorithm>
#include <stdexcept>

#include "s3rec/sampling.h"

namespace s3rec {

PretrainSampler::PretrainSampler(const Dataset& d, int max_len, float mask_ratio, double train_fraction)
    : d_(d), mask_ratio_(mask_ratio) {
  check_train_fraction(train_fraction);
  const bool reduced = train_fraction < 1.0;
  for (int u = 0; u < d.num_users(); ++u) {
    const std::vector<int>& s = d.user_seqs[u];
    if (s.size() < 3) continue;
    const int n = reduced_train_length(int(s.size()) - 2, train_fraction);  // training part
    const int start = std::max(0, n - max_len);
    for (int len = 1; len <= n - start; ++len) canonical_.push_back({u, start, len});
    long_sequence_.insert(long_sequence_.end(), s.begin(), reduced ? s.begin() + n : s.end());
  }
  samples_ = canonical_;
}

void PretrainSampler::shuffle(Rng& rng) {
  samples_ = canonical_;
  for (size_t i = samples_.size(); i > 1; --i) std::swap(samples_[i - 1], samples_[rng.uniform_int(0, i - 1)]);
}

namespace {

// Uniform item in 1..N not in seq (linear scan: pre-training samples are short).
int negative_not_in(const int* seq, int L, int N, Rng& rng) {
  for (;;) {
    const int x = int(rng.uniform_int(1, N));
    if (std::find(seq, seq + L, x) == seq + L) return x;
  }
}

}  // namespace

void PretrainSampler::make_batch(size_t begin, size_t end, Rng& rng, PretrainBatch& out) const {
  out.masked.clear();
  out.context.clear();
  out.pos_segment.clear();
  out.neg_segment.clear();
  out.pos_items.clear();
  out.neg_items.clear();
  const int N = d_.n_items, M = N + 1;
  std::vector<int> buf;
  for (size_t i = begin; i < end; ++i) {
    const Sample& sm = samples_[i];
    const int* seq = d_.user_seqs[sm.user].data() + sm.start;
    const int L = sm.len;
    // Masked item prediction: each position but the last with probability mask_ratio; the last always.
    buf.assign(seq, seq + L);
    for (int t = 0; t < L; ++t) {
      const bool masked = t == L - 1 || rng.uniform() < mask_ratio_;
      out.pos_items.push_back(seq[t]);
      if (masked) {
        buf[t] = M;
        out.neg_items.push_back(negative_not_in(seq, L, N, rng));
      } else {
        out.neg_items.push_back(0);
      }
    }
    out.masked.add(buf);
    // Segment prediction
    if (L < 2) {
      out.context.add({seq, size_t(L)});
      out.pos_segment.add({seq, size_t(L)});
      out.neg_segment.add({seq, size_t(L)});
      continue;
    }
    const int k = int(rng.uniform_int(1, L / 2));
    const int j = int(rng.uniform_int(0, L - k));
    const long ns = rng.uniform_int(0, long(long_sequence_.size()) - k);
    buf.assign(seq, seq + L);
    std::fill(buf.begin() + j, buf.begin() + j + k, M);
    out.context.add(buf);
    buf.assign(size_t(L), M);
    std::copy(seq + j, seq + j + k, buf.begin() + j);
    out.pos_segment.add(buf);
    std::copy(long_sequence_.begin() + ns, long_sequence_.begin() + ns + k, buf.begin() + j);
    out.neg_segment.add(buf);
  }
}

}  // namespace s3rec
