// RecBole's ranking metrics on hand-computed ranks: one target per user (leave-one-out),
// so Recall@K = HR@K, Precision@K = HR@K / K and MAP@K = MRR@K (RecBole's definitions).
#include <gtest/gtest.h>

#include <cmath>

#include "s3rec/evaluation.h"

using namespace s3rec;

namespace {
std::vector<std::string> names(const Metrics& m) {
  std::vector<std::string> out;
  for (const auto& [k, v] : m) out.push_back(k);
  return out;
}
}  // namespace

TEST(Metrics, RecBoleMetricsFromHandComputedRanks) {
  // 0-based ranks of four users' targets
  RankMetrics m(recbole_metrics({"Recall", "MRR", "NDCG", "Hit", "Precision", "MAP"}, {5, 10}));
  for (long r : {0L, 3L, 9L, 50L}) m.add(r);
  const Metrics x = m.result();
  EXPECT_EQ(names(x), (std::vector<std::string>{"Recall@5", "Recall@10", "MRR@5", "MRR@10", "NDCG@5", "NDCG@10",
                                                "HR@5", "HR@10", "Precision@5", "Precision@10", "MAP@5", "MAP@10"}));
  // hits within 5: ranks 0 and 3; within 10: 0, 3 and 9
  EXPECT_DOUBLE_EQ(metric(x, "Recall@5"), 0.5);
  EXPECT_DOUBLE_EQ(metric(x, "Recall@10"), 0.75);
  EXPECT_DOUBLE_EQ(metric(x, "HR@10"), metric(x, "Recall@10"));
  EXPECT_DOUBLE_EQ(metric(x, "Precision@5"), 0.5 / 5);
  EXPECT_DOUBLE_EQ(metric(x, "Precision@10"), 0.75 / 10);
  // reciprocal ranks 1, 1/4, 1/10, 1/51, cut at K
  EXPECT_DOUBLE_EQ(metric(x, "MRR@5"), (1.0 + 0.25) / 4);
  EXPECT_DOUBLE_EQ(metric(x, "MRR@10"), (1.0 + 0.25 + 0.1) / 4);
  EXPECT_DOUBLE_EQ(metric(x, "MAP@5"), (1.0 + 0.25) / 4);
  EXPECT_DOUBLE_EQ(metric(x, "MAP@10"), (1.0 + 0.25 + 0.1) / 4);
  EXPECT_NEAR(metric(x, "NDCG@5"), (1.0 + 1.0 / std::log2(5.0)) / 4, 1e-12);
  EXPECT_NEAR(metric(x, "NDCG@10"), (1.0 + 1.0 / std::log2(5.0) + 1.0 / std::log2(11.0)) / 4, 1e-12);
}

TEST(Metrics, MapAtKWithOneTargetIsTheReciprocalRankWithinK) {
  // RecBole's MAP@K for one relevant item at 1-based position p <= K: (1/p) / min(1, K) = 1/p
  for (int k : {1, 3, 20})
    for (long r = 0; r < 25; ++r) {
      const MetricSpec map{MetricKind::MAP, k};
      EXPECT_DOUBLE_EQ(map.of_rank(r), r < k ? 1.0 / double(r + 1) : 0.0) << "k " << k << " rank " << r;
    }
  EXPECT_DOUBLE_EQ((MetricSpec{MetricKind::MRR, 0}).of_rank(99), 0.01);  // the paper's MRR has no cut-off
}

TEST(Metrics, NamesInReportAndRecBoleSpelling) {
  EXPECT_EQ(parse_metric("Hit@10").name(), "HR@10");
  EXPECT_EQ(parse_metric("hit@10"), parse_metric("HR@10"));
  EXPECT_EQ(parse_metric("ndcg@5").name(), "NDCG@5");
  EXPECT_EQ(parse_metric("mrr@10").name(), "MRR@10");
  EXPECT_EQ(parse_metric("MRR").name(), "MRR");
  EXPECT_EQ(parse_metric("precision@20").name(), "Precision@20");
  EXPECT_EQ(parse_metric("map@10").name(), "MAP@10");
  for (const char* bad : {"HR", "NDCG", "HR@0", "HR@x", "HR@10x", "AUC@10", ""})
    EXPECT_THROW(parse_metric(bad), std::invalid_argument) << bad;
  try {
    recbole_metrics({"Recall", "GiniIndex"}, {10});
    FAIL();
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("'GiniIndex' is not supported by s3rec"), std::string::npos) << e.what();
  }
  EXPECT_THROW(recbole_metrics({"Recall"}, {0}), std::invalid_argument);
}

TEST(Metrics, DefaultReportsAreTheProtocols) {
  RankMetrics sampled(EvalMode::Sampled), full(EvalMode::Full);
  sampled.add(0);
  full.add(0);
  EXPECT_EQ(names(sampled.result()), (std::vector<std::string>{"HR@1", "HR@5", "NDCG@5", "HR@10", "NDCG@10", "MRR"}));
  EXPECT_EQ(names(full.result()),
            (std::vector<std::string>{"HR@5", "NDCG@5", "HR@10", "NDCG@10", "HR@20", "NDCG@20", "MRR"}));
}
