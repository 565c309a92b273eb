#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "s3rec/checkpoint.h"
#include "s3rec/safetensors.h"
#include "s3rec/synthetic.h"
#include "s3rec/training.h"

using namespace s3rec;
namespace fs = std::filesystem;

namespace {

ModelConfig small() {
  ModelConfig c;
  c.hidden_size = 8;
  c.inner_size = 16;
  c.n_items = 20;
  c.n_attributes = 5;
  c.max_seq_length = 7;
  return c;
}

std::string tmp(const std::string& name) {
  const auto d = fs::temp_directory_path() / "s3rec_ckpt_test";
  fs::create_directories(d);
  return (d / name).string();
}

}  // namespace

TEST(Checkpoint, RoundTripIsBitwiseAndKeepsReferenceNames) {
  S3RecModel a(small());
  a.init_weights(11);
  Optimizer opt(a.params(), AdamConfig{});
  a.params().grads().assign(a.params().dense_total(), 0.5f);
  opt.step();
  const std::string p = tmp("rt.safetensors");
  EXPECT_THROW(save_checkpoint(p, a, {}, &opt), std::logic_error) << "item rows with pending steps";
  opt.catch_up_all();
  save_checkpoint(p, a, {{"dataset", "x"}, {"epoch", "3"}}, &opt);
  S3RecModel b(small());
  Optimizer opt2(b.params(), AdamConfig{});
  load_checkpoint(p, b, &opt2);
  EXPECT_EQ(a.params().values(), b.params().values());
  EXPECT_EQ(opt.exp_avg(), opt2.exp_avg());
  EXPECT_EQ(opt.exp_avg_sq(), opt2.exp_avg_sq());
  EXPECT_EQ(opt2.steps(), 1);
  const CheckpointMeta meta = read_checkpoint_meta(p);
  EXPECT_EQ(meta.extra.at("epoch"), "3");
  EXPECT_EQ(meta.config.n_items, 20);
  const StFile f = read_safetensors(p);
  for (const char* n : {"item_embeddings.weight", "attribute_embeddings.weight", "position_embeddings.weight",
                        "LayerNorm.weight", "item_encoder.layer.0.attention.query.weight",
                        "item_encoder.layer.1.intermediate.dense_2.bias", "aap_norm.weight", "sp_norm.bias"})
    EXPECT_TRUE(f.tensors.count(n)) << n;
  EXPECT_EQ(f.tensors.at("item_embeddings.weight").shape, (std::vector<int64_t>{22, 8}));
  EXPECT_EQ(f.tensors.at("item_encoder.layer.0.intermediate.dense_1.weight").shape, (std::vector<int64_t>{16, 8}));
  for (const auto& e : fs::directory_iterator(fs::path(p).parent_path()))
    EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos) << "temporary file left behind";
}

TEST(Checkpoint, MismatchedArchitectureIsRefused) {
  S3RecModel a(small());
  const std::string p = tmp("mm.safetensors");
  save_checkpoint(p, a, {});
  ModelConfig c = small();
  c.n_items = 21;
  S3RecModel b(c);
  try {
    load_checkpoint(p, b);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("n_items is 20 in the checkpoint but 21"), std::string::npos) << e.what();
  }
}

TEST(Checkpoint, TruncatedOrCorruptFilesFailClearly) {
  S3RecModel a(small());
  const std::string p = tmp("good.safetensors");
  save_checkpoint(p, a, {});
  std::ifstream in(p, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), {});
  for (size_t cut : {size_t(0), size_t(5), size_t(20), bytes.size() / 2, bytes.size() - 1}) {
    const std::string q = tmp("cut.safetensors");
    std::ofstream(q, std::ios::binary).write(bytes.data(), long(cut));
    S3RecModel b(small());
    EXPECT_THROW(load_checkpoint(q, b), std::runtime_error) << "cut at " << cut;
  }
  std::string bad = bytes;
  bad[12] = '#';  // inside the JSON header
  const std::string q = tmp("corrupt.safetensors");
  std::ofstream(q, std::ios::binary) << bad;
  S3RecModel b(small());
  try {
    load_checkpoint(q, b);
    FAIL();
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(q), std::string::npos) << "names the file: " << e.what();
  }
  EXPECT_THROW(load_checkpoint(tmp("missing.safetensors"), b), std::runtime_error);
}

// Pre-training 2 epochs in one go equals 1 epoch, save, load into a fresh model and
// optimizer, then the 2nd epoch (what --resume does): bit for bit.
TEST(Checkpoint, ResumedPretrainingMatchesUninterrupted) {
  SyntheticOptions so;
  so.users = 60;
  so.items = 120;
  so.clusters = 4;
  so.max_length = 10;
  const Dataset d = make_synthetic(so);
  ModelConfig c = small();
  c.n_items = d.n_items;
  c.n_attributes = d.n_attributes;
  PretrainOptions po;
  po.epochs = 2;
  po.batch_size = 32;

  S3RecModel straight(c);
  straight.init_weights(5);
  Optimizer a1(straight.params(), AdamConfig{});
  pretrain(straight, a1, d, po, {}, {});

  S3RecModel first(c);
  first.init_weights(5);
  Optimizer a2(first.params(), AdamConfig{});
  po.epochs = 1;
  pretrain(first, a2, d, po, {}, {});
  const std::string p = tmp("resume.safetensors");
  save_checkpoint(p, first, {{"epoch", "1"}}, &a2);
  EXPECT_NE(first.params().values(), straight.params().values());

  S3RecModel resumed(c);
  resumed.init_weights(99);  // overwritten by the checkpoint
  Optimizer a3(resumed.params(), AdamConfig{});
  load_checkpoint(p, resumed, &a3);
  po.epochs = 2;
  po.start_epoch = 1;
  pretrain(resumed, a3, d, po, {}, {});
  EXPECT_EQ(resumed.params().values(), straight.params().values());
  EXPECT_EQ(a3.steps(), a1.steps());
}
