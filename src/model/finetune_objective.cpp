// Fine-tuning losses of SPEC section 4 on a packed causal batch: BCE (the
// reference's), BPR and CE. All are means over the batch's tokens.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <stdexcept>
#include <vector>

#include "model/encoder.h"
#include "model/workspace.h"
#include "s3rec/model.h"
#include "tensor/gemm.h"
#include "tensor/rows.h"

namespace s3rec {
namespace {

inline float sigmoidf(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// BCE / BPR over [T x d] outputs: returns the summed loss; dF, dEp, dEn get d(sum)/d(.) * scale.
double pairwise_loss(LossType type, const float* F, const float* E, const std::vector<int>& pos,
                     const std::vector<int>& neg, int T, int d, float scale, float* dF, float* dEp, float* dEn) {
  std::vector<double> row_loss(T);
#pragma omp parallel for schedule(static)
  for (int t = 0; t < T; ++t) {
    const float* f = F + size_t(t) * d;
    const float* ep = E + size_t(pos[t]) * d;
    const float* en = E + size_t(neg[t]) * d;
    float pl = 0.0f, nl = 0.0f;
    for (int j = 0; j < d; ++j) {
      pl += f[j] * ep[j];
      nl += f[j] * en[j];
    }
    float gp, gn;  // d loss / d pl, d loss / d nl
    if (type == LossType::BCE) {
      // -log(sigmoid(pl) + 1e-24) - log(1 - sigmoid(nl) + 1e-24)
      const float sp = sigmoidf(pl), sn = sigmoidf(nl);
      row_loss[t] = -std::log(sp + 1e-24f) - std::log(1.0f - sn + 1e-24f);
      gp = -sp * (1.0f - sp) / (sp + 1e-24f);
      gn = sn * (1.0f - sn) / (1.0f - sn + 1e-24f);
    } else {
      // BPR as RecBole: -log(1e-10 + sigmoid(pl - nl))
      const float s = sigmoidf(pl - nl);
      row_loss[t] = -std::log(1e-10f + s);
      gp = -s * (1.0f - s) / (1e-10f + s);
      gn = -gp;
    }
    gp *= scale;
    gn *= scale;
    float* df = dF + size_t(t) * d;
    float* dp = dEp + size_t(t) * d;
    float* dn = dEn + size_t(t) * d;
    for (int j = 0; j < d; ++j) {
      df[j] = gp * ep[j] + gn * en[j];
      dp[j] = gp * f[j];
      dn[j] = gn * f[j];
    }
  }
  return std::accumulate(row_loss.begin(), row_loss.end(), 0.0);
}

// Softmax cross-entropy over the real items 1..N, in row blocks to bound memory.
double softmax_ce_loss(const float* F, const float* E, float* gE, const std::vector<int>& pos, int T, int d, int N,
                       float scale, float* dF, bool backward) {
  constexpr int kBlock = 512;
  const float* E1 = E + d;  // rows 1..N
  std::vector<float> logits;
  std::vector<double> row_loss(T);
  for (int t0 = 0; t0 < T; t0 += kBlock) {
    const int nb = std::min(kBlock, T - t0);
    logits.resize(size_t(nb) * N);
    gemm(false, true, nb, N, d, 1.0f, F + size_t(t0) * d, d, E1, d, 0.0f, logits.data(), N);
    float* L = logits.data();
#pragma omp parallel for schedule(static)
    for (int r = 0; r < nb; ++r) {
      float* z = L + size_t(r) * N;
      float mx = z[0];
      for (int i = 1; i < N; ++i) mx = std::max(mx, z[i]);
      double sum = 0.0;
      for (int i = 0; i < N; ++i) sum += std::exp(double(z[i] - mx));
      const int target = pos[t0 + r] - 1;
      row_loss[t0 + r] = std::log(sum) - double(z[target] - mx);
      if (backward) {
        const float inv = float(1.0 / sum);
        for (int i = 0; i < N; ++i) z[i] = std::exp(z[i] - mx) * inv * scale;
        z[target] -= scale;
      }
    }
    if (backward) {
      gemm(false, false, nb, d, N, 1.0f, L, N, E1, d, 1.0f, dF + size_t(t0) * d, d);
      gemm(true, false, N, d, nb, 1.0f, L, N, F + size_t(t0) * d, d, 1.0f, gE + d, d);
    }
  }
  return std::accumulate(row_loss.begin(), row_loss.end(), 0.0);
}

}  // namespace

double S3RecModel::finetune_step(const FinetuneBatch& batch, LossType loss, bool train, uint64_t key, bool backward) {
  const int T = batch.input.num_tokens(), d = cfg_.hidden_size, N = cfg_.n_items;
  if (int(batch.pos_items.size()) != T || (loss != LossType::CE && int(batch.neg_items.size()) != T))
    throw std::invalid_argument("finetune batch: pos_items/neg_items must have one entry per token");
  for (int t = 0; t < T; ++t) {
    if (batch.pos_items[t] < 1 || batch.pos_items[t] > N)
      throw std::invalid_argument("finetune batch: target item out of range");
    if (loss != LossType::CE && (batch.neg_items[t] < 1 || batch.neg_items[t] > N))
      throw std::invalid_argument("finetune batch: negative item out of range");
  }
  if (T == 0) return 0.0;
  Workspace& ws = *ws_;
  encoder_layout(ws, batch.input, batch.input.num_seqs(), true, cfg_.max_seq_length, cfg_.n_heads);
  encoder_forward(*this, ws, train, key);
  const float* F = ws.out();
  const float* E = params_.value(item_emb_);
  RowSparseGrad& gE = params_.row_grad(item_emb_);
  const float scale = 1.0f / float(T);
  std::vector<float> dF(size_t(T) * d, 0.0f);
  double sum;
  if (loss == LossType::CE) {
    // every item is scored: the item table's gradient is dense here
    sum = softmax_ce_loss(F, E, backward ? gE.make_dense() : nullptr, batch.pos_items, T, d, N, scale, dF.data(), backward);
  } else {
    std::vector<float> dEp(size_t(T) * d), dEn(size_t(T) * d);
    sum = pairwise_loss(loss, F, E, batch.pos_items, batch.neg_items, T, d, scale, dF.data(), dEp.data(), dEn.data());
    if (backward) {
      gE.scatter_add(dEp.data(), batch.pos_items.data(), T, true);
      gE.scatter_add(dEn.data(), batch.neg_items.data(), T, true);
    }
  }
  if (backward) encoder_backward(*this, ws, dF.data());
  return sum / T;
}

}  // namespace s3rec
