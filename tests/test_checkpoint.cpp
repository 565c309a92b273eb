#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

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

// safetensors headers are capped at 100 MiB (by its readers, and by ours): a writer that
// exceeded it made a 10M-item model nobody could load, reported as "exceeds the file".
TEST(Checkpoint, HeadersBeyondTheFormatsLimitAreNeitherWrittenNorMisreported) {
  S3RecModel a(small());
  const std::string p = tmp("big_header.safetensors");
  std::filesystem::remove(p);
  try {
    save_checkpoint(p, a, {{"note", std::string(size_t(101) << 20, 'x')}});
    FAIL() << "written";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(p + ": header of "), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("exceeds the format's limit of 100 MiB"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(std::filesystem::exists(p));
  // a file claiming a 150 MiB header in 200 MiB (sparse): the limit is named, not the size
  {
    std::ofstream out(p, std::ios::binary);
    const uint64_t n = uint64_t(150) << 20;
    for (int i = 0; i < 8; ++i) out.put(char((n >> (8 * i)) & 0xFF));
  }
  std::filesystem::resize_file(p, uint64_t(200) << 20);
  S3RecModel b(small());
  try {
    load_checkpoint(p, b);
    FAIL() << "loaded";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(p + ": header of 157286400 bytes exceeds the format's limit of 100 MiB"),
              std::string::npos)
        << e.what();
  }
  std::filesystem::remove(p);
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

// Checkpoints that must be refused with an error naming the file and the problem: a
// tensor of the wrong dtype or shape, a missing tensor, tensors whose data overlap, a
// corrupt or mismatched optimizer file, a missing `steps` entry.
namespace {

// A checkpoint with optimizer state after one step.
std::string good_checkpoint(const std::string& name) {
  S3RecModel m(small());
  m.init_weights(3);
  Optimizer o(m.params(), AdamConfig{});
  m.params().grads().assign(m.params().dense_total(), 0.25f);
  o.step();
  o.catch_up_all();
  const std::string p = tmp(name);
  save_checkpoint(p, m, {{"epoch", "1"}}, &o);
  return p;
}

// load_checkpoint's error for path (with an optimizer when with_optim); "" when it loads.
std::string load_error(const std::string& path, bool with_optim = false) {
  S3RecModel m(small());
  Optimizer o(m.params(), AdamConfig{});
  try {
    load_checkpoint(path, m, with_optim ? &o : nullptr);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

#define EXPECT_HAS(text, part) EXPECT_NE(std::string(text).find(part), std::string::npos) << (text)

// The file at path rewritten with f's tensors and metadata changed by edit.
void rewrite(const std::string& path, const std::function<void(StFile&)>& edit) {
  StFile f = read_safetensors(path);
  edit(f);
  write_safetensors(path, f);
}

}  // namespace

TEST(CheckpointErrors, WrongDtypeIsRefusedNamingTensorAndFile) {
  const std::string p = good_checkpoint("dtype.safetensors");
  ASSERT_EQ(load_error(p), "");
  rewrite(p, [](StFile& f) { f.tensors.at("LayerNorm.weight").dtype = "I32"; });  // same bytes, read as integers
  const std::string e = load_error(p);
  EXPECT_HAS(e, p);
  EXPECT_HAS(e, "LayerNorm.weight has dtype I32");
  EXPECT_HAS(e, "expected F32 [8]");
}

TEST(CheckpointErrors, WrongShapeIsRefusedNamingTensorAndFile) {
  const std::string p = good_checkpoint("shape.safetensors");
  rewrite(p, [](StFile& f) { f.tensors.at("item_embeddings.weight").shape = {8, 22}; });  // transposed, same size
  const std::string e = load_error(p);
  EXPECT_HAS(e, p);
  EXPECT_HAS(e, "item_embeddings.weight has dtype F32 and shape [8, 22], expected F32 [22, 8]");
}

TEST(CheckpointErrors, MissingTensorIsRefused) {
  const std::string p = good_checkpoint("missing.safetensors");
  rewrite(p, [](StFile& f) { f.tensors.erase("item_encoder.layer.1.intermediate.dense_2.bias"); });
  const std::string e = load_error(p);
  EXPECT_HAS(e, p);
  EXPECT_HAS(e, "tensor item_encoder.layer.1.intermediate.dense_2.bias is missing");
}

TEST(CheckpointErrors, OverlappingTensorDataIsRefused) {
  // two tensors whose data offsets share bytes: a hand-written header (write_safetensors
  // never produces one)
  const nlohmann::json header = {{"a", {{"dtype", "F32"}, {"shape", {4}}, {"data_offsets", {0, 16}}}},
                                 {"b", {{"dtype", "F32"}, {"shape", {4}}, {"data_offsets", {8, 24}}}}};
  std::string h = header.dump();
  while (h.size() % 8) h += ' ';
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[size_t(i)] = char((h.size() >> (8 * i)) & 0xFF);
  bytes += h + std::string(24, '\1');
  const std::string p = tmp("overlap.safetensors");
  std::ofstream(p, std::ios::binary) << bytes;
  try {
    read_safetensors(p);
    FAIL() << "overlapping tensors were accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_HAS(e.what(), p);
    EXPECT_HAS(e.what(), "overlapping tensors");
  }
  // the same layout without the overlap loads
  const nlohmann::json apart = {{"a", {{"dtype", "F32"}, {"shape", {4}}, {"data_offsets", {0, 16}}}},
                                {"b", {{"dtype", "F32"}, {"shape", {2}}, {"data_offsets", {16, 24}}}}};
  h = apart.dump();
  while (h.size() % 8) h += ' ';
  for (int i = 0; i < 8; ++i) bytes[size_t(i)] = char((h.size() >> (8 * i)) & 0xFF);
  std::ofstream(p, std::ios::binary) << bytes.substr(0, 8) + h + std::string(24, '\1');
  EXPECT_EQ(read_safetensors(p).tensors.size(), 2u);
}

TEST(CheckpointErrors, CorruptOptimizerFileIsRefusedNamingIt) {
  const std::string p = good_checkpoint("optim.safetensors");
  const std::string op = optimizer_path(p);
  ASSERT_EQ(load_error(p, true), "");
  const std::string bytes = [&] {
    std::ifstream in(op, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), {});
  }();
  // truncated in its data, and garbage in its header
  std::ofstream(op, std::ios::binary) << bytes.substr(0, bytes.size() - 10);
  std::string e = load_error(p, true);
  EXPECT_HAS(e, op);
  std::string bad = bytes;
  bad[8] = '#';  // the header's opening brace
  std::ofstream(op, std::ios::binary) << bad;
  e = load_error(p, true);
  EXPECT_HAS(e, op);
  EXPECT_HAS(e, "corrupt header");
  // a moment tensor of the wrong size
  std::ofstream(op, std::ios::binary) << bytes;
  rewrite(op, [](StFile& f) {
    StTensor& t = f.tensors.at("exp_avg.LayerNorm.bias");
    t.shape = {4};
    t.bytes.resize(16);
  });
  e = load_error(p, true);
  EXPECT_HAS(e, op);
  EXPECT_HAS(e, "exp_avg.LayerNorm.bias missing or of the wrong size");
  // and no optimizer file at all
  fs::remove(op);
  e = load_error(p, true);
  EXPECT_HAS(e, op);
  EXPECT_HAS(e, "optimizer state missing");
}

TEST(CheckpointErrors, MissingOrBadStepsEntryNamesFileAndKey) {
  const std::string p = good_checkpoint("steps.safetensors");
  const std::string op = optimizer_path(p);
  rewrite(op, [](StFile& f) { f.metadata.erase("steps"); });
  std::string e = load_error(p, true);
  EXPECT_HAS(e, op);
  EXPECT_HAS(e, "'steps'");
  rewrite(op, [](StFile& f) { f.metadata["steps"] = "many"; });
  e = load_error(p, true);
  EXPECT_HAS(e, op);
  EXPECT_HAS(e, "'steps'");
}

TEST(CheckpointErrors, OptimizerFileOfAnotherCheckpointIsRefused) {
  // the model file records the optimizer's step count; an optimizer file of another save
  // (a run killed between the two writes of a checkpoint it was overwriting) is refused
  const std::string p = good_checkpoint("pair.safetensors");
  S3RecModel m(small());
  m.init_weights(3);
  Optimizer o(m.params(), AdamConfig{});
  for (int i = 0; i < 2; ++i) {
    m.params().grads().assign(m.params().dense_total(), 0.5f);
    o.step();
  }
  o.catch_up_all();
  const std::string other = tmp("other.safetensors");
  save_checkpoint(other, m, {}, &o);
  fs::copy_file(optimizer_path(other), optimizer_path(p), fs::copy_options::overwrite_existing);
  const std::string e = load_error(p, true);
  EXPECT_HAS(e, optimizer_path(p));
  EXPECT_HAS(e, "after 2 steps");
  EXPECT_HAS(e, "saved after 1");
}
