// Run under `mpirun -np 2`: data-parallel training reaches the parameters of one
// process up to floating-point reassociation, all ranks hold identical parameters, and
// sharded evaluation equals the single-process one. With dropout off the ranks' shards
// see exactly the computation the single process does; with dropout on each rank draws
// its masks from the step key and its local token indices (docs/distributed.md), so the
// run is compared with one process that runs every rank's shard in turn.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "s3rec/batch.h"
#include "s3rec/distributed.h"
#include "s3rec/rng.h"
#include "s3rec/sampling.h"
#include "s3rec/training.h"
#include "tiny_world.h"

using namespace s3rec;
using namespace s3rec::testing;

namespace {

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

void add(PretrainLosses& sum, const PretrainLosses& l) {
  sum.aap += l.aap;
  sum.mip += l.mip;
  sum.map += l.map;
  sum.sp += l.sp;
}

void expect_losses_near(const PretrainLosses& a, const PretrainLosses& b, double rel) {
  EXPECT_NEAR(a.aap, b.aap, rel * a.aap);
  EXPECT_NEAR(a.mip, b.mip, rel * a.mip);
  EXPECT_NEAR(a.map, b.map, rel * a.map);
  EXPECT_NEAR(a.sp, b.sp, rel * a.sp);
}

// One process doing what `ranks` data-parallel ranks do together: every step, each rank's
// contiguous share of the global batch in turn with the step's key, the gradients summed,
// then one optimizer step. The sample stream and the keys are derived as pretrain_loop.cpp
// derives them (ranks = 1 must reproduce pretrain() exactly, which checks that they still are).
PretrainLosses pretrain_by_shards(S3RecModel& m, Optimizer& optim, const Dataset& d, const PretrainOptions& po,
                                  int ranks) {
  PretrainSampler sampler(d, m.config().max_seq_length, po.mask_ratio, po.train_fraction);
  const long total = long(sampler.num_samples());
  PretrainLosses sum;
  PretrainBatch batch;
  m.params().zero_grad();
  for (int epoch = 0; epoch < po.epochs; ++epoch) {
    Rng rng(splitmix64(po.seed) ^ splitmix64(0x5052455452ull + uint64_t(epoch)));
    sampler.shuffle(rng);
    long step = 0;
    for (long b = 0; b < total; b += po.batch_size, ++step) {
      const long e = std::min(total, b + po.batch_size);
      sampler.make_batch(size_t(b), size_t(e), rng, batch);
      const uint64_t key = splitmix64(po.seed ^ (uint64_t(epoch) << 32) ^ uint64_t(step));
      for (int r = 0; r < ranks; ++r) {
        const PretrainBatch shard = slice(batch, int((e - b) * r / ranks), int((e - b) * (r + 1) / ranks));
        optim.prepare_rows(m.item_embeddings_id(), item_rows(shard));
        if (shard.masked.num_seqs() > 0) add(sum, m.pretrain_step(shard, d.item_attributes, po.weights, true, key));
      }
      optim.step();
    }
    optim.catch_up_all();
  }
  return sum;
}

}  // namespace

TEST(DataParallel, RunsOnSeveralRanks) { EXPECT_GE(dist::size(), 2) << "start with mpirun -np 2"; }

TEST(DataParallel, PretrainingMatchesOneProcess) {
  const Dataset d = tiny_data();
  PretrainOptions po;
  po.epochs = 2;
  po.batch_size = 64;  // several steps per epoch, the last one short
  S3RecModel one(tiny_model(d, 0.0f)), many(tiny_model(d, 0.0f));
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
  EXPECT_NEAR(l1.map, l2.map, 1e-4 * l1.map);
  EXPECT_GT(l1.map, 0.0);
}

TEST(DataParallel, PretrainingWithDropoutIsEveryRanksShardInTurn) {
  const Dataset d = tiny_data();
  PretrainOptions po;
  po.epochs = 2;
  po.batch_size = 64;
  const auto model = [&] {
    auto m = std::make_unique<S3RecModel>(tiny_model(d, 0.3f));
    m->init_weights(6);
    return m;
  };
  // the emulation with one shard is pretrain() in one process
  auto one = model(), one_emulated = model();
  Optimizer a1(one->params(), AdamConfig{}), a1e(one_emulated->params(), AdamConfig{});
  po.data_parallel = false;
  PretrainLosses l1;
  pretrain(*one, a1, d, po, {}, [&](const PretrainEpoch& e) { add(l1, e.losses); });
  const PretrainLosses l1e = pretrain_by_shards(*one_emulated, a1e, d, po, 1);
  ASSERT_EQ(one->params().values(), one_emulated->params().values()) << "the emulation is out of date";
  expect_losses_near(l1, l1e, 1e-12);
  // the data-parallel run is the emulation with one shard per rank
  auto many = model(), many_emulated = model();
  Optimizer a2(many->params(), AdamConfig{}), a2e(many_emulated->params(), AdamConfig{});
  po.data_parallel = true;
  PretrainLosses l2;
  pretrain(*many, a2, d, po, {}, [&](const PretrainEpoch& e) { add(l2, e.losses); });
  const PretrainLosses l2e = pretrain_by_shards(*many_emulated, a2e, d, po, dist::size());
  EXPECT_LT(max_param_diff(*many, *many_emulated), 5e-6);
  EXPECT_EQ(spread_across_ranks(many->params().values()), 0.0);
  expect_losses_near(l2, l2e, 1e-4);
  // and not the one-process run: the ranks' masks differ from one process's
  EXPECT_GT(max_param_diff(*many, *one), 1e-4);
}

TEST(DataParallel, FineTuningAndEvaluationMatchOneProcess) {
  const Dataset d = tiny_data();
  FinetuneOptions fo;
  fo.epochs = 3;
  fo.batch_size = 32;
  S3RecModel one(tiny_model(d, 0.0f)), many(tiny_model(d, 0.0f));
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
  // with dropout on, every rank still ends with the same parameters, and a second run with
  // the same seed gives them again bit for bit
  std::vector<float> first;
  for (int run = 0; run < 2; ++run) {
    S3RecModel m(tiny_model(d, 0.3f));
    m.init_weights(4);
    Optimizer a(m.params(), AdamConfig{});
    finetune(m, a, d, fo, {}, {});
    EXPECT_EQ(spread_across_ranks(m.params().values()), 0.0);
    if (run == 0) {
      first = m.params().values();
    } else {
      EXPECT_EQ(m.params().values(), first);
    }
  }
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
