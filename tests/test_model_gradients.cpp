// Finite-difference checks of the whole model: the joint pre-training loss
// (all four objectives, bidirectional) and the fine-tuning losses (causal),
// with dropout on (masks are a pure function of the step key).
#include <gtest/gtest.h>

#include "gradcheck.h"
#include "s3rec/model.h"

using namespace s3rec;
using namespace s3rec::testing;

namespace {

ModelConfig tiny_config(float dropout) {
  ModelConfig c;
  c.hidden_size = 8;
  c.inner_size = 16;
  c.n_layers = 2;
  c.n_heads = 2;
  c.hidden_dropout_prob = dropout;
  c.attn_dropout_prob = dropout;
  c.max_seq_length = 6;
  c.n_items = 12;
  c.n_attributes = 5;
  return c;
}

// Random weights well away from the tiny initialisation so every path carries signal.
void perturb(S3RecModel& m, uint64_t seed) {
  m.init_weights(seed);
  auto noise = random_vec(m.params().total(), seed + 1, 0.3f);
  for (size_t i = 0; i < noise.size(); ++i) m.params().values()[i] += noise[i];
}

AttributeTable tiny_attributes() {
  std::vector<std::vector<int>> lists(13);
  for (int i = 1; i <= 12; ++i)
    for (int a = 1; a <= 5; ++a)
      if ((i * 7 + a * 3) % 4 == 0) lists[i].push_back(a);
  return AttributeTable::from_lists(lists, 14);
}

PretrainBatch tiny_pretrain_batch() {
  const int M = 13;  // mask token
  PretrainBatch b;
  // sample 1: items 3 5 7 2, mask at 1 and 3; segment j=1 k=2
  b.masked.add(std::vector<int>{3, M, 7, M});
  b.pos_items.insert(b.pos_items.end(), {3, 5, 7, 2});
  b.neg_items.insert(b.neg_items.end(), {0, 9, 0, 11});
  b.context.add(std::vector<int>{3, M, M, 2});
  b.pos_segment.add(std::vector<int>{M, 5, 7, M});
  b.neg_segment.add(std::vector<int>{M, 1, 4, M});
  // sample 2: length 1 (segment sequences are the original)
  b.masked.add(std::vector<int>{M});
  b.pos_items.push_back(6);
  b.neg_items.push_back(8);
  for (PackedSeqs* s : {&b.context, &b.pos_segment, &b.neg_segment}) s->add(std::vector<int>{6});
  // sample 3: items 1 4 9 10 12 8, masks at 0, 2, 5
  b.masked.add(std::vector<int>{M, 4, M, 10, 12, M});
  b.pos_items.insert(b.pos_items.end(), {1, 4, 9, 10, 12, 8});
  b.neg_items.insert(b.neg_items.end(), {2, 0, 3, 0, 0, 5});
  b.context.add(std::vector<int>{1, 4, 9, M, M, M});
  b.pos_segment.add(std::vector<int>{M, M, M, 10, 12, 8});
  b.neg_segment.add(std::vector<int>{M, M, M, 7, 6, 11});
  return b;
}

FinetuneBatch tiny_finetune_batch() {
  FinetuneBatch b;
  b.input.add(std::vector<int>{3, 5, 7, 2});
  b.pos_items.insert(b.pos_items.end(), {5, 7, 2, 9});
  b.neg_items.insert(b.neg_items.end(), {1, 4, 11, 6});
  b.input.add(std::vector<int>{8});
  b.pos_items.push_back(12);
  b.neg_items.push_back(3);
  b.input.add(std::vector<int>{1, 4, 9, 10, 12, 8});
  b.pos_items.insert(b.pos_items.end(), {4, 9, 10, 12, 8, 6});
  b.neg_items.insert(b.neg_items.end(), {2, 2, 3, 5, 7, 11});
  return b;
}

// Checks d(loss)/d(param) for a few entries of every parameter tensor.
void check_all_params(S3RecModel& m, const std::function<double()>& loss, const std::string& tag) {
  m.params().zero_grad();
  loss();
  std::vector<std::vector<float>> grads;  // before the finite differences add to them
  for (size_t id = 0; id < m.params().infos().size(); ++id) grads.push_back(m.params().gradient(int(id)));
  for (size_t id = 0; id < m.params().infos().size(); ++id) {
    const ParamInfo& p = m.params().info(int(id));
    const std::vector<float>& analytic = grads[id];
    bool any = false;
    for (float g : analytic) any |= g != 0.0f;
    std::vector<float> view(m.params().values().begin() + p.offset, m.params().values().begin() + p.offset + p.size);
    auto eval = [&] {
      std::copy(view.begin(), view.end(), m.params().values().begin() + p.offset);
      return loss();
    };
    if (any) {
      expect_grad_close(tag + " " + p.name, view, analytic, eval, 5e-3f, 1e-2, 1e-3, 12);
    } else {  // a zero gradient must be a true zero, not a missing backward path
      const size_t step = std::max<size_t>(1, p.size / 8);
      for (size_t i = 0; i < p.size; i += step) {
        if (p.name == "item_embeddings.weight" && i < size_t(p.shape[1])) continue;  // padding row: frozen
        const float orig = view[i];
        view[i] = orig + 5e-3f;
        const double lp = eval();
        view[i] = orig - 5e-3f;
        const double lm = eval();
        view[i] = orig;
        EXPECT_NEAR((lp - lm) / 1e-2, 0.0, 1e-3) << tag << " " << p.name << "[" << i << "]: zero analytic gradient";
      }
    }
    std::copy(view.begin(), view.end(), m.params().values().begin() + p.offset);
  }
}

}  // namespace

TEST(ModelGrad, PretrainJointLossWithDropout) {
  S3RecModel m(tiny_config(0.2f));
  perturb(m, 5);
  const auto attrs = tiny_attributes();
  const auto batch = tiny_pretrain_batch();
  const PretrainWeights w{0.2f, 1.0f, 1.0f, 0.5f};
  check_all_params(m, [&] { return m.pretrain_step(batch, attrs, w, true, 99).joint(w); }, "pretrain");
}

TEST(ModelGrad, EachPretrainObjectiveAlone) {
  S3RecModel m(tiny_config(0.0f));
  perturb(m, 6);
  const auto attrs = tiny_attributes();
  const auto batch = tiny_pretrain_batch();
  for (int k = 0; k < 4; ++k) {
    PretrainWeights w{0, 0, 0, 0};
    (k == 0 ? w.aap : k == 1 ? w.mip : k == 2 ? w.map : w.sp) = 1.0f;
    check_all_params(m, [&] { return m.pretrain_step(batch, attrs, w, false, 0).joint(w); },
                     "objective " + std::to_string(k));
  }
}

TEST(ModelGrad, ZeroWeightObjectiveIsSkipped) {
  S3RecModel m(tiny_config(0.0f));
  perturb(m, 7);
  const auto attrs = tiny_attributes();
  const auto batch = tiny_pretrain_batch();
  m.params().zero_grad();
  const auto l = m.pretrain_step(batch, attrs, {0.0f, 1.0f, 0.0f, 0.0f}, false, 0);
  EXPECT_EQ(l.aap, 0.0);
  EXPECT_EQ(l.map, 0.0);
  EXPECT_EQ(l.sp, 0.0);
  EXPECT_GT(l.mip, 0.0);
  const ParamStore& P = m.params();
  for (const char* head : {"aap_norm.weight", "map_norm.weight", "sp_norm.weight", "attribute_embeddings.weight"}) {
    const int id = P.find(head);
    for (size_t i = 0; i < P.info(id).size; ++i) ASSERT_EQ(P.grad(id)[i], 0.0f) << head;
  }
}

class FinetuneGrad : public ::testing::TestWithParam<LossType> {};

TEST_P(FinetuneGrad, MatchesFiniteDifferences) {
  S3RecModel m(tiny_config(0.2f));
  perturb(m, 8);
  const auto batch = tiny_finetune_batch();
  check_all_params(m, [&] { return m.finetune_step(batch, GetParam(), true, 1234); }, loss_type_name(GetParam()));
}

INSTANTIATE_TEST_SUITE_P(AllLosses, FinetuneGrad, ::testing::Values(LossType::BCE, LossType::BPR, LossType::CE));

TEST(ModelGrad, SameKeySameGradientsBitForBit) {
  S3RecModel m(tiny_config(0.5f));
  perturb(m, 9);
  const auto attrs = tiny_attributes();
  const auto batch = tiny_pretrain_batch();
  m.params().zero_grad();
  const auto l1 = m.pretrain_step(batch, attrs, {}, true, 77);
  const auto g1 = m.params().grads();
  const auto e1 = m.params().gradient(m.item_embeddings_id());
  m.params().zero_grad();
  const auto l2 = m.pretrain_step(batch, attrs, {}, true, 77);
  EXPECT_EQ(l1.aap, l2.aap);
  EXPECT_EQ(l1.sp, l2.sp);
  EXPECT_EQ(g1, m.params().grads());
  EXPECT_EQ(e1, m.params().gradient(m.item_embeddings_id()));
  m.params().zero_grad();
  const auto l3 = m.pretrain_step(batch, attrs, {}, true, 78);
  EXPECT_NE(l1.mip + l1.aap, l3.mip + l3.aap) << "another key must draw other dropout masks";
}
