// The C++ model against the PyTorch reference (tests/reference/), through the
// committed fixtures: losses and every parameter's gradient of the four
// pre-training objectives, the three fine-tuning losses, and the encoder in
// both attention directions.
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "s3rec/model.h"
#include "s3rec/safetensors.h"
#include "model_test_access.h"

using namespace s3rec;

namespace {

const std::string kFixtures = std::string(S3REC_SOURCE_DIR) + "/tests/fixtures/";

ModelConfig fixture_config(const StFile& f) {
  const auto j = nlohmann::json::parse(f.metadata.at("config"));
  ModelConfig c;
  c.hidden_size = j["hidden_size"];
  c.inner_size = j["inner_size"];
  c.n_layers = j["n_layers"];
  c.n_heads = j["n_heads"];
  c.n_items = j["n_items"];
  c.n_attributes = j["n_attributes"];
  c.max_seq_length = j["max_seq_length"];
  c.hidden_act = parse_activation(j["hidden_act"]);
  c.layer_norm_eps = j["layer_norm_eps"];
  c.initializer_range = j["initializer_range"];
  c.hidden_dropout_prob = j["hidden_dropout_prob"];
  c.attn_dropout_prob = j["attn_dropout_prob"];
  return c;
}

struct Fixture {
  StFile f;
  std::unique_ptr<S3RecModel> model;
  explicit Fixture(const std::string& name) : f(read_safetensors(kFixtures + name)) {
    model = std::make_unique<S3RecModel>(fixture_config(f));
    ParamStore& P = model->params();
    int loaded = 0;
    for (size_t id = 0; id < P.infos().size(); ++id) {
      const auto& t = f.tensors.at("param." + P.info(int(id)).name);
      const auto v = t.as_f32();
      EXPECT_EQ(v.size(), P.info(int(id)).size) << P.info(int(id)).name;
      std::copy(v.begin(), v.end(), P.value(int(id)));
      ++loaded;
    }
    int in_file = 0;
    for (const auto& [k, t] : f.tensors) in_file += k.rfind("param.", 0) == 0;
    EXPECT_EQ(loaded, in_file) << "the fixture and the model must have the same parameters";
  }
  // Left-padded [B x L] ids -> packed sequences (padding dropped).
  PackedSeqs packed(const std::string& name) const {
    const StTensor& t = f.tensors.at(name);
    const auto v = t.as_i64();
    const int64_t B = t.shape[0], L = t.shape[1];
    PackedSeqs s;
    for (int64_t b = 0; b < B; ++b) {
      std::vector<int> seq;
      for (int64_t i = 0; i < L; ++i)
        if (v[b * L + i] != 0) seq.push_back(int(v[b * L + i]));
      s.add(seq);
    }
    return s;
  }
  std::vector<int> tokens(const std::string& name, const PackedSeqs& shape_of) const {
    const StTensor& t = f.tensors.at(name);
    const auto v = t.as_i64();
    const int64_t L = t.shape[1];
    std::vector<int> out;
    for (int b = 0; b < shape_of.num_seqs(); ++b)
      for (int i = L - shape_of.length(b); i < L; ++i) out.push_back(int(v[b * L + i]));
    return out;
  }
  AttributeTable attributes() const {
    const StTensor& t = f.tensors.at("data.item_attributes");
    const auto v = t.as_f32();
    std::vector<std::vector<int>> lists(size_t(t.shape[0]));
    for (int64_t i = 0; i < t.shape[0]; ++i)
      for (int64_t a = 0; a < t.shape[1]; ++a)
        if (v[i * t.shape[1] + a] != 0.0f) lists[i].push_back(int(a));
    return AttributeTable::from_lists(lists, int(t.shape[0]));
  }
  double scalar(const std::string& name) const { return f.tensors.at(name).as_f32()[0]; }
};

double max_abs(const std::vector<float>& v) {
  double m = 0.0;
  for (float x : v) m = std::max(m, std::fabs(double(x)));
  return m;
}

// max |a - b| relative to the reference tensor's largest entry, but never to less than
// `floor`: a gradient that is zero in exact arithmetic (the attention key bias: softmax
// ignores a constant shift) is float32 rounding noise on our side.
void expect_close(const std::string& what, const float* a, const std::vector<float>& b, double floor = 0.0,
                  double tol = 2e-5) {
  double err = 0.0;
  for (size_t i = 0; i < b.size(); ++i) err = std::max(err, std::fabs(double(a[i]) - b[i]));
  const double scale = std::max(max_abs(b), floor);
  if (scale == 0.0)
    EXPECT_EQ(err, 0.0) << what;
  else
    EXPECT_LE(err / scale, tol) << what << " (max abs error " << err << ", scale " << scale << ")";
}

void expect_grads(const Fixture& fx, const std::string& prefix) {
  const ParamStore& P = fx.model->params();
  double global = 0.0;  // the largest gradient entry of this loss, over all parameters
  for (size_t id = 0; id < P.infos().size(); ++id)
    global = std::max(global, max_abs(fx.f.tensors.at(prefix + P.info(int(id)).name).as_f32()));
  ASSERT_GT(global, 0.0) << prefix;
  for (size_t id = 0; id < P.infos().size(); ++id) {
    const std::string& n = P.info(int(id)).name;
    expect_close(prefix + n, P.gradient(int(id)).data(), fx.f.tensors.at(prefix + n).as_f32(), 1e-2 * global);
  }
}

void expect_loss(double got, double want, const std::string& what) {
  EXPECT_NEAR(got, want, 1e-5 * std::max(1.0, std::fabs(want))) << what;
}

PretrainBatch pretrain_batch(const Fixture& fx) {
  PretrainBatch b;
  b.masked = fx.packed("input.masked_item_sequence");
  b.pos_items = fx.tokens("input.pos_items", b.masked);
  b.neg_items = fx.tokens("input.neg_items", b.masked);
  const int mask = fx.model->config().mask_id();
  for (size_t t = 0; t < b.neg_items.size(); ++t)
    if (b.masked.items[t] != mask) b.neg_items[t] = 0;  // the reference keeps the item itself there
  b.context = fx.packed("input.masked_segment_sequence");
  b.pos_segment = fx.packed("input.pos_segment");
  b.neg_segment = fx.packed("input.neg_segment");
  return b;
}

}  // namespace

TEST(ReferenceParity, EachPretrainingObjective) {
  Fixture fx("pretrain.safetensors");
  const auto attrs = fx.attributes();
  const auto batch = pretrain_batch(fx);
  const char* names[] = {"aap", "mip", "map", "sp"};
  for (int k = 0; k < 4; ++k) {
    PretrainWeights w{0, 0, 0, 0};
    (k == 0 ? w.aap : k == 1 ? w.mip : k == 2 ? w.map : w.sp) = 1.0f;
    fx.model->params().zero_grad();
    const PretrainLosses l = fx.model->pretrain_step(batch, attrs, w, false, 0);
    expect_loss(l.joint(w), fx.scalar(std::string("loss.") + names[k]), names[k]);
    expect_grads(fx, std::string("grad.") + names[k] + ".");
  }
}

TEST(ReferenceParity, JointPretrainingLoss) {
  Fixture fx("pretrain.safetensors");
  const PretrainWeights w{0.2f, 1.0f, 1.0f, 0.5f};
  fx.model->params().zero_grad();
  const PretrainLosses l = fx.model->pretrain_step(pretrain_batch(fx), fx.attributes(), w, false, 0);
  expect_loss(l.aap, fx.scalar("loss.aap"), "aap");
  expect_loss(l.mip, fx.scalar("loss.mip"), "mip");
  expect_loss(l.map, fx.scalar("loss.map"), "map");
  expect_loss(l.sp, fx.scalar("loss.sp"), "sp");
  expect_loss(l.joint(w), fx.scalar("loss.joint"), "joint");
  expect_grads(fx, "grad.joint.");
}

TEST(ReferenceParity, FinetuningLosses) {
  Fixture fx("finetune.safetensors");
  FinetuneBatch b;
  b.input = fx.packed("input.input_ids");
  b.pos_items = fx.tokens("input.target_pos", b.input);
  b.neg_items = fx.tokens("input.target_neg", b.input);
  for (LossType t : {LossType::BCE, LossType::BPR, LossType::CE}) {
    const std::string n = loss_type_name(t);
    fx.model->params().zero_grad();
    expect_loss(fx.model->finetune_step(b, t, false, 0), fx.scalar("loss." + n), n);
    expect_grads(fx, "grad." + n + ".");
  }
}

TEST(ReferenceParity, EncoderBothDirections) {
  Fixture fx("encoder.safetensors");
  const PackedSeqs s = fx.packed("input.items");
  const int d = fx.model->config().hidden_size, L = fx.model->config().max_seq_length;
  const auto probe_all = fx.f.tensors.at("input.probe").as_f32();
  // probe rows at real tokens, in packed order
  std::vector<float> probe;
  for (int b = 0; b < s.num_seqs(); ++b)
    for (int i = L - s.length(b); i < L; ++i)
      probe.insert(probe.end(), probe_all.begin() + (size_t(b) * L + i) * d, probe_all.begin() + (size_t(b) * L + i + 1) * d);
  for (const std::string dir : {"bidirectional", "causal"}) {
    const bool causal = dir == "causal";
    std::vector<float> out(size_t(s.num_tokens()) * d), want;
    fx.model->encode_all(s, causal, out.data());
    const auto ref = fx.f.tensors.at("output." + dir).as_f32();
    for (int b = 0; b < s.num_seqs(); ++b)
      for (int i = L - s.length(b); i < L; ++i)
        want.insert(want.end(), ref.begin() + (size_t(b) * L + i) * d, ref.begin() + (size_t(b) * L + i + 1) * d);
    expect_close("output." + dir, out.data(), want);
    fx.model->params().zero_grad();
    S3RecModelTestAccess::encode_all_backward(*fx.model, s, causal, probe.data());
    expect_grads(fx, "grad." + dir + ".");
  }
}

TEST(ReferenceParity, DropoutTrainsFiniteAndIsIdentityAtEvaluation) {
  Fixture fx("dropout.safetensors");
  EXPECT_EQ(fx.model->config().hidden_dropout_prob, 0.5f);
  fx.model->params().zero_grad();
  const PretrainLosses l = fx.model->pretrain_step(pretrain_batch(fx), fx.attributes(), {}, true, 123);
  EXPECT_TRUE(std::isfinite(l.joint({})) && l.joint({}) > 0.0);
  for (float g : fx.model->params().grads()) ASSERT_TRUE(std::isfinite(g));
  const PackedSeqs s = fx.packed("input.items");
  const int d = fx.model->config().hidden_size, L = fx.model->config().max_seq_length;
  for (const std::string dir : {"bidirectional", "causal"}) {
    std::vector<float> out(size_t(s.num_tokens()) * d), want;
    fx.model->encode_all(s, dir == "causal", out.data());
    const auto ref = fx.f.tensors.at("eval." + dir).as_f32();
    for (int b = 0; b < s.num_seqs(); ++b)
      for (int i = L - s.length(b); i < L; ++i)
        want.insert(want.end(), ref.begin() + (size_t(b) * L + i) * d, ref.begin() + (size_t(b) * L + i + 1) * d);
    expect_close("eval." + dir, out.data(), want);
  }
}
