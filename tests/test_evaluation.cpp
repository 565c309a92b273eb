// Ranking metrics on hand-computed ranks, both protocols on a tiny model, early stopping.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "s3rec/evaluation.h"
#include "s3rec/rng.h"
#include "s3rec/training.h"
#include "tensor/item_scores.h"

using namespace s3rec;

TEST(Evaluation, SampledMetricsFromRanks) {
  RankMetrics m(EvalMode::Sampled);
  for (long r : {0L, 3L, 9L, 50L}) m.add(r);
  const Metrics x = m.result();
  EXPECT_DOUBLE_EQ(metric(x, "HR@1"), 0.25);
  EXPECT_DOUBLE_EQ(metric(x, "HR@5"), 0.5);
  EXPECT_DOUBLE_EQ(metric(x, "HR@10"), 0.75);
  EXPECT_NEAR(metric(x, "NDCG@5"), (1.0 + 1.0 / std::log2(5.0)) / 4, 1e-12);
  EXPECT_NEAR(metric(x, "NDCG@10"), (1.0 + 1.0 / std::log2(5.0) + 1.0 / std::log2(11.0)) / 4, 1e-12);
  EXPECT_NEAR(metric(x, "MRR"), (1.0 + 0.25 + 0.1 + 1.0 / 51) / 4, 1e-12);
  std::vector<std::string> keys;
  for (const auto& [k, v] : x) keys.push_back(k);
  EXPECT_EQ(keys, (std::vector<std::string>{"HR@1", "HR@5", "NDCG@5", "HR@10", "NDCG@10", "MRR"}));
}

TEST(Evaluation, FullRankingMetricKeys) {
  RankMetrics m(EvalMode::Full);
  m.add(19);
  m.add(20);
  const Metrics x = m.result();
  EXPECT_DOUBLE_EQ(metric(x, "HR@20"), 0.5);
  EXPECT_DOUBLE_EQ(metric(x, "HR@10"), 0.0);
  EXPECT_NEAR(metric(x, "NDCG@20"), 0.5 / std::log2(21.0), 1e-12);
  EXPECT_EQ(x.size(), 7u);
  EXPECT_STREQ(selection_metric(EvalMode::Full), "NDCG@20");
  EXPECT_STREQ(selection_metric(EvalMode::Sampled), "MRR");
  EXPECT_THROW(parse_eval_mode("topk"), std::invalid_argument);
}

TEST(Evaluation, EarlyStoppingNeedsStrictImprovement) {
  EarlyStopping s(2);
  EXPECT_TRUE(s.update(0.1));
  EXPECT_FALSE(s.update(0.1));  // equal is not better (reference semantics)
  EXPECT_FALSE(s.should_stop());
  EXPECT_TRUE(s.update(0.2));
  EXPECT_FALSE(s.update(0.15));
  EXPECT_FALSE(s.update(0.19));
  EXPECT_TRUE(s.should_stop());
  EXPECT_DOUBLE_EQ(s.best(), 0.2);
}

namespace {

// 4 items, embedding dimension 8: item 2's embedding made huge so it always wins.
struct TinyWorld {
  Dataset d;
  std::unique_ptr<S3RecModel> m;
  TinyWorld() {
    d.name = "tiny";
    d.n_items = 6;
    d.user_seqs = {{1, 3, 4, 2}, {5, 6, 1, 2}, {3, 1, 2, 6}};
    d.user_tokens = {"a", "b", "c"};
    d.item_attributes = AttributeTable::from_lists({}, 8);
    d.sample_negatives = {{5, 6}, {3, 4}, {4, 5}};
    ModelConfig c;
    c.hidden_size = 8;
    c.inner_size = 8;
    c.n_layers = 1;
    c.n_heads = 1;
    c.n_items = 6;
    c.max_seq_length = 5;
    m = std::make_unique<S3RecModel>(c);
    m->init_weights(3);
  }
};

}  // namespace

// Ranks recomputed by brute force from encode_last and the item table.
Metrics brute_force(const TinyWorld& w, EvalSplit split, EvalMode mode, const std::vector<MetricSpec>& specs = {}) {
  const int d = 8;
  PackedSeqs in;
  std::vector<int> target;
  for (const auto& s : w.d.user_seqs) {
    const size_t len = s.size() - (split == EvalSplit::Valid ? 2 : 1);
    in.add({s.data(), len});
    target.push_back(s[len]);
  }
  std::vector<float> F(w.d.user_seqs.size() * d);
  w.m->encode_last(in, true, F.data());
  const float* E = w.m->params().value(w.m->item_embeddings_id());
  auto score = [&](size_t u, int item) {
    float x = 0;
    for (int j = 0; j < d; ++j) x += F[u * d + j] * E[item * d + j];
    return x;
  };
  RankMetrics acc(specs.empty() ? default_metrics(mode) : specs);
  for (size_t u = 0; u < target.size(); ++u) {
    std::vector<int> cands;
    if (mode == EvalMode::Sampled) {
      cands = w.d.sample_negatives[u];
    } else {
      for (int i = 1; i <= w.d.n_items; ++i) {
        const auto& s = w.d.user_seqs[u];
        const auto hist_end = s.begin() + long(in.length(int(u)));
        if (i != target[u] && std::find(s.begin(), hist_end, i) == hist_end) cands.push_back(i);
      }
    }
    long r = 0;
    for (int c : cands) r += score(u, c) >= score(u, target[u]);
    acc.add(r);
  }
  return acc.result();
}

TEST(Evaluation, SampledAndFullMatchBruteForce) {
  TinyWorld w;
  for (EvalSplit split : {EvalSplit::Valid, EvalSplit::Test})
    for (EvalMode mode : {EvalMode::Sampled, EvalMode::Full}) {
      const Metrics got = evaluate(*w.m, w.d, split, mode, 2), want = brute_force(w, split, mode);
      ASSERT_EQ(got.size(), want.size());
      for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i].second, want[i].second, 1e-12) << got[i].first;
    }
}

TEST(Evaluation, RecBoleMetricsInBothProtocolsMatchBruteForce) {
  TinyWorld w;
  const auto specs = recbole_metrics({"Recall", "MRR", "NDCG", "Hit", "Precision", "MAP"}, {1, 2, 5});
  for (EvalSplit split : {EvalSplit::Valid, EvalSplit::Test})
    for (EvalMode mode : {EvalMode::Sampled, EvalMode::Full}) {
      const Metrics got = evaluate(*w.m, w.d, split, mode, specs, 2), want = brute_force(w, split, mode, specs);
      ASSERT_EQ(got.size(), specs.size());
      ASSERT_EQ(got.size(), want.size());
      for (size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].first, want[i].first);
        EXPECT_NEAR(got[i].second, want[i].second, 1e-12) << got[i].first;
      }
    }
}

TEST(Evaluation, FullRankingExcludesHistory) {
  // One user: history 1 2 3 4, target 5. The history items get embeddings that outscore
  // the target by far, every other item scores below it: with the history excluded the
  // target is first; counted, it would be fifth.
  TinyWorld w;
  w.d.user_seqs = {{1, 2, 3, 4, 5}};
  w.d.user_tokens = {"a"};
  w.d.sample_negatives = {{6}};
  const int d = 8;
  float* E = w.m->params().value(w.m->item_embeddings_id());
  std::vector<float> F(d);
  for (float sign : {1.0f, -1.0f}) {
    for (int i = 1; i <= 4; ++i)
      for (int j = 0; j < d; ++j) E[i * d + j] = sign * 100.0f * float(j % 3 == 0 ? 1 : -0.5);
    PackedSeqs in;
    in.add(std::vector<int>{1, 2, 3, 4});
    w.m->encode_last(in, true, F.data());
    double fg = 0;
    for (int j = 0; j < d; ++j) fg += F[j] * E[1 * d + j];
    if (fg > 0) break;  // the history items score high for this hidden state
  }
  double ff = 0;
  for (float x : F) ff += double(x) * x;
  for (int j = 0; j < d; ++j) {
    E[5 * d + j] = float(F[j] / ff);    // target: score 1
    E[6 * d + j] = float(-F[j] / ff);   // the others: score -1
  }
  double hist_score = 0;
  for (int j = 0; j < d; ++j) hist_score += F[j] * E[1 * d + j];
  ASSERT_GT(hist_score, 10.0) << "the history must outscore the target";
  const Metrics m = evaluate(*w.m, w.d, EvalSplit::Test, EvalMode::Full);
  EXPECT_DOUBLE_EQ(metric(m, "MRR"), 1.0);
  EXPECT_DOUBLE_EQ(metric(m, "HR@5"), 1.0);
}

// Full ranking in blocks of items equals ranking all scores at once: several blocks,
// exact ties (items sharing the target's embedding count against it), history excluded
// (repeated history items, and a target that also occurs in the history).
TEST(Evaluation, BlockedFullRankingEqualsBruteForce) {
  Dataset d;
  d.name = "blocks";
  d.n_items = 5000;
  Rng rng(4);
  for (int u = 0; u < 40; ++u) {
    std::vector<int> s;
    for (int k = 0, n = 4 + u % 7; k < n; ++k) s.push_back(int(rng.uniform_int(1, d.n_items)));
    if (u % 5 == 0) s.push_back(s[1]);      // a repeated item
    if (u % 7 == 0) s.push_back(s.front());  // the target occurs in the history
    d.user_seqs.push_back(s);
    d.user_tokens.push_back(std::to_string(u));
  }
  d.item_attributes = AttributeTable::from_lists({}, d.n_items + 2);
  ModelConfig c;
  c.hidden_size = 16;
  c.inner_size = 32;
  c.n_items = d.n_items;
  c.max_seq_length = 10;
  S3RecModel m(c);
  m.init_weights(8);
  float* E = m.params().value(m.item_embeddings_id());
  for (int k = 0; k < 300; ++k) {  // copies: exact ties, also with targets
    const int from = int(rng.uniform_int(1, d.n_items)), to = int(rng.uniform_int(1, d.n_items));
    std::copy(E + size_t(from) * 16, E + size_t(from + 1) * 16, E + size_t(to) * 16);
  }
  for (const auto& s : d.user_seqs)  // every target shares its embedding with two other items
    for (int k = 0; k < 2; ++k) {
      const int to = int(rng.uniform_int(1, d.n_items));
      std::copy(E + size_t(s.back()) * 16, E + size_t(s.back() + 1) * 16, E + size_t(to) * 16);
    }
  for (EvalSplit split : {EvalSplit::Valid, EvalSplit::Test}) {
    RankMetrics want(EvalMode::Full);
    for (const auto& s : d.user_seqs) {
      const size_t len = s.size() - (split == EvalSplit::Valid ? 2 : 1);
      PackedSeqs in;
      in.add({s.data() + (len > 10 ? len - 10 : 0), std::min<size_t>(len, 10)});
      std::vector<float> F(16);
      m.encode_last(in, true, F.data());
      const int target = s[len];
      const float t = item_score(F.data(), E + size_t(target) * 16, 16);
      long r = 0;
      for (int i = 1; i <= d.n_items; ++i)
        if (i != target && std::find(s.begin(), s.begin() + long(len), i) == s.begin() + long(len))
          r += item_score(F.data(), E + size_t(i) * 16, 16) >= t;
      want.add(r);
    }
    for (int batch : {7, 40}) EXPECT_EQ(evaluate(m, d, split, EvalMode::Full, batch, false), want.result());
  }
}
