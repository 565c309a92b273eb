// Writes that fail: a checkpoint directory that fills up (a file-size limit, as `ulimit -f`
// sets, in the child process), one that is read-only or cannot be created, a rename that
// fails, a log on a full device. Each must stop the run with an error naming the file, a
// non-zero exit status, and the previous checkpoint intact.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "child_process.h"
#include "run_s3rec.h"
#include "s3rec/checkpoint.h"
#include "s3rec/finetune_state.h"
#include "s3rec/progress.h"
#include "util/atomic_write.h"

namespace fs = std::filesystem;
using namespace s3rec;

namespace {

#define EXPECT_HAS(text, part) EXPECT_NE(std::string(text).find(part), std::string::npos) << (text)

bool any_temporary(const fs::path& dir) {
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.path().filename().string().find(".tmp.") != std::string::npos) return true;
  return false;
}

class WriteFailures : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("s3rec_write_failures_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    ASSERT_EQ(child::run({child::s3rec_binary(), "generate", "--output=" + (dir_ / "data").string(), "--dataset=tiny",
                          "--users=40", "--items=120", "--clusters=3", "--max_length=10"})
                  .code,
              0);
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }
  std::vector<std::string> pretrain(const fs::path& saved, int epochs, bool resume) const {
    std::vector<std::string> a = {child::s3rec_binary(), "pretrain", "--data_path=" + (dir_ / "data").string(),
                                  "--dataset=tiny", "--hidden_size=8", "--inner_size=16", "--MAX_ITEM_LIST_LENGTH=8",
                                  "--save_step=1", "--pretrain_epochs=" + std::to_string(epochs),
                                  "--checkpoint_dir=" + saved.string(), "--run_dir=" + (dir_ / "pre").string()};
    if (resume) a.push_back("--resume=true");
    return a;
  }
  std::vector<std::string> finetune(int epochs, bool resume) const {
    std::vector<std::string> a = {child::s3rec_binary(), "finetune", "--data_path=" + (dir_ / "data").string(),
                                  "--dataset=tiny", "--hidden_size=8", "--inner_size=16", "--MAX_ITEM_LIST_LENGTH=8",
                                  "--save_step=1", "--stopping_step=100", "--epochs=" + std::to_string(epochs),
                                  "--run_dir=" + (dir_ / "ft").string()};
    if (resume) a.push_back("--resume=true");
    return a;
  }
  // Runs argv; its output.
  std::string run(const std::vector<std::string>& argv, child::Exit& x, long fsize = -1) const {
    child::Options o;
    o.output = (dir_ / "out.txt").string();
    o.env = {"OMP_NUM_THREADS=1"};
    o.file_size_limit = fsize;
    x = child::run(argv, o);
    return s3rec::testing::file_bytes(o.output);
  }
  // Pre-trains one epoch into saved/; the bytes of its checkpoint and optimizer state.
  std::pair<std::string, std::string> first_checkpoint(const fs::path& saved) {
    child::Exit x;
    const std::string out = run(pretrain(saved, 1, false), x);
    EXPECT_EQ(x.code, 0) << out;
    const std::string p = (saved / "S3Rec-tiny-1.safetensors").string();
    return {s3rec::testing::file_bytes(p), s3rec::testing::file_bytes(optimizer_path(p))};
  }
  void expect_first_checkpoint_intact(const fs::path& saved, const std::pair<std::string, std::string>& before) {
    const std::string p = (saved / "S3Rec-tiny-1.safetensors").string();
    EXPECT_EQ(s3rec::testing::file_bytes(p), before.first);
    EXPECT_EQ(s3rec::testing::file_bytes(optimizer_path(p)), before.second);
    const CheckpointMeta meta = read_checkpoint_meta(p);
    S3RecModel m(meta.config);
    Optimizer o(m.params(), AdamConfig{});
    EXPECT_NO_THROW(load_checkpoint(p, m, &o));
    EXPECT_FALSE(fs::exists(saved / "S3Rec-tiny-2.safetensors"));
    EXPECT_FALSE(any_temporary(saved)) << "a failed write removes its temporary file";
  }
  fs::path dir_;
};

}  // namespace

TEST_F(WriteFailures, FullDiskStopsPretrainingKeepingThePreviousCheckpoint) {
  const fs::path saved = dir_ / "saved";
  const auto before = first_checkpoint(saved);
  ASSERT_GT(before.first.size(), 4000u);
  // every file may grow to half a checkpoint: the log and config.yaml fit, a checkpoint does not
  child::Exit x;
  const std::string out = run(pretrain(saved, 3, true), x, long(before.first.size() / 2));
  EXPECT_FALSE(x.signaled) << "killed by signal " << x.signal << " (SIGXFSZ must be ignored): " << out;
  EXPECT_EQ(x.code, 1) << out;
  EXPECT_HAS(out, (saved / "S3Rec-tiny-2.safetensors.optim.safetensors").string() + ": write failed: File too large");
  expect_first_checkpoint_intact(saved, before);
  // once there is room again, the run resumes from the checkpoint that survived
  const std::string again = run(pretrain(saved, 3, true), x);
  EXPECT_EQ(x.code, 0) << again;
  EXPECT_HAS(again, "resuming from " + (saved / "S3Rec-tiny-1.safetensors").string());
  std::ifstream log(dir_ / "pre" / "log.jsonl");
  int lines = 0;
  for (std::string l; std::getline(log, l);) ++lines;
  EXPECT_EQ(lines, 3) << "the epoch logged before the failed checkpoint is logged once";
}

TEST_F(WriteFailures, FullDiskStopsFineTuningKeepingThePreviousState) {
  child::Exit x;
  std::string out = run(finetune(2, false), x);
  ASSERT_EQ(x.code, 0) << out;
  const fs::path states = dir_ / "ft" / "finetune-state";
  const std::string state = latest_finetune_state(states.string());
  ASSERT_EQ(fs::path(state).filename(), "epoch-2.safetensors");
  const std::string bytes = s3rec::testing::file_bytes(state);
  out = run(finetune(4, true), x, long(bytes.size() / 2));
  EXPECT_FALSE(x.signaled) << out;
  EXPECT_EQ(x.code, 1) << out;
  EXPECT_HAS(out, (states / "epoch-3.best.safetensors").string() + ": write failed: File too large");
  EXPECT_EQ(latest_finetune_state(states.string()), state);
  EXPECT_EQ(s3rec::testing::file_bytes(state), bytes);
  const CheckpointMeta meta = read_checkpoint_meta(state);
  S3RecModel m(meta.config);
  Optimizer o(m.params(), AdamConfig{});
  EXPECT_EQ(load_finetune_state(state, m, o).epochs_done, 2);
  EXPECT_FALSE(any_temporary(states));
}

TEST_F(WriteFailures, ReadOnlyCheckpointDirectoryStopsTheRun) {
  const fs::path saved = dir_ / "saved";
  const auto before = first_checkpoint(saved);
  std::vector<std::string> argv = pretrain(saved, 3, true);
  if (::geteuid() != 0) {
    fs::permissions(saved, fs::perms::owner_read | fs::perms::owner_exec);
  } else {
    // root writes through permission bits: a read-only bind mount in a private mount
    // namespace (unshare), where user namespaces are allowed
    child::Exit probe;
    run({"unshare", "-rm", "true"}, probe);
    if (probe.code != 0) GTEST_SKIP() << "running as root without user namespaces: cannot make a directory read-only";
    argv.insert(argv.begin(), {"unshare", "-rm", "sh", "-c", "mount --bind -o ro \"$0\" \"$0\" && exec \"$@\"",
                               saved.string()});
  }
  child::Exit x;
  const std::string out = run(argv, x);
  fs::permissions(saved, fs::perms::owner_all);
  EXPECT_EQ(x.code, 1) << out;
  EXPECT_HAS(out, (saved / "S3Rec-tiny-2.safetensors.optim.safetensors").string() + ": cannot write: ");
  EXPECT_TRUE(out.find("Read-only file system") != std::string::npos ||
              out.find("Permission denied") != std::string::npos)
      << out;
  expect_first_checkpoint_intact(saved, before);
}

TEST_F(WriteFailures, DirectoriesThatCannotBeCreatedAreNamed) {
  std::ofstream(dir_ / "a-file") << "not a directory\n";
  const fs::path saved = dir_ / "a-file" / "saved";
  child::Exit x;
  std::string out = run(pretrain(saved, 1, false), x);
  EXPECT_EQ(x.code, 1) << out;
  EXPECT_HAS(out, (saved / "S3Rec-tiny-1.safetensors.optim.safetensors").string() + ": cannot write: Not a directory");
  // the results JSON of a fine-tuning run
  auto argv = finetune(1, false);
  argv.push_back("--json=" + (dir_ / "a-file" / "results.json").string());
  out = run(argv, x);
  EXPECT_EQ(x.code, 1) << out;
  EXPECT_HAS(out, (dir_ / "a-file" / "results.json").string() + ": cannot write: Not a directory");
}

TEST_F(WriteFailures, FailedRenameNamesThePathAndLeavesNoTemporary) {
  const fs::path target = dir_ / "occupied";
  fs::create_directories(target / "inside");  // a non-empty directory where the file should go
  try {
    write_file_atomic(target.string(), "contents");
    FAIL() << "renamed onto a directory";
  } catch (const std::runtime_error& e) {
    EXPECT_HAS(e.what(), target.string() + ": rename failed: ");
  }
  EXPECT_TRUE(fs::is_directory(target / "inside"));
  EXPECT_FALSE(any_temporary(dir_));
}

TEST_F(WriteFailures, LogWriteOnAFullDeviceNamesTheFile) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  JsonlWriter log("/dev/full");  // every write fails with ENOSPC
  try {
    log.write({{"epoch", 1}});
    FAIL() << "a failed log write went unnoticed";
  } catch (const std::runtime_error& e) {
    EXPECT_HAS(e.what(), "/dev/full: write failed: No space left on device");
  }
}

TEST_F(WriteFailures, StaleTemporariesOfDeadWritersAreRemoved) {
  const fs::path d = dir_ / "tmps";
  fs::create_directories(d);
  const pid_t dead = child::spawn({"true"});
  child::wait(dead);  // reaped: its pid names no process (until reused)
  const std::string stale = "a.safetensors.tmp." + std::to_string(dead);
  const std::vector<std::string> kept = {"b.tmp." + std::to_string(::getpid()), "c.tmp.notapid", "d.safetensors"};
  std::ofstream(d / stale) << "x";
  for (const std::string& name : kept) std::ofstream(d / name) << "x";
  EXPECT_EQ(remove_stale_temporaries(d.string()), 1);
  EXPECT_FALSE(fs::exists(d / stale));
  for (const std::string& name : kept) EXPECT_TRUE(fs::exists(d / name)) << name;
}
