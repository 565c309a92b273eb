// The fine-tuning loop as a whole: train_fraction reaches its sampler, and early stopping
// stops after stopping_step epochs without improvement and restores the best epoch's
// parameters, both in finetune() and in the model and metrics `s3rec finetune` writes.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>

#include "run_s3rec.h"
#include "s3rec/training.h"
#include "tiny_world.h"

using namespace s3rec;
using namespace s3rec::testing;
namespace fs = std::filesystem;

namespace {

// Learning rate and patience under which fine-tuning tiny_data() stops early (checked below).
constexpr float kLearningRate = 0.02f;
constexpr int kPatience = 2;

// Fine-tunes a fresh tiny model (seed 5) with kLearningRate; each(epoch, model) after every
// epoch; *restored = the parameters finetune() leaves in the model.
FinetuneResult finetune_tiny(const Dataset& d, const FinetuneOptions& o,
                             const std::function<void(const FinetuneEpoch&, const S3RecModel&)>& each,
                             std::vector<float>* restored = nullptr) {
  S3RecModel m(tiny_model(d, 0.5f));
  m.init_weights(5);
  AdamConfig ac;
  ac.lr = kLearningRate;
  Optimizer adam(m.params(), ac);
  const FinetuneResult r = finetune(m, adam, d, o, {}, [&](const FinetuneEpoch& e) { each(e, m); });
  if (restored) *restored = m.params().values();
  return r;
}

}  // namespace

TEST(FinetuneLoop, TrainFractionReducesTheTrainingPositions) {
  const Dataset d = tiny_data();
  // input positions per epoch: over users, kept training items - 1 (at most max_seq_length),
  // kept = ceil(f x n) of a training part of n = length - 2 items
  long full = 0, half = 0;
  for (const auto& s : d.user_seqs) {
    const long n = long(s.size()) - 2;
    full += std::min(n - 1, 10L);
    half += std::min((n + 1) / 2 - 1, 10L);  // ceil(n / 2) - 1, in integers
  }
  for (const auto& [fraction, want] : {std::pair{1.0, full}, std::pair{0.5, half}}) {
    S3RecModel m(tiny_model(d, 0.5f));
    m.init_weights(1);
    Optimizer adam(m.params(), AdamConfig{});
    FinetuneOptions o;
    o.epochs = 1;
    o.train_fraction = fraction;
    long positions = -1;
    finetune(m, adam, d, o, {}, [&](const FinetuneEpoch& e) { positions = e.positions; });
    EXPECT_EQ(positions, want) << "train_fraction " << fraction;
  }
  EXPECT_LT(half, full * 6 / 10);
}

TEST(FinetuneLoop, EarlyStoppingStopsAfterPatienceAndRestoresTheBestEpoch) {
  const Dataset d = tiny_data();
  FinetuneOptions o;
  o.epochs = 60;
  o.stopping_step = kPatience;
  std::vector<FinetuneEpoch> epochs;
  std::vector<std::vector<float>> params;  // after each epoch
  std::vector<Metrics> tests;              // test metrics of each epoch's parameters
  std::vector<float> restored;
  const FinetuneResult r = finetune_tiny(
      d, o,
      [&](const FinetuneEpoch& e, const S3RecModel& m) {
        epochs.push_back(e);
        params.push_back(m.params().values());
        tests.push_back(evaluate(m, d, EvalSplit::Test, o.eval_mode));
      },
      &restored);
  ASSERT_EQ(int(epochs.size()), r.epochs_run);
  ASSERT_LT(r.epochs_run, o.epochs) << "the run must stop early for this test to say anything";
  ASSERT_GT(r.best_epoch, 1);
  // stopped exactly kPatience epochs after the best, none of which improved on it
  EXPECT_EQ(r.epochs_run, r.best_epoch + kPatience);
  const FinetuneEpoch& best = epochs[size_t(r.best_epoch - 1)];
  EXPECT_TRUE(best.improved);
  double before = -1;  // best score of the epochs before
  for (const FinetuneEpoch& e : epochs) {
    EXPECT_EQ(e.improved, e.score > before) << "epoch " << e.epoch << ": strict improvement";
    if (e.epoch > r.best_epoch) {
      EXPECT_LE(e.score, best.score) << "epoch " << e.epoch;
    }
    before = std::max(before, e.score);
  }
  // the parameters are the best epoch's, not the last one's
  EXPECT_NE(params.back(), params[size_t(r.best_epoch - 1)]);
  EXPECT_EQ(restored, params[size_t(r.best_epoch - 1)]);
  // and so are the reported metrics
  EXPECT_EQ(r.best_score, best.score);
  EXPECT_EQ(r.valid, best.valid);
  EXPECT_EQ(r.test, tests[size_t(r.best_epoch - 1)]);
  EXPECT_NE(r.test, tests.back());
}

// log_test scores the test set after every epoch and changes nothing else: the same losses,
// validation scores and parameters, epoch by epoch, and the reported test is the best epoch's.
TEST(FinetuneLoop, LogTestReportsEveryEpochsTestAndChangesNothingElse) {
  const Dataset d = tiny_data();
  std::array<std::vector<FinetuneEpoch>, 2> epochs;
  std::array<std::vector<std::vector<float>>, 2> params;
  std::vector<Metrics> tests;  // evaluated beside the run without log_test
  std::array<FinetuneResult, 2> r;
  for (int log_test = 0; log_test < 2; ++log_test) {
    FinetuneOptions o;
    o.epochs = 12;
    o.stopping_step = kPatience;
    o.log_test = log_test == 1;
    r[size_t(log_test)] = finetune_tiny(d, o, [&](const FinetuneEpoch& e, const S3RecModel& m) {
      epochs[size_t(log_test)].push_back(e);
      params[size_t(log_test)].push_back(m.params().values());
      if (!o.log_test) tests.push_back(evaluate(m, d, EvalSplit::Test, o.eval_mode));
    });
  }
  ASSERT_EQ(epochs[0].size(), epochs[1].size());
  ASSERT_GE(epochs[0].size(), 3u);
  for (size_t i = 0; i < epochs[0].size(); ++i) {
    EXPECT_FALSE(epochs[0][i].test.has_value());
    ASSERT_TRUE(epochs[1][i].test.has_value()) << "epoch " << i + 1;
    EXPECT_EQ(*epochs[1][i].test, tests[i]) << "epoch " << i + 1;
    EXPECT_EQ(epochs[1][i].loss, epochs[0][i].loss) << "epoch " << i + 1;
    EXPECT_EQ(epochs[1][i].valid, epochs[0][i].valid) << "epoch " << i + 1;
    EXPECT_EQ(params[1][i], params[0][i]) << "epoch " << i + 1;
  }
  EXPECT_NE(tests.front(), tests.back());
  EXPECT_EQ(r[1].best_epoch, r[0].best_epoch);
  EXPECT_EQ(r[1].test, r[0].test);
  EXPECT_EQ(r[1].test, *epochs[1][size_t(r[1].best_epoch - 1)].test);
}

// The same through the binary: the log shows the stop, and the saved model evaluates to
// the best epoch's validation metrics, which are also the ones reported.
TEST(FinetuneLoop, SavedModelAndReportedMetricsAreTheBestEpochs) {
  const fs::path dir = fs::temp_directory_path() / "s3rec_early_stopping";
  fs::remove_all(dir);
  fs::create_directories(dir);
  Outcome r = s3rec_run("generate --output=" + (dir / "data").string() + " --users=90 --items=150 --clusters=5",
                        dir / "gen.txt");
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string data = " --data_path=" + (dir / "data").string() +
                           " --dataset=synthetic --hidden_size=16 --inner_size=32 --MAX_ITEM_LIST_LENGTH=10";
  r = s3rec_run("finetune" + data + " --learning_rate=" + std::to_string(kLearningRate) + " --stopping_step=" +
                    std::to_string(kPatience) + " --epochs=60 --run_dir=" + (dir / "ft").string(),
                dir / "ft.txt");
  ASSERT_EQ(r.code, 0) << r.out;
  std::vector<nlohmann::json> epochs;
  std::ifstream log(dir / "ft" / "log.jsonl");
  for (std::string line; std::getline(log, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j["stage"] == "finetune") epochs.push_back(j);
  }
  const auto res = read_json(dir / "ft" / "results.json");
  const int best = res["best_epoch"];
  ASSERT_LT(epochs.size(), 60u) << "the run must stop early for this test to say anything";
  EXPECT_EQ(int(epochs.size()), best + kPatience);
  EXPECT_TRUE(epochs[size_t(best - 1)]["improved"].get<bool>());
  for (size_t e = size_t(best); e < epochs.size(); ++e) EXPECT_FALSE(epochs[e]["improved"].get<bool>());
  EXPECT_EQ(res["valid"], epochs[size_t(best - 1)]["valid"]);
  EXPECT_NE(res["valid"], epochs.back()["valid"]);
  r = s3rec_run("evaluate" + data + " --model_path=" + res["model"].get<std::string>() + " --json=" +
                    (dir / "ev.json").string(),
                dir / "ev.txt");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto ev = read_json(dir / "ev.json");
  EXPECT_EQ(ev["valid"], epochs[size_t(best - 1)]["valid"]);
  EXPECT_EQ(ev["test"], res["test"]);

  // --log_test: every record also has the epoch's test metrics; the run is otherwise the same
  r = s3rec_run("finetune" + data + " --learning_rate=" + std::to_string(kLearningRate) + " --stopping_step=" +
                    std::to_string(kPatience) + " --epochs=60 --log_test=true --run_dir=" + (dir / "ft-test").string(),
                dir / "ft-test.txt");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find(", test "), std::string::npos) << r.out;
  std::vector<nlohmann::json> logged;
  std::ifstream log2(dir / "ft-test" / "log.jsonl");
  for (std::string line; std::getline(log2, line);) {
    const auto j = nlohmann::json::parse(line);
    if (j["stage"] == "finetune") logged.push_back(j);
  }
  ASSERT_EQ(logged.size(), epochs.size());
  for (size_t e = 0; e < logged.size(); ++e) {
    EXPECT_FALSE(epochs[e].contains("test"));
    ASSERT_TRUE(logged[e].contains("test")) << "epoch " << e + 1;
    EXPECT_EQ(logged[e]["loss"], epochs[e]["loss"]) << "epoch " << e + 1;
    EXPECT_EQ(logged[e]["valid"], epochs[e]["valid"]) << "epoch " << e + 1;
  }
  EXPECT_EQ(logged[size_t(best - 1)]["test"], res["test"]);
  EXPECT_EQ(read_json(dir / "ft-test" / "results.json")["test"], res["test"]);
}
