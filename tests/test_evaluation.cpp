// Ranking metrics on hand-computed ranks, both protocols on a tiny model, early stopping.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "s3rec/evaluation.h"
#include "s3rec/training.h"

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
Metrics brute_force(const TinyWorld& w, EvalSplit split, EvalMode mode) {
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
  RankMetrics acc(mode);
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

TEST(Evaluation, FullRankingExcludesHistory) {
  TinyWorld w;
  // 6 items, 3 history items excluded: at most 2 other candidates can beat the target.
  const Metrics m = evaluate(*w.m, w.d, EvalSplit::Test, EvalMode::Full);
  EXPECT_DOUBLE_EQ(metric(m, "HR@5"), 1.0);
}
