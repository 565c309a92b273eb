// import_state_dict (s3rec convert --from=pt): a reference model's tensors, as the .pt
// reader writes them, become a checkpoint with the architecture read from their shapes;
// anything else is refused naming the tensor. (The .pt side is python/tests/test_torch_interop.py.)
#include <gtest/gtest.h>

#include <filesystem>

#include "s3rec/checkpoint.h"
#include "s3rec/safetensors.h"
#include "s3rec/state_dict_import.h"

using namespace s3rec;
namespace fs = std::filesystem;

namespace {

ModelConfig shape() {
  ModelConfig c;
  c.hidden_size = 12;
  c.inner_size = 20;
  c.n_layers = 3;
  c.n_heads = 3;
  c.n_items = 25;
  c.n_attributes = 6;
  c.max_seq_length = 9;
  return c;
}

std::string tmp(const std::string& name) {
  const auto d = fs::temp_directory_path() / "s3rec_import_test";
  fs::create_directories(d);
  return (d / name).string();
}

// The model's tensors by state_dict name, no metadata: what the reader writes.
StFile state_dict(const S3RecModel& m) {
  StFile f;
  const ParamStore& P = m.params();
  for (size_t id = 0; id < P.infos().size(); ++id) {
    const ParamInfo& p = P.info(int(id));
    f.tensors[p.name] = StTensor::f32({p.shape.begin(), p.shape.end()}, P.value(int(id)));
  }
  return f;
}

std::string import_error(const StFile& f, const ModelConfig& given) {
  write_safetensors(tmp("in.safetensors"), f);
  try {
    import_state_dict(tmp("in.safetensors"), "model.pt", given, tmp("out.safetensors"));
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST(StateDictImport, ShapesGiveTheArchitectureAndValuesAreKept) {
  S3RecModel ref(shape());
  ref.init_weights(5);
  write_safetensors(tmp("sd.safetensors"), state_dict(ref));
  ModelConfig given;  // defaults, but 3 heads as the tensors cannot tell
  given.n_heads = 3;
  const ModelConfig c = import_state_dict(tmp("sd.safetensors"), "model.pt", given, tmp("ckpt.safetensors"));
  EXPECT_EQ(c.hidden_size, 12);
  EXPECT_EQ(c.inner_size, 20);
  EXPECT_EQ(c.n_layers, 3);
  EXPECT_EQ(c.n_items, 25);
  EXPECT_EQ(c.n_attributes, 6);
  EXPECT_EQ(c.max_seq_length, 9);
  const CheckpointMeta meta = read_checkpoint_meta(tmp("ckpt.safetensors"));
  EXPECT_EQ(meta.config.n_heads, 3);
  EXPECT_EQ(meta.extra.at("converted_from"), "model.pt");
  S3RecModel back(meta.config);
  load_checkpoint(tmp("ckpt.safetensors"), back);
  EXPECT_EQ(back.params().values(), ref.params().values());
}

TEST(StateDictImport, RefusesMissingMisshapedAndForeignTensorsNamingThem) {
  S3RecModel ref(shape());
  ref.init_weights(5);
  ModelConfig given;
  given.n_heads = 3;
  StFile missing = state_dict(ref);
  missing.tensors.erase("item_encoder.layer.2.intermediate.dense_2.bias");
  EXPECT_EQ(import_error(missing, given), "model.pt: tensor item_encoder.layer.2.intermediate.dense_2.bias is missing");
  StFile reshaped = state_dict(ref);
  const std::vector<float> z(12 * 4, 0.f);
  reshaped.tensors["mip_norm.weight"] = StTensor::f32({12, 4}, z.data());
  EXPECT_EQ(import_error(reshaped, given),
            "model.pt: tensor mip_norm.weight has dtype F32 and shape [12, 4], expected F32 [12, 12]");
  StFile extra = state_dict(ref);
  extra.tensors["item_encoder.layer.3.attention.dense.bias"] = StTensor::f32({12}, z.data());
  EXPECT_EQ(import_error(extra, given),
            "model.pt: unexpected tensor item_encoder.layer.3.attention.dense.bias [12]: not a parameter of "
            "S3-Rec's model with 3 layers");
  StFile foreign;
  foreign.tensors["fc.weight"] = StTensor::f32({2, 2}, z.data());
  EXPECT_NE(import_error(foreign, given).find("model.pt: tensor item_embeddings.weight is missing: not a state_dict"),
            std::string::npos);
  ModelConfig five_heads;  // do not divide d=12
  five_heads.n_heads = 5;
  EXPECT_NE(import_error(state_dict(ref), five_heads).find("model.pt: the tensors describe an unusable model"),
            std::string::npos);
}
