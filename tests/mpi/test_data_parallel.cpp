// Run under `mpirun -np 2`: data-parallel training reaches the parameters of one
// process up to floating-point reassociation, all ranks hold identical parameters, and
// sharded evaluation equals the single-process one. Dropout is off so that the ranks'
// shards see exactly the computation the single process does.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "s3rec/distributed.h"
#include "s3rec/synthetic.h"
#include "s3rec/training.h"

using namespace s3rec;

namespace {

Dataset tiny_data() {
  SyntheticOptions so;
  so.users = 90;
  so.items = 150;
  so.clusters = 5;
  so.max_length = 14;
  return make_synthetic(so);
}

ModelConfig tiny_model(const Dataset& d) {
  ModelConfig c;
  c.hidden_size = 16;
  c.inner_size = 32;
  c.max_seq_length = 10;
  c.hidden_dropout_prob = 0.0f;
  c.attn_dropout_prob = 0.0f;
  c.n_items = d.n_items;
  c.n_attributes = d.n_attributes;
  return c;
}

// Largest difference between two models' parameters, except the attention key biases:
// their exact gradient is zero (a key bias shifts every score of a query alike), so
// what they receive is rounding noise, which Adam turns into steps of about lr.
double max_param_diff(const S3RecModel& a, const S3RecModel& b) {
  double m = 0;
  for (size_t id = 0; id < a.params().infos().size(); ++id) {
    const ParamInfo& p = a.params().info(int(id));
    if (p.name.find("attention.key.bias") != std::string::npos) continue;
    for (size_t i = p.offset; i < p.offset + p.size; ++i)
      m = std::max(m, double(std::fabs(a.params().values()[i] - b.params().values()[i])));
  }
  return m;
}

// 0 when every rank holds exactly v
double spread_across_ranks(const std::vector<float>& v) {
  std::vector<double> sum(v.begin(), v.end());
  dist::allreduce_sum(sum.data(), sum.size());
  double m = 0;
  for (size_t i = 0; i < v.size(); ++i) m = std::max(m, std::fabs(sum[i] / dist::size() - double(v[i])));
  return m;
}

}  // namespace

TEST(DataParallel, RunsOnSeveralRanks) { EXPECT_GE(dist::size(), 2) << "start with mpirun -np 2"; }

TEST(DataParallel, PretrainingMatchesOneProcess) {
  const Dataset d = tiny_data();
  PretrainOptions po;
  po.epochs = 2;
  po.batch_size = 64;  // several steps per epoch, the last one short
  S3RecModel one(tiny_model(d)), many(tiny_model(d));
  one.init_weights(3);
  many.init_weights(3);
  Optimizer a1(one.params(), AdamConfig{}), a2(many.params(), AdamConfig{});
  po.data_parallel = false;
  PretrainLosses l1, l2;
  pretrain(one, a1, d, po, {}, [&](const PretrainEpoch& e) { l1 = e.losses; });
  po.data_parallel = true;
  pretrain(many, a2, d, po, {}, [&](const PretrainEpoch& e) { l2 = e.losses; });
  EXPECT_GT(a1.steps(), 4);
  EXPECT_EQ(a1.steps(), a2.steps());
  EXPECT_NE(one.params().values(), std::vector<float>(one.params().total(), 0.0f));
  EXPECT_LT(max_param_diff(one, many), 5e-6);
  EXPECT_EQ(spread_across_ranks(many.params().values()), 0.0);
  EXPECT_NEAR(l1.aap, l2.aap, 1e-4 * l1.aap);
  EXPECT_NEAR(l1.mip, l2.mip, 1e-4 * l1.mip);
  EXPECT_NEAR(l1.sp, l2.sp, 1e-4 * l1.sp);
}

TEST(DataParallel, FineTuningAndEvaluationMatchOneProcess) {
  const Dataset d = tiny_data();
  FinetuneOptions fo;
  fo.epochs = 3;
  fo.batch_size = 32;
  S3RecModel one(tiny_model(d)), many(tiny_model(d));
  one.init_weights(4);
  many.init_weights(4);
  Optimizer a1(one.params(), AdamConfig{}), a2(many.params(), AdamConfig{});
  fo.data_parallel = false;
  const FinetuneResult r1 = finetune(one, a1, d, fo, {}, {});
  fo.data_parallel = true;
  const FinetuneResult r2 = finetune(many, a2, d, fo, {}, {});
  EXPECT_LT(max_param_diff(one, many), 5e-6);
  EXPECT_EQ(spread_across_ranks(many.params().values()), 0.0);
  EXPECT_EQ(r1.best_epoch, r2.best_epoch);
  for (size_t i = 0; i < r1.test.size(); ++i) EXPECT_NEAR(r1.test[i].second, r2.test[i].second, 1e-3);
  // sharded evaluation of one model: exactly the single-process metrics
  for (EvalMode mode : {EvalMode::Sampled, EvalMode::Full}) {
    const Metrics local = evaluate(one, d, EvalSplit::Test, mode, 16, false);
    const Metrics sharded = evaluate(one, d, EvalSplit::Test, mode, 16, true);
    EXPECT_EQ(local, sharded);
  }
}

int main(int argc, char** argv) {
  dist::init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  if (!dist::is_root()) {  // one report
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  long failed = RUN_ALL_TESTS() != 0;
  dist::allreduce_sum(&failed, 1);
  dist::finalize();
  return failed ? 1 : 0;
}
