// The CLI as a RecBole user drives it: keys mean the same in YAML files and on the
// command line (which wins), RecBole's S3Rec page's configurations run as they are
// written, the fine-tuned model lands in checkpoint_dir, --help prints plain numbers.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "cli_run.h"

namespace fs = std::filesystem;
using s3rec_test::read_json;
using s3rec_test::s3rec;
using s3rec_test::Outcome;

namespace {

// A fresh directory with generated data DIR/data/NAME.* (small: the model is shrunk on the command line).
fs::path fresh_world(const std::string& tag, const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / ("s3rec_recbole_" + tag);
  fs::remove_all(dir);
  fs::create_directories(dir);
  const Outcome r = s3rec("generate --output=" + (dir / "data").string() + " --dataset=" + name +
                          " --users=60 --items=150 --clusters=4 --max_length=15");
  EXPECT_EQ(r.code, 0) << r.out;
  return dir;
}

void write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }

const std::string kSmall = " --hidden_size=16 --inner_size=32 --MAX_ITEM_LIST_LENGTH=12";

size_t count(const std::string& s, const std::string& what) {
  size_t n = 0;
  for (size_t i = s.find(what); i != std::string::npos; i = s.find(what, i + 1)) ++n;
  return n;
}

}  // namespace

TEST(CliRecBole, RunTakesTrainStageFromConfigFilesAndTheCommandLineWins) {
  const fs::path dir = fresh_world("stage", "tiny");
  const std::string data = " --data_path=" + (dir / "data").string() + " --dataset=tiny" + kSmall;
  Outcome r = s3rec("pretrain" + data + " --pretrain_epochs=1 --checkpoint_dir=" + (dir / "saved").string() +
                    " --run_dir=" + (dir / "pre").string());
  ASSERT_EQ(r.code, 0) << r.out;
  write(dir / "ft.yaml", "train_stage: finetune\npre_model_path: " + (dir / "saved" / "S3Rec-tiny-1.safetensors").string() +
                             "\nepochs: 1\nrun_dir: " + (dir / "ft").string() + "\n");
  r = s3rec("run --config_files=" + (dir / "ft.yaml").string() + data);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("initialised from"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("pretrain epoch"), std::string::npos) << "a fine-tuning, not a pre-training:\n" << r.out;
  EXPECT_TRUE(fs::exists(dir / "ft" / "results.json"));
  // the command line over the files, as in RecBole
  r = s3rec("run --config_files=" + (dir / "ft.yaml").string() + data + " --train_stage=pretrain --pretrain_epochs=1" +
            " --save_step=1 --checkpoint_dir=" + (dir / "saved2").string() + " --run_dir=" + (dir / "pre2").string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_TRUE(fs::exists(dir / "saved2" / "S3Rec-tiny-1.safetensors")) << r.out;
  // a bad stage in a file is refused, naming it
  write(dir / "bad.yaml", "train_stage: fine-tune\n");
  r = s3rec("run --config_files=" + (dir / "bad.yaml").string() + data);
  EXPECT_EQ(r.code, 1);
  EXPECT_NE(r.out.find("got 'fine-tune'"), std::string::npos) << r.out;
}

TEST(CliRecBole, FinetuneWritesTheModelInCheckpointDirAndSaysWhere) {
  const fs::path dir = fresh_world("ckpt", "tiny");
  const std::string data = " --data_path=" + (dir / "data").string() + " --dataset=tiny" + kSmall;
  const fs::path models = dir / "models";
  const Outcome r = s3rec("finetune" + data + " --epochs=1 --checkpoint_dir=" + models.string() + " --run_dir=" +
                          (dir / "ft").string());
  ASSERT_EQ(r.code, 0) << r.out;
  const fs::path model = models / "SASRec-tiny-finetuned.safetensors";
  EXPECT_TRUE(fs::exists(model));
  EXPECT_FALSE(fs::exists(dir / "ft" / "SASRec-tiny-finetuned.safetensors"));
  EXPECT_NE(r.out.find("fine-tuned model: " + model.string() + "\n"), std::string::npos) << r.out;
  EXPECT_EQ(read_json(dir / "ft" / "results.json")["model"], model.string());
}

TEST(CliRecBole, HelpPrintsNumbersAsAPersonWritesThem) {
  const Outcome r = s3rec("pretrain --help");
  ASSERT_EQ(r.code, 0);
  EXPECT_NE(r.out.find("--mask_ratio=0.2\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--layer_norm_eps=1e-12\n"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("0.20000000000000001"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("9.9999999999999998e-13"), std::string::npos) << r.out;
}

// RecBole's S3Rec page (docs/source/user_guide/model/sequential/s3rec.rst), its two
// config_dicts written as YAML files word for word, run as RecBole runs them
// (run_recbole(model='S3Rec', dataset='ml-100k', config_dict=...)), in a directory where
// ./saved/ is RecBole's checkpoint_dir. Only the data location and a small model for
// speed come from the command line.
TEST(CliRecBole, RecBoleS3RecPageConfigsRunUnchanged) {
  const fs::path dir = fresh_world("page", "ml-100k");
  write(dir / "run_pretrain.yaml", "train_stage: 'pretrain'\nsave_step: 10\n");
  write(dir / "run_finetune.yaml",
        "train_stage: 'finetune'\npre_model_path: './saved/S3Rec-ml-100k-100.pth'\nneg_sampling: None\n");
  const std::string data = " --model=S3Rec --dataset=ml-100k --data_path=data" + kSmall;

  Outcome r = s3rec("run --config_files=run_pretrain.yaml" + data, dir.string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(count(r.out, "pretrain epoch"), 100u) << "s3rec's 100 pre-training epochs";
  for (int e = 10; e <= 100; e += 10)  // saved every save_step epochs, named as the page says
    EXPECT_TRUE(fs::exists(dir / "saved" / ("S3Rec-ml-100k-" + std::to_string(e) + ".safetensors"))) << e;

  r = s3rec("run --config_files=run_finetune.yaml" + data + " --epochs=2", dir.string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(r.out.find("pretrain epoch"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("initialised from ./saved/S3Rec-ml-100k-100.safetensors"), std::string::npos) << r.out;
  std::ifstream cfg(dir / "runs" / "finetune-ml-100k" / "config.yaml");
  const std::string text((std::istreambuf_iterator<char>(cfg)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("loss_type: CE\n"), std::string::npos) << "neg_sampling None is the CE loss:\n" << text;
  EXPECT_NE(text.find("neg_sampling: None\n"), std::string::npos) << text;
  EXPECT_TRUE(read_json(dir / "runs" / "finetune-ml-100k" / "results.json")["test"]["MRR"].is_number());

  // and RecBole's evaluation settings for sequential models, with its metrics
  write(dir / "eval.yaml",
        "eval_args:\n  split: {'LS': 'valid_and_test'}\n  order: TO\n  group_by: user\n  mode: full\n"
        "metrics: ['Recall', 'MRR', 'NDCG', 'Hit', 'Precision', 'MAP']\ntopk: [10]\nvalid_metric: MRR@10\n");
  r = s3rec("run --config_files=run_finetune.yaml,eval.yaml" + data + " --epochs=1 --json=full.json", dir.string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("valid MRR@10"), std::string::npos) << r.out;
  const auto full = read_json(dir / "full.json");
  std::vector<std::string> names;
  for (const auto& [k, v] : full["test"].items()) names.push_back(k);
  EXPECT_EQ(names, (std::vector<std::string>{"Recall@10", "MRR@10", "NDCG@10", "HR@10", "Precision@10", "MAP@10"}));
}

// The page's hyper.test, word for word, through `s3rec tune` (RecBole's run_hyper.py), with
// RecBole's valid_metric: the trials are ranked on it.
TEST(CliRecBole, RecBoleS3RecPageHyperTestTunesOnValidMetric) {
  const fs::path dir = fresh_world("hyper", "ml-100k");
  write(dir / "hyper.test", "pretrain_epochs choice [50, 100, 150]\n");
  write(dir / "run.yaml", "valid_metric: NDCG@5\nneg_sampling: None\n");
  const Outcome r = s3rec("tune --model=S3Rec --dataset=ml-100k --data_path=data --config_files=run.yaml"
                          " --params_file=hyper.test --epochs=2 --tune_dir=t" + kSmall,
                          dir.string());
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("selection metric valid NDCG@5"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("Sorted by validation NDCG@5"), std::string::npos) << r.out;
  std::ifstream in(dir / "t" / "results.jsonl");
  std::vector<nlohmann::json> rows;
  for (std::string line; std::getline(in, line);) rows.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(rows.size(), 3u);
  for (size_t i = 1; i < rows.size(); ++i)
    EXPECT_GE(rows[i - 1]["valid"]["NDCG@5"].get<double>(), rows[i]["valid"]["NDCG@5"].get<double>());
}
