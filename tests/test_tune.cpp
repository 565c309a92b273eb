// `s3rec tune`: the params-file parser and its errors, trial generation, the sharing of
// pre-training runs, and a whole search on tiny data through the binary.
#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "s3rec/checkpoint.h"
#include "s3rec/config.h"
#include "s3rec/dataset.h"
#include "s3rec/tune.h"
#include "run_s3rec.h"

using namespace s3rec;
using namespace s3rec::testing;
namespace fs = std::filesystem;

TEST(Tune, ParsesEveryKind) {
  const auto space = parse_search_space_text(
      "# comment\n"
      "pretrain_epochs choice [50, 100, 150]\n"
      "\n"
      "loss_type choice ['BCE', \"BPR\"]   # trailing comment\n"
      "learning_rate loguniform -8, 0\n"
      "mask_ratio uniform 0.1 0.5\n"
      "hidden_size quniform 32, 128, 32\n",
      "p.txt");
  ASSERT_EQ(space.size(), 5u);
  EXPECT_EQ(space[0].choices, (std::vector<std::string>{"50", "100", "150"}));
  EXPECT_EQ(space[1].choices, (std::vector<std::string>{"BCE", "BPR"}));
  EXPECT_EQ(space[2].kind, SearchParam::Kind::LogUniform);
  EXPECT_EQ(space[2].lo, -8);
  EXPECT_EQ(space[3].hi, 0.5);
  EXPECT_EQ(space[4].q, 32);
}

TEST(Tune, ParamsFileErrorsNameTheLine) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"hiden_size choice [1]\n", "unknown configuration key"},
      {"\nloss_type pick [BCE]\n", "unknown kind"},
      {"loss_type choice []\n", "non-empty list"},
      {"loss_type choice [BCE\n", "non-empty list"},
      {"mask_ratio uniform 0.1\n", "needs 2 numbers"},
      {"mask_ratio uniform 0.5 0.1\n", "lo must not exceed hi"},
      {"hidden_size quniform 32 128 0\n", "q must be positive"},
      {"mask_ratio uniform a b\n", "needs 2 numbers"},
      {"epochs choice [1]\nepochs choice [2]\n", "given twice"},
      {"# nothing\n", "no parameters"},
  };
  for (const auto& [text, want] : bad) {
    try {
      parse_search_space_text(text, "p.txt");
      ADD_FAILURE() << "accepted: " << text;
    } catch (const DataError& e) {
      EXPECT_NE(std::string(e.what()).find(want), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("p.txt:"), std::string::npos) << e.what();
    }
  }
  try {
    parse_search_space_text("\nloss_type pick [BCE]\n", "p.txt");
    ADD_FAILURE() << "accepted an unknown kind";
  } catch (const DataError& e) {
    EXPECT_EQ(e.line(), 2);
  }
}

TEST(Tune, ExhaustiveAndRandomTrials) {
  const auto grid = parse_search_space_text("epochs choice [1, 2]\nloss_type choice [BCE, BPR, CE]\n", "g");
  const auto all = exhaustive_trials(grid, 100);
  ASSERT_EQ(all.size(), 6u);
  EXPECT_EQ(all[0], (Trial{{"epochs", "1"}, {"loss_type", "BCE"}}));
  EXPECT_EQ(all[1], (Trial{{"epochs", "1"}, {"loss_type", "BPR"}}));
  EXPECT_EQ(all[5], (Trial{{"epochs", "2"}, {"loss_type", "CE"}}));
  EXPECT_EQ(exhaustive_trials(grid, 4).size(), 4u);
  const auto cont = parse_search_space_text("learning_rate loguniform -8 0\nhidden_size quniform 32 128 32\n", "c");
  EXPECT_THROW(exhaustive_trials(cont, 10), std::invalid_argument);
  const auto r1 = random_trials(cont, 30, 7);
  EXPECT_EQ(r1, random_trials(cont, 30, 7));  // seeded
  EXPECT_NE(r1, random_trials(cont, 30, 8));
  for (const Trial& t : r1) {
    const double lr = std::stod(t[0].second), hs = std::stod(t[1].second);
    EXPECT_GE(lr, std::exp(-8.0) * 0.9999);
    EXPECT_LE(lr, 1.0);
    EXPECT_EQ(std::fmod(hs, 32.0), 0.0) << hs;
    EXPECT_GE(hs, 32);
    EXPECT_LE(hs, 128);
  }
  // uniform: lo + u (hi - lo), spread over the whole range, not rounded to a grid
  const auto uni = parse_search_space_text("mask_ratio uniform 0.1, 0.5\n", "u");
  const auto ru = random_trials(uni, 40, 3);
  ASSERT_EQ(ru.size(), 40u);
  double lo = 1, hi = 0;
  std::set<std::string> distinct;
  for (const Trial& t : ru) {
    ASSERT_EQ(t.size(), 1u);
    EXPECT_EQ(t[0].first, "mask_ratio");
    const double v = std::stod(t[0].second);
    EXPECT_GE(v, 0.1);
    EXPECT_LE(v, 0.5);
    lo = std::min(lo, v);
    hi = std::max(hi, v);
    distinct.insert(t[0].second);
  }
  EXPECT_LT(lo, 0.15) << "40 uniform draws reach the bottom tenth of [0.1, 0.5]";
  EXPECT_GT(hi, 0.45) << "and the top tenth";
  EXPECT_EQ(distinct.size(), 40u);
  // a grid smaller than max_trials: repeats are dropped
  EXPECT_EQ(random_trials(grid, 50, 1).size(), 6u);
}

TEST(Tune, PretrainingIsSharedAcrossFineTuningKeys) {
  const Trial a = {{"pretrain_epochs", "50"}, {"loss_type", "BCE"}, {"mask_ratio", "0.2"}};
  const Trial b = {{"pretrain_epochs", "100"}, {"loss_type", "CE"}, {"mask_ratio", "0.2"}};
  const Trial c = {{"pretrain_epochs", "50"}, {"loss_type", "BCE"}, {"mask_ratio", "0.3"}};
  EXPECT_EQ(pretrain_signature(a), pretrain_signature(b));
  EXPECT_NE(pretrain_signature(a), pretrain_signature(c));
  EXPECT_TRUE(is_finetune_key("train_batch_size"));
  EXPECT_FALSE(is_finetune_key("learning_rate"));  // one learning rate serves both stages
  EXPECT_FALSE(is_finetune_key("train_fraction"));  // it reduces the pre-training data too
  for (const auto& k : {"loss_type", "train_batch_size", "epochs", "stopping_step", "eval_mode", "train_fraction"}) {
    const auto keys = config_keys();
    EXPECT_NE(std::find(keys.begin(), keys.end(), k), keys.end()) << k;
  }
}

TEST(Tune, SearchOnTinyDataSharesOnePretrainingAndRanksTrials) {
  const fs::path dir = fs::temp_directory_path() / "s3rec_tune_test";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "params.txt") << "pretrain_epochs choice [1, 2]\nloss_type choice ['BCE', 'BPR']\n";
  const std::string data = (dir / "data").string();
  ASSERT_EQ(s3rec_run("generate --output=" + data + " --users=120 --items=150 --clusters=4", dir / "gen.txt").code, 0);
  const std::string tune = "tune --params_file=" + (dir / "params.txt").string() + " --data_path=" + data +
                           " --dataset=synthetic --hidden_size=16 --inner_size=32 --epochs=2 --tune_dir=" +
                           (dir / "t").string();
  Outcome r = s3rec_run(tune, dir / "out.txt");
  ASSERT_EQ(r.code, 0) << r.out;
  int pre_dirs = 0, trial_dirs = 0;
  for (const auto& e : fs::directory_iterator(dir / "t")) {
    const std::string n = e.path().filename().string();
    pre_dirs += n.rfind("pretrain-", 0) == 0;
    trial_dirs += n.rfind("trial-", 0) == 0;
  }
  EXPECT_EQ(pre_dirs, 1);
  EXPECT_EQ(trial_dirs, 4);
  EXPECT_TRUE(fs::exists(dir / "t" / "pretrain-0" / "S3Rec-synthetic-1.safetensors"));
  EXPECT_TRUE(fs::exists(dir / "t" / "pretrain-0" / "S3Rec-synthetic-2.safetensors"));
  std::ifstream in(dir / "t" / "results.jsonl");
  std::vector<nlohmann::json> rows;
  for (std::string line; std::getline(in, line);) rows.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(rows.size(), 4u);
  std::vector<int> seen;
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i]["rank"], i + 1);
    seen.push_back(rows[i]["trial"]);
    if (i > 0) {
      EXPECT_GE(rows[i - 1]["valid"]["MRR"].get<double>(), rows[i]["valid"]["MRR"].get<double>());
    }
    EXPECT_TRUE(rows[i]["test"].contains("NDCG@10"));
    // each trial's recorded validation MRR is its fine-tuning run's own
    std::ifstream r(rows[i]["run_dir"].get<std::string>() + "/results.json");
    EXPECT_EQ(nlohmann::json::parse(r)["valid"]["MRR"], rows[i]["valid"]["MRR"]);
  }
  std::sort(seen.begin(), seen.end());
  EXPECT_EQ(seen, (std::vector<int>{1, 2, 3, 4}));
  // best.yaml is the best trial's configuration and loads again
  const RunConfig best = load_run_config({(dir / "t" / "best.yaml").string()}, {});
  EXPECT_EQ(std::to_string(best.pretrain_epochs), rows[0]["params"]["pretrain_epochs"].get<std::string>());
  EXPECT_EQ(best.loss_type, rows[0]["params"]["loss_type"].get<std::string>());
  EXPECT_EQ(best.hidden_size, 16);
  // each trial fine-tuned from its own epoch of the shared pre-training
  const fs::path pre = dir / "t" / "pretrain-0";
  for (const auto& row : rows) {
    const RunConfig tc = load_run_config({row["run_dir"].get<std::string>() + "/config.yaml"}, {});
    const std::string want =
        (pre / ("S3Rec-synthetic-" + row["params"]["pretrain_epochs"].get<std::string>() + ".safetensors")).string();
    EXPECT_EQ(tc.pre_model_path, want);
    EXPECT_NE(r.out.find("initialised from " + want), std::string::npos);
  }

  // run again (trial 1 only): the pre-training is reused, and it is the one loaded: the
  // checkpoint is untouched and the (deterministic) fine-tuning gives the same metrics
  const fs::path pre1 = pre / "S3Rec-synthetic-1.safetensors";
  const std::string pre1_bytes = file_bytes(pre1);
  const nlohmann::json trial1 = read_json(dir / "t" / "trial-1" / "results.json");
  r = s3rec_run(tune + " --max_trials=1", dir / "out2.txt");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("reused"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("tune: pre-training"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("initialised from " + pre1.string()), std::string::npos) << r.out;
  EXPECT_TRUE(file_bytes(pre1) == pre1_bytes) << "the reused checkpoint was rewritten";
  EXPECT_EQ(read_json(dir / "t" / "trial-1" / "results.json"), trial1);

  // a search with other pre-training settings does not reuse it: the checkpoints of the old
  // settings are removed and the pre-training is redone with the new ones
  for (const std::string other : {"--mask_ratio=0.3", "--hidden_act=relu"}) {
    const std::string key = other.substr(2, other.find('=') - 2);
    r = s3rec_run(tune + " --max_trials=1 " + other, dir / "out3.txt");
    ASSERT_EQ(r.code, 0) << r.out;
    EXPECT_NE(r.out.find("was made with " + key + "="), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("tune: pre-training"), std::string::npos) << r.out;
    EXPECT_TRUE(file_bytes(pre1) != pre1_bytes) << other << ": the checkpoint of the old settings is still there";
    EXPECT_FALSE(fs::exists(pre / "S3Rec-synthetic-2.safetensors")) << "a checkpoint of the old settings is left";
  }
  // an unreadable checkpoint (a run killed mid-write) is not reused either
  std::ofstream(pre1, std::ios::binary) << "not a checkpoint";
  r = s3rec_run(tune + " --max_trials=1 --hidden_act=relu", dir / "out4.txt");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("is not reused (" + pre1.string()), std::string::npos) << r.out;
  const CheckpointMeta meta = read_checkpoint_meta(pre1.string());
  EXPECT_DOUBLE_EQ(std::stod(meta.extra.at("mask_ratio")), 0.2);
  EXPECT_EQ(meta.config.hidden_act, Activation::Relu);
  EXPECT_NE(read_json(dir / "t" / "trial-1" / "results.json"), trial1);
}

TEST(Tune, RefusesToRankTrialsEvaluatedWithDifferentProtocols) {
  const fs::path dir = fs::temp_directory_path() / "s3rec_tune_protocols";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "params.txt") << "eval_mode choice [sampled, full]\nloss_type choice [BCE]\n";
  const Outcome r = s3rec_run("tune --params_file=" + (dir / "params.txt").string() + " --data_path=" +
                              (dir / "nowhere").string() + " --dataset=synthetic --tune_dir=" + (dir / "t").string(),
                          dir / "out.txt");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("different protocols (eval_mode sampled and full)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("run one search per eval_mode"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(dir / "t" / "pretrain-0")) << "refused before any training";
}

TEST(Tune, RefusesToRankTrialsSelectedOnDifferentMetrics) {
  const fs::path dir = fs::temp_directory_path() / "s3rec_tune_valid_metrics";
  fs::remove_all(dir);
  fs::create_directories(dir);
  std::ofstream(dir / "params.txt") << "valid_metric choice [MRR, NDCG@10]\n";
  const Outcome r = s3rec_run("tune --params_file=" + (dir / "params.txt").string() + " --data_path=" +
                              (dir / "nowhere").string() + " --dataset=synthetic --tune_dir=" + (dir / "t").string(),
                          dir / "out.txt");
  EXPECT_EQ(r.code, 1) << r.out;
  EXPECT_NE(r.out.find("different metrics (valid_metric MRR and NDCG@10)"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(dir / "t" / "pretrain-0")) << "refused before any training";
}
