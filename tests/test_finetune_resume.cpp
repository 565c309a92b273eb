// Fine-tuning interrupted after epoch k (the state saved as `s3rec finetune` saves it, then
// the run abandoned) and resumed from the files in a fresh model and optimizer ends
// exactly where the uninterrupted run ends: the same parameters bit for bit, the same
// best epoch, metrics and number of epochs (early stopping's count carried across).
#include <gtest/gtest.h>

#include <filesystem>

#include "s3rec/checkpoint.h"
#include "s3rec/finetune_state.h"
#include "s3rec/training.h"
#include "tiny_world.h"

using namespace s3rec;
using s3rec::testing::tiny_data;
namespace fs = std::filesystem;

namespace {

struct Interrupted {};  // thrown from on_epoch: the run ends there, as a killed one would

FinetuneOptions options() {
  FinetuneOptions o;
  o.epochs = 30;
  o.batch_size = 16;
  o.stopping_step = 2;
  o.seed = 5;
  return o;
}

}  // namespace

TEST(FinetuneResume, ResumedFromSavedStateMatchesUninterrupted) {
  const Dataset d = tiny_data();
  const AdamConfig adam{0.003f};
  S3RecModel straight(s3rec::testing::tiny_model(d, 0.1f));
  straight.init_weights(1);
  Optimizer o1(straight.params(), adam);
  std::vector<int> bad_after;  // early stopping's count after each epoch
  const FinetuneResult want = finetune(straight, o1, d, options(), {}, [&](const FinetuneEpoch& e) {
    bad_after.push_back(e.progress->bad_epochs);
  });
  ASSERT_LT(want.epochs_run, 30) << "the case needs a run that stops early";
  ASSERT_LT(want.best_epoch, want.epochs_run);
  const std::string dir = (fs::temp_directory_path() / ("s3rec_ft_resume_" + std::to_string(::getpid()))).string();
  // after the first epoch, after one without improvement, and after the last (stopped) one
  int without = 1;
  while (without < int(bad_after.size()) && bad_after[size_t(without) - 1] == 0) ++without;
  for (const int k : {1, without, want.epochs_run}) {
    S3RecModel first(s3rec::testing::tiny_model(d, 0.1f));
    first.init_weights(1);
    Optimizer o2(first.params(), adam);
    EXPECT_THROW(finetune(first, o2, d, options(), {},
                          [&](const FinetuneEpoch& e) {
                            save_finetune_state(dir, first, o2, *e.progress, {{"seed", "5"}});
                            if (e.epoch == k) throw Interrupted{};
                          }),
                 Interrupted);
    const std::string path = latest_finetune_state(dir);
    ASSERT_EQ(fs::path(path).filename(), "epoch-" + std::to_string(k) + ".safetensors");
    size_t files = 0;
    for (const auto& e : fs::directory_iterator(dir)) files += e.is_regular_file();
    EXPECT_EQ(files, 3u) << "the states of earlier epochs are removed";

    S3RecModel resumed(s3rec::testing::tiny_model(d, 0.1f));
    resumed.init_weights(99);  // overwritten by the state
    Optimizer o3(resumed.params(), adam);
    const FinetuneProgress p = load_finetune_state(path, resumed, o3);
    EXPECT_EQ(p.epochs_done, k);
    EXPECT_EQ(p.bad_epochs, bad_after[size_t(k) - 1]);
    FinetuneOptions o = options();
    o.resume = &p;
    int ran = 0;
    const FinetuneResult got = finetune(resumed, o3, d, o, {}, [&](const FinetuneEpoch&) { ++ran; });
    EXPECT_EQ(ran, want.epochs_run - k) << "after k = " << k;
    EXPECT_EQ(got.epochs_run, want.epochs_run);
    EXPECT_EQ(got.best_epoch, want.best_epoch);
    EXPECT_EQ(got.valid, want.valid);
    EXPECT_EQ(got.test, want.test);
    EXPECT_EQ(resumed.params().values(), straight.params().values()) << "after k = " << k;
    clear_finetune_states(dir);
  }
  fs::remove_all(dir);
}

TEST(FinetuneResume, StateFilesOfDifferentSavesAreRefused) {
  const Dataset d = tiny_data();
  S3RecModel m(s3rec::testing::tiny_model(d, 0.1f));
  Optimizer o(m.params(), AdamConfig{});
  FinetuneProgress p;
  p.best_params = m.params().values();
  p.epochs_done = 1;
  const std::string dir = (fs::temp_directory_path() / ("s3rec_ft_mix_" + std::to_string(::getpid()))).string();
  fs::remove_all(dir);
  save_finetune_state(dir, m, o, p, {});
  const std::string one = dir + "/epoch-1.best.safetensors", kept = dir + "/kept.safetensors";
  fs::copy_file(one, kept);
  p.epochs_done = 2;
  save_finetune_state(dir, m, o, p, {});
  EXPECT_FALSE(fs::exists(one));
  fs::copy_file(kept, dir + "/epoch-2.best.safetensors", fs::copy_options::overwrite_existing);
  try {
    load_finetune_state(dir + "/epoch-2.safetensors", m, o);
    FAIL() << "a best-parameters file of another epoch was accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("epoch-2.best.safetensors: saved after epoch 1"), std::string::npos)
        << e.what();
  }
  fs::remove_all(dir);
}
