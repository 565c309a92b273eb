#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "s3rec/evaluation.h"
#include "s3rec/distributed.h"
#include "tensor/item_scores.h"

namespace s3rec {
namespace {

// Input length of user u's sequence for the split: valid s[0:n-2] -> s[n-2], test s[0:n-1] -> s[n-1].
size_t input_length(const std::vector<int>& s, EvalSplit split) { return s.size() - (split == EvalSplit::Valid ? 2 : 1); }

// Full ranking of nb users (hidden states F) against items 1..N in blocks of items, so
// memory is [nb x block] per thread whatever N: rank = the number of items other than
// the target scoring >= the target, minus the user's history items (other than the
// target) among them. Every score is one FMA chain (item_score), so the target's score,
// the blocks' scores and the history's scores agree exactly.
void full_ranks(const float* F, int nb, const float* E, int N, int dim, const std::vector<int>& targets,
                const Dataset& d, int u0, EvalSplit split, std::vector<long>& ranks) {
  constexpr int kBlock = 2048;
  std::vector<float> t(static_cast<size_t>(nb));
  std::vector<long> hist(static_cast<size_t>(nb), 0);
#pragma omp parallel for schedule(static)
  for (int i = 0; i < nb; ++i) {
    const float* f = F + size_t(i) * dim;
    t[size_t(i)] = item_score(f, E + size_t(targets[size_t(i)]) * dim, dim);
    const std::vector<int>& seq = d.user_seqs[size_t(u0 + i)];
    std::vector<int> h(seq.begin(), seq.begin() + long(input_length(seq, split)));
    std::sort(h.begin(), h.end());
    h.erase(std::unique(h.begin(), h.end()), h.end());
    for (int item : h)
      if (item != targets[size_t(i)] && item_score(f, E + size_t(item) * dim, dim) >= t[size_t(i)]) ++hist[size_t(i)];
  }
  const int blocks = (N + kBlock - 1) / kBlock;
  std::vector<long> count(static_cast<size_t>(nb), 0);
#pragma omp parallel
  {
    std::vector<float> S(size_t(nb) * kBlock);
    std::vector<long> mine(static_cast<size_t>(nb), 0);
#pragma omp for schedule(dynamic, 1)
    for (int b = 0; b < blocks; ++b) {
      const int lo = 1 + b * kBlock, n = std::min(kBlock, N + 1 - lo);  // items lo .. lo+n-1
      item_scores(F, nb, E + size_t(lo) * dim, n, dim, S.data(), kBlock);
      for (int i = 0; i < nb; ++i) {
        const float* s = S.data() + size_t(i) * kBlock;
        const float ti = t[size_t(i)];
        long c = 0;
        for (int j = 0; j < n; ++j) c += s[j] >= ti;
        const int tj = targets[size_t(i)] - lo;
        if (tj >= 0 && tj < n) --c;  // the target itself (its score equals t)
        mine[size_t(i)] += c;
      }
    }
#pragma omp critical
    for (int i = 0; i < nb; ++i) count[size_t(i)] += mine[size_t(i)];
  }
  for (int i = 0; i < nb; ++i) ranks[size_t(i)] = count[size_t(i)] - hist[size_t(i)];
}

}  // namespace

Metrics evaluate(const S3RecModel& model, const Dataset& d, EvalSplit split, EvalMode mode, int batch_users,
                 bool data_parallel) {
  return evaluate(model, d, split, mode, {}, batch_users, data_parallel);
}

Metrics evaluate(const S3RecModel& model, const Dataset& d, EvalSplit split, EvalMode mode,
                 const std::vector<MetricSpec>& metrics, int batch_users, bool data_parallel) {
  const ModelConfig& c = model.config();
  const int dim = c.hidden_size, N = c.n_items, U = d.num_users();
  if (d.n_items > N) throw std::invalid_argument("evaluate: dataset has more items than the model");
  if (mode == EvalMode::Sampled && int(d.sample_negatives.size()) != U)
    throw std::invalid_argument("evaluate: sampled evaluation needs 99 negatives per user (NAME_sample.txt)");
  RankMetrics acc(metrics.empty() ? default_metrics(mode) : metrics);
  const float* E = model.params().value(model.item_embeddings_id());
  std::vector<float> F;
  long first = 0, last = U;  // this process's users
  if (data_parallel) dist::shard(U, first, last);
  std::vector<long> all_ranks(size_t(U), 0);
  for (int u0 = int(first); u0 < int(last); u0 += batch_users) {
    const int nb = std::min(batch_users, int(last) - u0);
    PackedSeqs in;
    std::vector<int> targets(nb);
    for (int i = 0; i < nb; ++i) {
      const std::vector<int>& s = d.user_seqs[u0 + i];
      const size_t len = input_length(s, split);
      const size_t start = len > size_t(c.max_seq_length) ? len - c.max_seq_length : 0;
      in.add({s.data() + start, len - start});
      targets[i] = s[len];
    }
    F.resize(size_t(nb) * dim);
    model.encode_last(in, true, F.data());
    std::vector<long> ranks(nb);
    if (mode == EvalMode::Sampled) {
#pragma omp parallel for schedule(static)
      for (int i = 0; i < nb; ++i) {
        const float* f = F.data() + size_t(i) * dim;
        auto score = [&](int item) {
          const float* e = E + size_t(item) * dim;
          float s = 0.0f;
          for (int j = 0; j < dim; ++j) s += f[j] * e[j];
          return s;
        };
        const float t = score(targets[i]);
        long r = 0;
        for (int neg : d.sample_negatives[u0 + i]) r += score(neg) >= t;
        ranks[i] = r;
      }
    } else {
      full_ranks(F.data(), nb, E, N, dim, targets, d, u0, split, ranks);
    }
    for (int i = 0; i < nb; ++i) all_ranks[size_t(u0 + i)] = ranks[i];
  }
  if (data_parallel) dist::allreduce_sum(all_ranks.data(), all_ranks.size());
  for (long r : all_ranks) acc.add(r);  // in user order: the same sums on every rank
  return acc.result();
}

}  // namespace s3rec
