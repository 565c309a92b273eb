// Crash consistency: `s3rec pretrain` and `s3rec finetune` are killed with SIGKILL at 20
// random moments each, resumed with --resume after every kill, and must end with files
// bit-identical to an uninterrupted run of the same seed and thread count. After every
// kill, each checkpoint file left on disk must load (complete files) or be refused with a
// clear error (temporaries of an interrupted write).
//
// Half the kills come from the process itself at a random write point of its atomic file
// writes (S3REC_TEST_KILL_AT_WRITE: inside a checkpoint write by construction); the other
// half from this test after a random delay, with every write point slowed by 1 ms
// (S3REC_TEST_WRITE_DELAY_MS) so that outside kills land inside writes too.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <functional>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "child_process.h"
#include "run_s3rec.h"
#include "s3rec/checkpoint.h"
#include "s3rec/finetune_state.h"
#include "s3rec/safetensors.h"

namespace fs = std::filesystem;
using namespace s3rec;

namespace {

constexpr int kKills = 20;

struct KillReport {
  int kills = 0, self_kills = 0, outside_kills = 0;
  int left_temporaries = 0;  // kills after which a half-written temporary file was on disk
  int launches = 0;
  int rounds = 0;  // complete runs (a run that completes before all kills were made starts again)
  int complete_files_loaded = 0, temporaries_loaded = 0, temporaries_refused = 0;
};

bool is_temporary(const fs::path& p) { return p.filename().string().find(".tmp.") != std::string::npos; }

// A temporary file loads (it was complete, killed before its rename) or is refused with
// std::runtime_error; anything else (a crash, another exception) fails the test.
void load_or_refuse(const fs::path& p, KillReport& rep) {
  try {
    read_safetensors(p.string());
    ++rep.temporaries_loaded;
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(p.string()), std::string::npos) << "refusal names the file: " << e.what();
    ++rep.temporaries_refused;
  }
}

// After a kill: each file in the directory with its final name loads, a model file in
// full with what belongs to it (load_all); temporaries load or are refused.
void check_files(const fs::path& dir, KillReport& rep, const std::function<void(const std::string&)>& load_all) {
  if (!fs::exists(dir)) return;
  for (const auto& e : fs::directory_iterator(dir)) {
    const fs::path& p = e.path();
    const std::string name = p.filename().string();
    if (is_temporary(p)) {
      load_or_refuse(p, rep);
      continue;
    }
    if (name.find(".optim.") == std::string::npos && name.find(".best.") == std::string::npos)
      EXPECT_NO_THROW(load_all(p.string())) << name;
    else
      EXPECT_NO_THROW(read_safetensors(p.string())) << name;  // its model file may not be written yet
    ++rep.complete_files_loaded;
  }
}

// A pre-training checkpoint with its optimizer state.
void load_pretrain_checkpoint(const std::string& path) {
  const CheckpointMeta meta = read_checkpoint_meta(path);
  S3RecModel m(meta.config);
  Optimizer o(m.params(), AdamConfig{});
  load_checkpoint(path, m, &o);
}

// A fine-tuning state: model, optimizer, best parameters and progress.
void load_finetune(const std::string& path) {
  const CheckpointMeta meta = read_checkpoint_meta(path);
  S3RecModel m(meta.config);
  Optimizer o(m.params(), AdamConfig{});
  load_finetune_state(path, m, o);
}

bool any_temporary(const fs::path& dir) {
  if (!fs::exists(dir)) return false;
  for (const auto& e : fs::directory_iterator(dir))
    if (is_temporary(e.path())) return true;
  return false;
}

struct KilledRun {
  std::vector<std::string> argv;                           // the command, without --resume
  fs::path watch;                                          // where its checkpoints go
  std::function<bool()> resumable;                         // --resume would find a state
  std::function<void(const std::string&)> load_all;         // a model file and what belongs to it
  std::function<void()> check_end;  // a completed run against the uninterrupted one
  fs::path run_dir;                 // removed when a run completed before all kills were made
  long writes_per_save = 0;  // write points of one checkpoint (S3REC_TEST_KILL_AT_WRITE counts them)
  double ms_per_epoch = 0;   // of the uninterrupted run, start-up included
};

// Launches the run again and again, killing it at random moments and resuming after each
// kill, until a launch completes after kKills kills. A run that completes earlier (kills
// landing late) is checked and started again from nothing.
void kill_and_resume(const KilledRun& run, const fs::path& out, uint64_t seed, KillReport& rep) {
  std::mt19937_64 rng(seed);
  for (;;) {
    ASSERT_LT(rep.launches, 200) << "no progress";  // a broken resume must not loop forever
    std::vector<std::string> argv = run.argv;
    if (run.resumable()) argv.push_back("--resume=true");
    child::Options o;
    o.output = out.string();
    o.env = {"OMP_NUM_THREADS=2"};
    const bool kill = rep.kills < kKills, self = kill && rng() % 2 == 0;
    long delay_ms = 0;
    if (self) {
      o.env.push_back("S3REC_TEST_KILL_AT_WRITE=" + std::to_string(1 + long(rng() % uint64_t(run.writes_per_save * 3 / 2))));
    } else if (kill) {
      o.env.push_back("S3REC_TEST_WRITE_DELAY_MS=1");
      const double window = 2 * run.ms_per_epoch + double(run.writes_per_save);  // ~2 epochs, slowed writes
      delay_ms = long(std::uniform_real_distribution<double>(0, window)(rng));
    }
    ++rep.launches;
    const pid_t pid = child::spawn(argv, o);
    if (kill && !self) {
      std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      ::kill(pid, SIGKILL);
    }
    const child::Exit x = child::wait(pid);
    if (!x.signaled) {
      ASSERT_EQ(x.code, 0) << s3rec::testing::file_bytes(out.string());
      ++rep.rounds;
      run.check_end();
      if (rep.kills == kKills) return;
      fs::remove_all(run.run_dir);
      continue;
    }
    ASSERT_EQ(x.signal, SIGKILL);
    ++rep.kills;
    ++(self ? rep.self_kills : rep.outside_kills);
    if (any_temporary(run.watch)) ++rep.left_temporaries;
    check_files(run.watch, rep, run.load_all);
  }
}

// Records of a JSON-lines log without their timings.
std::vector<nlohmann::json> log_records(const fs::path& p) {
  std::vector<nlohmann::json> v;
  std::ifstream in(p);
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);
    for (const char* timing : {"seconds", "train_seconds", "peak_rss_mib"}) j.erase(timing);
    v.push_back(j);
  }
  return v;
}

// Write points of one save made of these files: per file, one per tensor plus the
// length, the header and the moment before the rename.
long write_points(const std::vector<fs::path>& files) {
  long n = 0;
  for (const fs::path& f : files) n += long(StReader(f.string()).tensors().size()) + 3;
  return n;
}

class CrashResume : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("s3rec_crash_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    const child::Exit g = child::run({child::s3rec_binary(), "generate", "--output=" + (dir_ / "data").string(),
                                      "--dataset=tiny", "--users=60", "--items=120", "--clusters=4", "--max_length=12"});
    ASSERT_EQ(g.code, 0);
  }
  void TearDown() override {
    if (!HasFailure()) fs::remove_all(dir_);
  }
  std::vector<std::string> common(const std::string& cmd) const {
    return {child::s3rec_binary(), cmd, "--data_path=" + (dir_ / "data").string(), "--dataset=tiny",
            "--hidden_size=8", "--inner_size=16", "--MAX_ITEM_LIST_LENGTH=10", "--seed=11", "--save_step=1"};
  }
  // An uninterrupted run: its duration in ms
  double reference(const std::vector<std::string>& argv) {
    child::Options o;
    o.output = (dir_ / "reference.out").string();
    o.env = {"OMP_NUM_THREADS=2"};
    const auto t0 = std::chrono::steady_clock::now();
    const child::Exit x = child::run(argv, o);
    EXPECT_EQ(x.code, 0) << s3rec::testing::file_bytes(o.output);
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  }
  static void report(const char* what, const KillReport& r) {
    std::printf("[ %s ] %d kills (%d at a write point from inside, %d from outside; %d left a half-written "
                "temporary), %d launches, %d complete run(s); after the kills %d complete files loaded, "
                "temporaries: %d loaded, %d refused\n",
                what, r.kills, r.self_kills, r.outside_kills, r.left_temporaries, r.launches, r.rounds,
                r.complete_files_loaded, r.temporaries_loaded, r.temporaries_refused);
  }
  fs::path dir_;
};

}  // namespace

TEST_F(CrashResume, PretrainingKilled20TimesEndsBitIdentical) {
  const int epochs = 40;
  auto args = [&](const std::string& name) {
    auto a = common("pretrain");
    a.insert(a.end(), {"--pretrain_epochs=" + std::to_string(epochs), "--pretrain_batch_size=32",
                       "--checkpoint_dir=" + (dir_ / name / "saved").string(), "--run_dir=" + (dir_ / name).string()});
    return a;
  };
  const double ms = reference(args("ref"));
  const fs::path ref = dir_ / "ref" / "saved", got = dir_ / "killed" / "saved";
  const std::string first = "S3Rec-tiny-1.safetensors";
  KilledRun run;
  run.argv = args("killed");
  run.watch = got;
  run.resumable = [&] {
    if (!fs::exists(got)) return false;
    for (const auto& e : fs::directory_iterator(got))
      if (!is_temporary(e.path()) && fs::exists(optimizer_path(e.path().string()))) return true;
    return false;
  };
  run.load_all = load_pretrain_checkpoint;
  run.writes_per_save = write_points({ref / first, optimizer_path((ref / first).string())});
  run.ms_per_epoch = ms / epochs;
  run.run_dir = dir_ / "killed";
  run.check_end = [&] {
    // every epoch's checkpoint and optimizer state, byte for byte
    for (int e = 1; e <= epochs; ++e) {
      const std::string name = "S3Rec-tiny-" + std::to_string(e) + ".safetensors";
      EXPECT_EQ(s3rec::testing::file_bytes((got / name).string()), s3rec::testing::file_bytes((ref / name).string()))
          << name;
      EXPECT_EQ(s3rec::testing::file_bytes(optimizer_path((got / name).string())),
                s3rec::testing::file_bytes(optimizer_path((ref / name).string())))
          << name;
    }
    EXPECT_FALSE(any_temporary(got)) << "the last launch removes what killed writers left";
    const auto log = log_records(dir_ / "killed" / "log.jsonl");
    EXPECT_EQ(log, log_records(dir_ / "ref" / "log.jsonl")) << "one record per epoch, the same losses";
    EXPECT_EQ(log.size(), size_t(epochs));
  };
  KillReport rep;
  kill_and_resume(run, dir_ / "killed.out", 20240917, rep);
  if (HasFatalFailure()) return;
  report("pretrain", rep);
  EXPECT_EQ(rep.kills, kKills);
  EXPECT_GT(rep.left_temporaries, 0) << "no kill landed inside a write";
}

TEST_F(CrashResume, FineTuningKilled20TimesEndsBitIdentical) {
  auto args = [&](const std::string& name) {
    auto a = common("finetune");
    a.insert(a.end(), {"--epochs=45", "--stopping_step=8", "--train_batch_size=8", "--learning_rate=0.0005",
                       "--run_dir=" + (dir_ / name).string()});
    return a;
  };
  const double ms = reference(args("ref"));
  const auto ref_log = log_records(dir_ / "ref" / "log.jsonl");
  const int epochs = int(ref_log.size()) - 1;  // the last record is the test
  const fs::path ref = dir_ / "ref", got = dir_ / "killed";
  const std::string state = latest_finetune_state((ref / "finetune-state").string());
  ASSERT_FALSE(state.empty());
  KilledRun run;
  run.argv = args("killed");
  run.watch = got / "finetune-state";
  run.resumable = [&] { return !latest_finetune_state(run.watch.string()).empty(); };
  run.load_all = load_finetune;
  run.writes_per_save = write_points({state, optimizer_path(state), fs::path(state).replace_extension(".best.safetensors")});
  run.ms_per_epoch = ms / epochs;
  run.run_dir = got;
  run.check_end = [&] {
    const std::string model = "SASRec-tiny-finetuned.safetensors";
    EXPECT_EQ(s3rec::testing::file_bytes((got / model).string()), s3rec::testing::file_bytes((ref / model).string()));
    auto results = [](const fs::path& p) {
      auto j = nlohmann::json::parse(s3rec::testing::file_bytes(p.string()));
      j.erase("model");  // its path
      return j;
    };
    EXPECT_EQ(results(got / "results.json"), results(ref / "results.json"));
    EXPECT_EQ(log_records(got / "log.jsonl"), ref_log) << "one record per epoch, the same losses and metrics";
    EXPECT_FALSE(any_temporary(run.watch));
  };
  KillReport rep;
  kill_and_resume(run, dir_ / "killed.out", 977, rep);
  if (HasFatalFailure()) return;
  report("finetune", rep);
  std::printf("[ finetune ] %d epochs, stopped early: %s\n", epochs, epochs < 45 ? "yes" : "no");
  EXPECT_EQ(rep.kills, kKills);
  EXPECT_GT(rep.left_temporaries, 0) << "no kill landed inside a write";
  EXPECT_LT(epochs, 45) << "the case needs early stopping";
}

TEST_F(CrashResume, FineTuningResumeRefusesOtherSettingsAndMissingState) {
  auto args = common("finetune");
  args.insert(args.end(), {"--epochs=2", "--run_dir=" + (dir_ / "ft").string()});
  child::Options o;
  o.output = (dir_ / "ft.out").string();
  auto resume = args;
  resume.push_back("--resume=true");
  child::Exit x = child::run(resume, o);
  EXPECT_EQ(x.code, 1);
  EXPECT_NE(s3rec::testing::file_bytes(o.output).find("no fine-tuning state in " + (dir_ / "ft" / "finetune-state").string()),
            std::string::npos)
      << s3rec::testing::file_bytes(o.output);
  ASSERT_EQ(child::run(args, o).code, 0) << s3rec::testing::file_bytes(o.output);
  for (const std::string other : {"--seed=7", "--loss_type=BPR", "--train_batch_size=64", "--hidden_act=relu"}) {
    auto a = resume;
    a.push_back(other);
    x = child::run(a, o);
    const std::string out = s3rec::testing::file_bytes(o.output);
    EXPECT_EQ(x.code, 1) << other << out;
    EXPECT_NE(out.find("was made with " + other.substr(2, other.find('=') - 2) + "="), std::string::npos) << out;
  }
  x = child::run(resume, o);  // the same settings, a larger epoch budget is fine
  EXPECT_EQ(x.code, 0) << s3rec::testing::file_bytes(o.output);
  EXPECT_NE(s3rec::testing::file_bytes(o.output).find("resuming from"), std::string::npos);
}
