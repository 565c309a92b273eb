#include <algorithm>
#include <mutex>
#include <stdexcept>
#include <string>

#include "model/encoder.h"
#include "model/workspace.h"
#include "s3rec/model.h"
#include "s3rec/rng.h"

namespace s3rec {

// Encoding calls borrow a workspace and give it back, so repeated calls (evaluation
// batches, served requests) reuse grown buffers instead of faulting in fresh pages;
// concurrent callers each hold their own. The pool holds at most one workspace per
// caller that was ever concurrent.
struct WorkspacePool {
  std::mutex mu;
  std::vector<std::unique_ptr<Workspace>> free;
};

namespace {

class BorrowedWorkspace {
 public:
  explicit BorrowedWorkspace(WorkspacePool& pool) : pool_(pool) {
    std::lock_guard<std::mutex> lock(pool_.mu);
    if (pool_.free.empty()) {
      ws_ = std::make_unique<Workspace>();
    } else {
      ws_ = std::move(pool_.free.back());
      pool_.free.pop_back();
    }
  }
  ~BorrowedWorkspace() {
    std::lock_guard<std::mutex> lock(pool_.mu);
    pool_.free.push_back(std::move(ws_));
  }
  BorrowedWorkspace(const BorrowedWorkspace&) = delete;
  BorrowedWorkspace& operator=(const BorrowedWorkspace&) = delete;
  Workspace& operator*() { return *ws_; }

 private:
  WorkspacePool& pool_;
  std::unique_ptr<Workspace> ws_;
};

}  // namespace

S3RecModel::S3RecModel(const ModelConfig& cfg)
    : cfg_(cfg), ws_(std::make_unique<Workspace>()), pool_(std::make_unique<WorkspacePool>()) {
  cfg_.validate();
  const int d = cfg_.hidden_size;
  auto linear = [&](const std::string& name, int in, int out) {
    Linear l;
    l.w = params_.add(name + ".weight", {out, in});
    l.b = params_.add(name + ".bias", {out});
    l.in = in;
    l.out = out;
    return l;
  };
  auto norm = [&](const std::string& name) {
    Norm n;
    n.g = params_.add(name + ".weight", {d});
    n.b = params_.add(name + ".bias", {d});
    return n;
  };
  item_emb_ = params_.add("item_embeddings.weight", {cfg_.item_rows(), d}, GradLayout::RowSparse);
  attr_emb_ = params_.add("attribute_embeddings.weight", {cfg_.attribute_rows(), d});
  pos_emb_ = params_.add("position_embeddings.weight", {cfg_.max_seq_length, d});
  for (int l = 0; l < cfg_.n_layers; ++l) {
    const std::string p = "item_encoder.layer." + std::to_string(l) + ".";
    Layer L;
    // query, key, value weights back to back, then their biases back to back: one [3d x d] block.
    L.qkv_w = params_.add(p + "attention.query.weight", {d, d});
    params_.add(p + "attention.key.weight", {d, d});
    params_.add(p + "attention.value.weight", {d, d});
    L.qkv_b = params_.add(p + "attention.query.bias", {d});
    params_.add(p + "attention.key.bias", {d});
    params_.add(p + "attention.value.bias", {d});
    L.dense = linear(p + "attention.dense", d, d);
    L.ln1 = norm(p + "attention.LayerNorm");
    L.ff1 = linear(p + "intermediate.dense_1", d, cfg_.inner_size);
    L.ff2 = linear(p + "intermediate.dense_2", cfg_.inner_size, d);
    L.ln2 = norm(p + "intermediate.LayerNorm");
    layers_.push_back(L);
  }
  emb_ln_ = norm("LayerNorm");
  aap_ = linear("aap_norm", d, d);
  mip_ = linear("mip_norm", d, d);
  map_ = linear("map_norm", d, d);
  sp_ = linear("sp_norm", d, d);
  params_.allocate();
  init_weights(0);
}

S3RecModel::~S3RecModel() = default;

void S3RecModel::init_weights(uint64_t seed) {
  Rng rng(seed);
  for (size_t id = 0; id < params_.infos().size(); ++id) {
    const ParamInfo& p = params_.info(int(id));
    float* v = params_.value(int(id));
    const bool is_norm = p.name.find("LayerNorm") != std::string::npos;
    const bool is_bias = p.name.size() > 5 && p.name.compare(p.name.size() - 5, 5, ".bias") == 0;
    if (is_norm && !is_bias) {
      std::fill(v, v + p.size, 1.0f);
    } else if (is_bias) {
      std::fill(v, v + p.size, 0.0f);
    } else {
      // rng.normal() element by element, in blocks: the uniforms drawn in order, the
      // Box-Muller transform of a block in parallel (same values, whatever the threads)
      constexpr size_t kBlock = 1 << 16;
      std::vector<double> u(2 * std::min(kBlock, p.size));  // small tables: no 1 MiB buffer
      for (size_t b = 0; b < p.size; b += kBlock) {
        const size_t n = std::min(kBlock, p.size - b);
        for (size_t i = 0; i < 2 * n; ++i) u[i] = rng.uniform();
        const double scale = cfg_.initializer_range;
#pragma omp parallel for schedule(static) if (n > 4096)
        for (size_t i = 0; i < n; ++i) v[b + i] = float(Rng::box_muller(u[2 * i], u[2 * i + 1]) * scale);
      }
    }
  }
}

void S3RecModel::encode_last(const PackedSeqs& seqs, bool causal, float* out) const {
  BorrowedWorkspace borrowed(*pool_);
  Workspace& ws = *borrowed;
  encoder_layout(ws, seqs, 0, causal, cfg_.max_seq_length, cfg_.n_heads);
  encoder_forward(*this, ws, false, 0);
  std::copy(ws.out(), ws.out() + size_t(ws.out_rows()) * cfg_.hidden_size, out);
}

void S3RecModel::encode_all(const PackedSeqs& seqs, bool causal, float* out) const {
  BorrowedWorkspace borrowed(*pool_);
  Workspace& ws = *borrowed;
  encoder_layout(ws, seqs, seqs.num_seqs(), causal, cfg_.max_seq_length, cfg_.n_heads);
  encoder_forward(*this, ws, false, 0);
  std::copy(ws.out(), ws.out() + size_t(ws.out_rows()) * cfg_.hidden_size, out);
}

void S3RecModel::encode_all_backward_probe(const PackedSeqs& seqs, bool causal, const float* probe) {
  encoder_layout(*ws_, seqs, seqs.num_seqs(), causal, cfg_.max_seq_length, cfg_.n_heads);
  encoder_forward(*this, *ws_, false, 0);
  std::vector<float> dout(probe, probe + size_t(ws_->out_rows()) * cfg_.hidden_size);
  encoder_backward(*this, *ws_, dout.data());
}

}  // namespace s3rec
