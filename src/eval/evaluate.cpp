#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "s3rec/evaluation.h"
#include "s3rec/distributed.h"
#include "tensor/gemm.h"

namespace s3rec {
namespace {

// Input length of user u's sequence for the split: valid s[0:n-2] -> s[n-2], test s[0:n-1] -> s[n-1].
size_t input_length(const std::vector<int>& s, EvalSplit split) { return s.size() - (split == EvalSplit::Valid ? 2 : 1); }

}  // namespace

Metrics evaluate(const S3RecModel& model, const Dataset& d, EvalSplit split, EvalMode mode, int batch_users,
                 bool data_parallel) {
  const ModelConfig& c = model.config();
  const int dim = c.hidden_size, N = c.n_items, U = d.num_users();
  if (d.n_items > N) throw std::invalid_argument("evaluate: dataset has more items than the model");
  if (mode == EvalMode::Sampled && int(d.sample_negatives.size()) != U)
    throw std::invalid_argument("evaluate: sampled evaluation needs 99 negatives per user (NAME_sample.txt)");
  RankMetrics acc(mode);
  const float* E = model.params().value(model.item_embeddings_id());
  std::vector<float> F, scores;
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
      scores.resize(size_t(nb) * N);
      gemm(false, true, nb, N, dim, 1.0f, F.data(), dim, E + dim, dim, 0.0f, scores.data(), N);  // items 1..N
#pragma omp parallel for schedule(static)
      for (int i = 0; i < nb; ++i) {
        float* s = scores.data() + size_t(i) * N;
        const std::vector<int>& seq = d.user_seqs[u0 + i];
        const int target = targets[i];
        for (size_t k = 0; k < input_length(seq, split); ++k)
          if (seq[k] != target) s[seq[k] - 1] = -INFINITY;
        const float t = s[target - 1];
        long r = 0;
        for (int j = 0; j < N; ++j) r += (j != target - 1) && s[j] >= t;
        ranks[i] = r;
      }
    }
    for (int i = 0; i < nb; ++i) all_ranks[size_t(u0 + i)] = ranks[i];
  }
  if (data_parallel) dist::allreduce_sum(all_ranks.data(), all_ranks.size());
  for (long r : all_ranks) acc.add(r);  // in user order: the same sums on every rank
  return acc.result();
}

}  // namespace s3rec
