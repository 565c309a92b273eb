#pragma once
// The S3-Rec network: embedding layer, Transformer encoder, the four
// pre-training heads (AAP, MIP, MAP, SP) and the fine-tuning losses.
// Computation runs on packed (padding-free) batches.
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "s3rec/attribute_table.h"
#include "s3rec/batch.h"
#include "s3rec/model_config.h"
#include "s3rec/params.h"

namespace s3rec {

struct PretrainWeights {
  float aap = 0.2f, mip = 1.0f, map = 1.0f, sp = 0.5f;
};

struct PretrainLosses {  // sums over the batch, unweighted
  double aap = 0, mip = 0, map = 0, sp = 0;
  double joint(const PretrainWeights& w) const { return w.aap * aap + w.mip * mip + w.map * map + w.sp * sp; }
};

enum class LossType { BCE, BPR, CE };
LossType parse_loss_type(const std::string& s);  // throws std::invalid_argument
const char* loss_type_name(LossType t);

struct Workspace;  // forward caches for one batch (opaque)
struct WorkspacePool;  // workspaces reused by the const encoders, thread-safe (opaque)

class S3RecModel {
 public:
  explicit S3RecModel(const ModelConfig& cfg);
  ~S3RecModel();
  S3RecModel(const S3RecModel&) = delete;
  S3RecModel& operator=(const S3RecModel&) = delete;

  const ModelConfig& config() const { return cfg_; }
  ParamStore& params() { return params_; }
  const ParamStore& params() const { return params_; }

  // SPEC section 2: N(0, initializer_range) for every Linear and Embedding weight
  // (row 0 included), biases 0, LayerNorm gain 1 and bias 0.
  void init_weights(uint64_t seed);

  // Joint pre-training loss: forward, then backward into params().grads()
  // (accumulated; call params().zero_grad() first). Objectives with weight 0
  // are skipped entirely. train=false turns dropout off. Returns unweighted sums.
  PretrainLosses pretrain_step(const PretrainBatch& batch, const AttributeTable& attrs,
                               const PretrainWeights& w, bool train, uint64_t dropout_key);

  // Fine-tuning loss (causal): forward, then backward into params().grads() when
  // backward=true. Returns the mean loss over the batch's tokens.
  double finetune_step(const FinetuneBatch& batch, LossType loss, bool train, uint64_t dropout_key,
                       bool backward = true);

  // Final hidden state at the last position of every sequence, dropout off.
  // out: [B x d]. Thread-safe (uses its own workspace).
  void encode_last(const PackedSeqs& seqs, bool causal, float* out) const;

  // Final hidden states at every token, dropout off. out: [T x d]. Thread-safe.
  void encode_all(const PackedSeqs& seqs, bool causal, float* out) const;

  // Parameter ids into params(). query/key/value weights (and biases) are
  // registered back to back, so qkv_w addresses one [3d x d] block.
  struct Linear { int w = -1, b = -1, in = 0, out = 0; };
  struct Norm { int g = -1, b = -1; };
  struct Layer { int qkv_w = -1, qkv_b = -1; Linear dense; Norm ln1; Linear ff1, ff2; Norm ln2; };
  int item_embeddings_id() const { return item_emb_; }
  int attribute_embeddings_id() const { return attr_emb_; }
  int position_embeddings_id() const { return pos_emb_; }
  const Norm& embedding_norm() const { return emb_ln_; }
  const std::vector<Layer>& layers() const { return layers_; }

 private:
  friend struct S3RecModelTestAccess;  // tests/model_test_access.h
  // Gradient of sum(out * probe) over encode_all's output, accumulated into grads
  // (for tests: the encoder's backward in either direction, without a loss head).
  void encode_all_backward_probe(const PackedSeqs& seqs, bool causal, const float* probe);

  ModelConfig cfg_;
  ParamStore params_;
  int item_emb_ = -1, attr_emb_ = -1, pos_emb_ = -1;
  Norm emb_ln_;
  std::vector<Layer> layers_;
  Linear aap_, mip_, map_, sp_;
  std::unique_ptr<Workspace> ws_;
  std::unique_ptr<WorkspacePool> pool_;
};

}  // namespace s3rec
