// Whole runs through the library: pre-training then fine-tuning on small generated
// data (losses fall, S3-Rec beats popularity), the same on generated data of LastFM's
// shape with a popularity skew (runs everywhere, CI included), and a smoke run on
// ../shared/data/LastFM when it is there.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "s3rec/evaluation.h"
#include "s3rec/synthetic.h"
#include "s3rec/training.h"

using namespace s3rec;

namespace {

ModelConfig small_model(const Dataset& d) {
  ModelConfig c;
  c.hidden_size = 32;
  c.inner_size = 64;
  c.max_seq_length = 20;
  c.hidden_dropout_prob = 0.2f;
  c.attn_dropout_prob = 0.2f;
  c.n_items = d.n_items;
  c.n_attributes = d.n_attributes;
  return c;
}

// Popularity: items ranked by their count in the users' training parts.
Metrics popularity(const Dataset& d) {
  std::vector<long> count(size_t(d.n_items) + 1, 0);
  for (const auto& s : d.user_seqs)
    for (size_t i = 0; i + 2 < s.size(); ++i) ++count[s[i]];
  RankMetrics acc(EvalMode::Sampled);
  for (int u = 0; u < d.num_users(); ++u) {
    const int t = d.user_seqs[u].back();
    long r = 0;
    for (int n : d.sample_negatives[u]) r += count[n] >= count[t];
    acc.add(r);
  }
  return acc.result();
}

}  // namespace

TEST(EndToEnd, PretrainLossesFallAndS3RecBeatsPopularity) {
  SyntheticOptions so;
  so.users = 400;
  so.items = 240;
  so.clusters = 8;
  so.max_length = 25;
  const Dataset d = make_synthetic(so);
  S3RecModel model(small_model(d));
  model.init_weights(1);
  Optimizer adam(model.params(), AdamConfig{});
  PretrainOptions po;
  // On data this small, pre-training first settles on a plateau (AAP predicts the
  // attribute prior, MIP and SP are at chance) and leaves it after about 10 epochs of
  // batch 50; fine-tuning from the plateau is slower than from scratch.
  po.epochs = 15;
  po.batch_size = 50;
  std::vector<PretrainEpoch> epochs;
  pretrain(model, adam, d, po, {}, [&](const PretrainEpoch& e) { epochs.push_back(e); });
  ASSERT_EQ(epochs.size(), 15u);
  EXPECT_LT(epochs.back().losses.aap, epochs.front().losses.aap);
  EXPECT_LT(epochs.back().losses.mip, epochs.front().losses.mip);
  EXPECT_LT(epochs.back().losses.map, epochs.front().losses.map);
  EXPECT_LT(epochs.back().losses.joint(po.weights), epochs.front().losses.joint(po.weights));

  Optimizer ft(model.params(), AdamConfig{});
  FinetuneOptions fo;
  fo.epochs = 40;
  fo.batch_size = 64;
  fo.stopping_step = 5;
  std::vector<double> losses;
  const FinetuneResult r = finetune(model, ft, d, fo, {}, [&](const FinetuneEpoch& e) { losses.push_back(e.loss); });
  EXPECT_LT(losses.back(), losses.front());
  const Metrics pop = popularity(d);
  EXPECT_GT(metric(r.test, "HR@10"), metric(pop, "HR@10") + 0.05)
      << "S3-Rec " << metric(r.test, "HR@10") << " vs popularity " << metric(pop, "HR@10");
  EXPECT_GT(metric(r.test, "MRR"), metric(pop, "MRR"));
  EXPECT_GE(r.best_epoch, 1);
}

// LastFM's shape (1,090 users, 3,646 items, about 40 items per user, hundreds of
// attributes) with Zipf-skewed popularity, the paper's model size: a short S3-Rec run must
// clearly beat the popularity ranking, which is strong on skewed data (far above the 0.1
// HR@10 of random ranking among 100 candidates).
TEST(EndToEnd, LastFmShapedRunBeatsPopularity) {
  SyntheticOptions so;
  so.users = 1090;
  so.items = 3646;
  so.clusters = 16;
  so.attrs_per_cluster = 20;
  so.noise_attributes = 68;  // 388 attribute ids, as LastFM
  so.min_length = 20;
  so.max_length = 80;
  so.popularity_skew = 1.0;
  so.seed = 11;
  const Dataset d = make_synthetic(so);
  EXPECT_EQ(d.num_users(), 1090);
  EXPECT_GT(d.num_actions(), 40000);  // LastFM: 52,551
  ModelConfig c;
  c.n_items = d.n_items;
  c.n_attributes = d.n_attributes;
  S3RecModel model(c);
  model.init_weights(2020);
  Optimizer adam(model.params(), AdamConfig{});
  PretrainOptions po;
  po.epochs = 2;
  std::vector<PretrainEpoch> pe;
  pretrain(model, adam, d, po, {}, [&](const PretrainEpoch& e) { pe.push_back(e); });
  ASSERT_EQ(pe.size(), 2u);
  EXPECT_LT(pe.back().losses.joint(po.weights), pe.front().losses.joint(po.weights));
  Optimizer ft(model.params(), AdamConfig{});
  FinetuneOptions fo;
  fo.epochs = 40;
  fo.stopping_step = 10;
  const FinetuneResult r = finetune(model, ft, d, fo, {}, {});
  const Metrics pop = popularity(d);
  EXPECT_GT(metric(pop, "HR@10"), 0.2) << "the data's popularity skew makes the bar meaningful";
  EXPECT_GT(metric(r.test, "HR@10"), metric(pop, "HR@10") + 0.05)
      << "S3-Rec " << metric(r.test, "HR@10") << " vs popularity " << metric(pop, "HR@10");
  EXPECT_GT(metric(r.test, "MRR"), metric(pop, "MRR"));
}

TEST(EndToEnd, LastFmSmokeRun) {
  const std::string dir = std::string(S3REC_SOURCE_DIR) + "/../shared/data";
  if (!std::filesystem::exists(dir + "/LastFM.txt")) GTEST_SKIP() << "no ../shared/data/LastFM.txt";
  const Dataset d = load_dataset(dir, "LastFM", {});
  EXPECT_EQ(d.num_users(), 1090);
  EXPECT_EQ(d.n_items, 3646);
  EXPECT_EQ(d.num_actions(), 52551);
  EXPECT_EQ(d.n_attributes, 388);
  ModelConfig c;
  c.n_items = d.n_items;
  c.n_attributes = d.n_attributes;
  S3RecModel model(c);
  model.init_weights(2020);
  Optimizer adam(model.params(), AdamConfig{});
  PretrainOptions po;
  po.epochs = 1;
  PretrainEpoch seen;
  pretrain(model, adam, d, po, {}, [&](const PretrainEpoch& e) { seen = e; });
  long expected = 0;  // every prefix of each training part, truncated to 50
  for (const auto& s : d.user_seqs) expected += std::min<long>(50, long(s.size()) - 2);
  EXPECT_EQ(seen.samples, expected);
  EXPECT_TRUE(std::isfinite(seen.losses.joint(po.weights)));
  Optimizer ft(model.params(), AdamConfig{});
  FinetuneOptions fo;
  fo.epochs = 2;
  const FinetuneResult r = finetune(model, ft, d, fo, {}, {});
  EXPECT_EQ(r.epochs_run, 2);
  EXPECT_GT(metric(r.test, "HR@10"), 0.1);  // random ranking among 100 candidates gives 0.1
}
