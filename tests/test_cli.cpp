// The s3rec binary as a user runs it: --help everywhere, errors with exit codes,
// and a whole generate -> pretrain -> resume -> finetune -> evaluate run whose
// run directory, JSON-lines log, checkpoints and result files are checked.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <vector>

#include "cli_run.h"

namespace fs = std::filesystem;
using s3rec_test::read_json;
using s3rec_test::s3rec;
using s3rec_test::Outcome;

namespace {

std::string help_run(const std::string& cmd) {
  const std::string full = std::string(S3REC_BINARY_DIR) + "/s3rec " + cmd + " --help 2>&1";
  std::string out;
  FILE* p = popen(full.c_str(), "r");
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  EXPECT_EQ(pclose(p), 0) << cmd;
  return out;
}

std::vector<nlohmann::json> read_jsonl(const fs::path& p) {
  std::vector<nlohmann::json> v;
  std::ifstream in(p);
  std::string line;
  while (std::getline(in, line)) v.push_back(nlohmann::json::parse(line));
  return v;
}

std::vector<std::string> keys(const nlohmann::ordered_json& j) {
  std::vector<std::string> k;
  for (const auto& [key, v] : j.items()) k.push_back(key);
  return k;
}

}  // namespace

TEST(Cli, EveryCommandHasHelp) {
  for (const std::string cmd : {"pretrain", "finetune", "evaluate", "run", "generate"}) {
    const std::string out = help_run(cmd);
    EXPECT_NE(out.find("usage: s3rec " + cmd), std::string::npos) << out;
  }
  EXPECT_NE(help_run("").find("commands:"), std::string::npos);
  // the configuration commands list the keys they accept
  EXPECT_NE(help_run("pretrain").find("mask_ratio"), std::string::npos);
}

TEST(Cli, ErrorsExitNonZeroAndSayWhy) {
  Outcome r = s3rec("bogus");
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.out.find("unknown command"), std::string::npos) << r.out;
  r = s3rec("finetune --hiden_size=16");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("hidden_size"), std::string::npos) << r.out;
  r = s3rec("finetune --data_path=/nonexistent --dataset=none");
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("none"), std::string::npos) << r.out;

  const fs::path dir = fs::temp_directory_path() / "s3rec_cli_bad";
  fs::create_directories(dir);
  std::ofstream(dir / "bad.txt") << "1 1 2 3\n2 4 x 6\n";
  r = s3rec("finetune --data_path=" + dir.string() + " --dataset=bad --run_dir=" + (dir / "run").string());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("bad.txt:2:"), std::string::npos) << r.out;
}

TEST(Cli, WholeRunWritesRunDirectoryLogsCheckpointsAndResults) {
  const fs::path dir = fs::temp_directory_path() / "s3rec_cli_run";
  fs::remove_all(dir);
  const std::string data = "--data_path=" + (dir / "data").string() + " --dataset=tiny";
  const std::string small = " --hidden_size=16 --inner_size=32 --MAX_ITEM_LIST_LENGTH=12";
  Outcome r = s3rec("generate --output=" + (dir / "data").string() + " --dataset=tiny --users=150 --items=150 --clusters=4");
  ASSERT_EQ(r.code, 0) << r.out;
  ASSERT_TRUE(fs::exists(dir / "data" / "tiny_sample.txt"));

  // pre-training: 2 epochs, a checkpoint each, then resumed to 3
  const std::string pre = "pretrain " + data + small + " --save_step=1 --checkpoint_dir=" + (dir / "saved").string() +
                          " --run_dir=" + (dir / "pre").string();
  r = s3rec(pre + " --pretrain_epochs=2");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out.find('\r'), std::string::npos) << "no bar redraws when not on a terminal";
  EXPECT_NE(r.out.find("pretrain epoch 1:"), std::string::npos) << r.out;
  for (const char* f : {"S3Rec-tiny-1.safetensors", "S3Rec-tiny-2.safetensors"}) EXPECT_TRUE(fs::exists(dir / "saved" / f));
  // a resume with other settings is refused, naming the setting, and writes nothing
  for (const std::string other : {" --seed=7", " --mask_ratio=0.3", " --hidden_act=relu", " --pretrain_batch_size=64"}) {
    r = s3rec(pre + " --pretrain_epochs=3 --resume=true" + other);
    EXPECT_EQ(r.code, 1) << other << r.out;
    const std::string key = other.substr(3, other.find('=') - 3);
    EXPECT_NE(r.out.find("was made with " + key + "="), std::string::npos) << r.out;
    EXPECT_FALSE(fs::exists(dir / "saved" / "S3Rec-tiny-3.safetensors"));
  }
  r = s3rec(pre + " --pretrain_epochs=3 --resume=true");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("resuming from"), std::string::npos) << r.out;
  EXPECT_TRUE(fs::exists(dir / "saved" / "S3Rec-tiny-3.safetensors"));
  const auto log = read_jsonl(dir / "pre" / "log.jsonl");
  ASSERT_EQ(log.size(), 3u);
  for (int e = 0; e < 3; ++e) {
    EXPECT_EQ(log[e]["epoch"], e + 1);
    for (const char* k : {"aap", "mip", "map", "sp", "joint", "seconds"}) EXPECT_TRUE(log[e][k].is_number()) << k;
  }
  std::ifstream cfg(dir / "pre" / "config.yaml");
  std::stringstream cfg_text;
  cfg_text << cfg.rdbuf();
  EXPECT_NE(cfg_text.str().find("hidden_size: 16"), std::string::npos) << cfg_text.str();

  // fine-tuning from the checkpoint, through RecBole's `run` spelling
  r = s3rec("run --train_stage=finetune " + data + small + " --epochs=2 --pre_model_path=" +
            (dir / "saved" / "S3Rec-tiny-3.safetensors").string() + " --run_dir=" + (dir / "ft").string() +
            " --json=" + (dir / "ft.json").string());
  ASSERT_EQ(r.code, 0) << r.out;
  const auto ft = read_json(dir / "ft.json");
  const std::vector<std::string> sampled = {"HR@1", "HR@5", "NDCG@5", "HR@10", "NDCG@10", "MRR"};
  EXPECT_EQ(keys(ft), (std::vector<std::string>{"valid", "test"}));
  EXPECT_EQ(keys(ft["test"]), sampled);
  const auto ftlog = read_jsonl(dir / "ft" / "log.jsonl");
  ASSERT_EQ(ftlog.size(), 3u);  // two epochs and the test record
  EXPECT_TRUE(ftlog[0]["valid"]["MRR"].is_number());
  EXPECT_EQ(ftlog[2]["stage"], "test");
  const fs::path model = dir / "ft" / "S3Rec-tiny-finetuned.safetensors";
  ASSERT_TRUE(fs::exists(model));

  // evaluation of the saved model in both protocols agrees with the fine-tuning result
  r = s3rec("evaluate " + data + small + " --model_path=" + model.string() + " --json=" + (dir / "ev.json").string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(read_json(dir / "ev.json")["test"], ft["test"]);
  r = s3rec("evaluate " + data + small + " --eval_mode=full --model_path=" + model.string() +
            " --json=" + (dir / "full.json").string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(keys(read_json(dir / "full.json")["test"]),
            (std::vector<std::string>{"HR@5", "NDCG@5", "HR@10", "NDCG@10", "HR@20", "NDCG@20", "MRR"}));

  // a checkpoint of another architecture is refused
  r = s3rec("finetune " + data + " --epochs=1 --hidden_size=32 --run_dir=" + (dir / "ft32").string() +
            " --pre_model_path=" + (dir / "saved" / "S3Rec-tiny-3.safetensors").string());
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("hidden_size"), std::string::npos) << r.out;
}
