// The four pre-training objectives of SPEC section 3 on one packed batch.
// Encoder rows: every token of the masked sequences (when AAP, MIP or MAP is
// on), then the last token of each context, positive-segment and
// negative-segment sequence (when SP is on).
#include <numeric>
#include <stdexcept>
#include <string>
#include <vector>

#include "model/bce.h"
#include "model/encoder.h"
#include "model/workspace.h"
#include "s3rec/model.h"
#include "s3rec/rng.h"
#include "tensor/linear.h"
#include "tensor/rows.h"
#include "tensor/sigmoid_bce.h"

namespace s3rec {
namespace {

double ordered_sum(const std::vector<double>& v) { return std::accumulate(v.begin(), v.end(), 0.0); }

// AAP and MAP share the attribute table: rows [0, nu) use the AAP head, rows
// [nu, nu+nm) the MAP head; one product scores both against every attribute.
struct AttributeHeads {
  const S3RecModel::Linear* aap;
  const S3RecModel::Linear* map;
  float w_aap, w_map;
};

void attribute_objectives(S3RecModel& m, Workspace& ws, const AttributeHeads& h, const AttributeTable& attrs,
                          const float* F, float* dF, const std::vector<int>& rows, const std::vector<int>& items,
                          int nu, double& loss_aap, double& loss_map) {
  ParamStore& P = m.params();
  const int d = m.config().hidden_size, A1 = m.config().attribute_rows();
  const int n = int(rows.size()), nm = n - nu;
  if (n == 0) return;
  std::vector<float>&X = ws.head_x, &H = ws.head_h, &S = ws.head_s, &dH = ws.head_dh, &dX = ws.head_dx;
  X.resize(size_t(n) * d);
  H.resize(size_t(n) * d);
  S.resize(size_t(n) * A1);
  dH.resize(size_t(n) * d);
  dX.resize(size_t(n) * d);
  gather_rows(F, rows.data(), n, d, X.data());
  // H[n x d]: AAP head on the first nu rows, MAP head on the rest
  if (nu > 0) linear_forward(X.data(), nu, d, P.value(h.aap->w), P.value(h.aap->b), d, H.data());
  if (nm > 0)
    linear_forward(X.data() + size_t(nu) * d, nm, d, P.value(h.map->w), P.value(h.map->b), d, H.data() + size_t(nu) * d);
  const float* MA = P.value(m.attribute_embeddings_id());
  // S[n x A1] = H MA^T; each finished block of rows becomes its loss and dS in place
  std::vector<double> row_loss(n);
  thin_nn(n, A1, d, H.data(), d, MA, d, true, nullptr, false, S.data(), A1, [&](int r0, int r1) {
    for (int r = r0; r < r1; ++r) {
      float* s = S.data() + size_t(r) * A1;
      const float w = r < nu ? h.w_aap : h.w_map;
      const std::span<const int> pos = attrs.of(items[r]);
      float orig[64];
      std::vector<float> big;
      float* keep = orig;
      if (pos.size() > 64) {
        big.resize(pos.size());
        keep = big.data();
      }
      for (size_t k = 0; k < pos.size(); ++k) keep[k] = s[pos[k]];
      double loss = sigmoid_bce_negatives(s, A1, w);
      for (size_t k = 0; k < pos.size(); ++k) {  // the item's own attributes are positives
        const float p = sigmoid(keep[k]);
        loss += double(bce(p, true)) - double(bce(p, false));
        s[pos[k]] = w * bce_sigmoid_grad(p, true);
      }
      row_loss[r] = loss;
    }
  });
  loss_aap += std::accumulate(row_loss.begin(), row_loss.begin() + nu, 0.0);
  loss_map += std::accumulate(row_loss.begin() + nu, row_loss.end(), 0.0);
  // dH = dS MA; dMA += dS^T H; heads backward into dX; dF[rows] += dX
  thin_nn(n, d, A1, S.data(), A1, MA, d, false, nullptr, false, dH.data(), d);
  thin_tn(n, A1, d, S.data(), A1, H.data(), d, P.grad(m.attribute_embeddings_id()), d, nullptr);
  if (nu > 0)
    linear_backward(X.data(), nu, d, P.value(h.aap->w), d, dH.data(), dX.data(), false, P.grad(h.aap->w),
                    P.grad(h.aap->b));
  if (nm > 0)
    linear_backward(X.data() + size_t(nu) * d, nm, d, P.value(h.map->w), d, dH.data() + size_t(nu) * d,
                    dX.data() + size_t(nu) * d, false, P.grad(h.map->w), P.grad(h.map->b));
  scatter_add_rows(dX.data(), rows.data(), n, d, dF, false);
}

// MIP at masked rows: -log sigmoid(f(pos) - f(neg)), f(x) = sigmoid(e_x . (W F + b)).
double masked_item_objective(S3RecModel& m, Workspace& ws, const S3RecModel::Linear& head, float w, const float* F, float* dF,
                             const std::vector<int>& rows, const std::vector<int>& pos, const std::vector<int>& neg) {
  ParamStore& P = m.params();
  const int d = m.config().hidden_size, n = int(rows.size());
  if (n == 0) return 0.0;
  // the workspace's head buffers (not fresh vectors: those cost page faults and zeroing every step)
  std::vector<float>&X = ws.head_x, &H = ws.head_h, &dH = ws.head_dh, &dEp = ws.head_dep, &dEn = ws.head_den,
  &dX = ws.head_dx;
  for (std::vector<float>* v : {&X, &H, &dH, &dEp, &dEn, &dX}) v->resize(size_t(n) * d);
  gather_rows(F, rows.data(), n, d, X.data());
  linear_forward(X.data(), n, d, P.value(head.w), P.value(head.b), d, H.data());
  const float* E = P.value(m.item_embeddings_id());
  std::vector<double> row_loss(n);
#pragma omp parallel for schedule(static)
  for (int r = 0; r < n; ++r) {
    const float* h = H.data() + size_t(r) * d;
    const float* ep = E + size_t(pos[r]) * d;
    const float* en = E + size_t(neg[r]) * d;
    float sp = 0.0f, sn = 0.0f;
    for (int j = 0; j < d; ++j) {
      sp += h[j] * ep[j];
      sn += h[j] * en[j];
    }
    const float fp = sigmoid(sp), fn = sigmoid(sn), q = sigmoid(fp - fn);
    row_loss[r] = bce(q, true);
    const float dd = w * bce_sigmoid_grad(q, true);
    const float dsp = dd * fp * (1.0f - fp), dsn = -dd * fn * (1.0f - fn);
    float* dh = dH.data() + size_t(r) * d;
    float* dep = dEp.data() + size_t(r) * d;
    float* den = dEn.data() + size_t(r) * d;
    for (int j = 0; j < d; ++j) {
      dh[j] = dsp * ep[j] + dsn * en[j];
      dep[j] = dsp * h[j];
      den[j] = dsn * h[j];
    }
  }
  RowSparseGrad& gE = P.row_grad(m.item_embeddings_id());
  gE.scatter_add(dEp.data(), pos.data(), n, true);
  gE.scatter_add(dEn.data(), neg.data(), n, true);
  linear_backward(X.data(), n, d, P.value(head.w), d, dH.data(), dX.data(), false, P.grad(head.w), P.grad(head.b));
  scatter_add_rows(dX.data(), rows.data(), n, d, dF, false);
  return ordered_sum(row_loss);
}

// SP over B samples: C, Pp, Nn are [B x d] final states of the context, positive and
// negative segment sequences; -log sigmoid(g(s+) - g(s-)), g(y) = sigmoid(y . (W c + b)).
double segment_objective(S3RecModel& m, Workspace& ws, const S3RecModel::Linear& head, float w, int B, const float* C,
                         const float* Pp, const float* Nn, float* dC, float* dP, float* dN) {
  ParamStore& P = m.params();
  const int d = m.config().hidden_size;
  std::vector<float>&S = ws.head_h, &dS = ws.head_dh;  // free again once the masked objectives are done
  S.resize(size_t(B) * d);
  dS.resize(size_t(B) * d);
  linear_forward(C, B, d, P.value(head.w), P.value(head.b), d, S.data());
  std::vector<double> row_loss(B);
#pragma omp parallel for schedule(static)
  for (int b = 0; b < B; ++b) {
    const float* s = S.data() + size_t(b) * d;
    const float* p = Pp + size_t(b) * d;
    const float* q = Nn + size_t(b) * d;
    float zp = 0.0f, zn = 0.0f;
    for (int j = 0; j < d; ++j) {
      zp += s[j] * p[j];
      zn += s[j] * q[j];
    }
    const float gp = sigmoid(zp), gn = sigmoid(zn), dist = sigmoid(gp - gn);
    row_loss[b] = bce(dist, true);
    const float dd = w * bce_sigmoid_grad(dist, true);
    const float dzp = dd * gp * (1.0f - gp), dzn = -dd * gn * (1.0f - gn);
    float* ds = dS.data() + size_t(b) * d;
    float* dp = dP + size_t(b) * d;
    float* dq = dN + size_t(b) * d;
    for (int j = 0; j < d; ++j) {
      ds[j] = dzp * p[j] + dzn * q[j];
      dp[j] += dzp * s[j];
      dq[j] += dzn * s[j];
    }
  }
  linear_backward(C, B, d, P.value(head.w), d, dS.data(), dC, true, P.grad(head.w), P.grad(head.b));
  return ordered_sum(row_loss);
}

void check_batch(const PretrainBatch& b, const ModelConfig& c) {
  const int B = b.masked.num_seqs();
  const auto same_shape = [&](const PackedSeqs& s) { return s.offsets == b.masked.offsets; };
  if (!same_shape(b.context) || !same_shape(b.pos_segment) || !same_shape(b.neg_segment))
    throw std::invalid_argument("pretrain batch: segment sequences must match the masked sequences' lengths");
  if (b.pos_items.size() != b.masked.items.size() || b.neg_items.size() != b.masked.items.size())
    throw std::invalid_argument("pretrain batch: pos_items/neg_items must have one entry per token");
  for (int it : b.masked.items)
    if (it < 1 || it > c.mask_id()) throw std::invalid_argument("pretrain batch: item id out of range");
  for (int it : b.pos_items)
    if (it < 1 || it > c.n_items) throw std::invalid_argument("pretrain batch: positive item out of range");
  (void)B;
}

}  // namespace

PretrainLosses S3RecModel::pretrain_step(const PretrainBatch& batch, const AttributeTable& attrs,
                                         const PretrainWeights& w, bool train, uint64_t key) {
  check_batch(batch, cfg_);
  if (int(attrs.offsets.size()) < cfg_.item_rows())
    throw std::invalid_argument("pretrain: attribute table has fewer rows than the item vocabulary");
  PretrainLosses out;
  const int B = batch.masked.num_seqs(), d = cfg_.hidden_size;
  if (B == 0) return out;
  const bool use_masked = w.aap != 0.0f || w.mip != 0.0f || w.map != 0.0f;
  const bool use_sp = w.sp != 0.0f;
  if (!use_masked && !use_sp) return out;

  PackedSeqs all;
  if (use_masked) all = batch.masked;
  if (use_sp)
    for (const PackedSeqs* s : {&batch.context, &batch.pos_segment, &batch.neg_segment})
      for (int b = 0; b < B; ++b) all.add({s->items.data() + s->offsets[b], size_t(s->length(b))});
  Workspace& ws = *ws_;
  encoder_layout(ws, all, use_masked ? B : 0, false, cfg_.max_seq_length, cfg_.n_heads);
  encoder_forward(*this, ws, train, key);
  const float* F = ws.out();
  std::vector<float>& dF = ws.head_dF;
  dF.assign(size_t(ws.out_rows()) * d, 0.0f);

  if (use_masked) {
    const int T1 = batch.masked.num_tokens(), mask = cfg_.mask_id();
    std::vector<int> rows, items, mrows, mpos, mneg;  // attribute rows: unmasked (AAP) then masked (MAP)
    if (w.aap != 0.0f)
      for (int t = 0; t < T1; ++t)
        if (batch.masked.items[t] != mask) {
          rows.push_back(t);
          items.push_back(batch.pos_items[t]);
        }
    const int nu = int(rows.size());
    for (int t = 0; t < T1; ++t)
      if (batch.masked.items[t] == mask) {
        if (w.map != 0.0f) {
          rows.push_back(t);
          items.push_back(batch.pos_items[t]);
        }
        mrows.push_back(t);
        mpos.push_back(batch.pos_items[t]);
        mneg.push_back(batch.neg_items[t]);
      }
    for (int it : mneg)
      if (it < 1 || it > cfg_.n_items) throw std::invalid_argument("pretrain batch: negative item out of range");
    attribute_objectives(*this, ws, {&aap_, &map_, w.aap, w.map}, attrs, F, dF.data(), rows, items, nu, out.aap,
                         out.map);
    if (w.mip != 0.0f) out.mip = masked_item_objective(*this, ws, mip_, w.mip, F, dF.data(), mrows, mpos, mneg);
  }
  if (use_sp) {
    const size_t base = use_masked ? size_t(batch.masked.num_tokens()) : 0;
    const float* C = F + base * d;
    float* dC = dF.data() + base * d;
    const size_t stride = size_t(B) * d;
    out.sp = segment_objective(*this, ws, sp_, w.sp, B, C, C + stride, C + 2 * stride, dC, dC + stride, dC + 2 * stride);
  }
  encoder_backward(*this, ws, dF.data());
  return out;
}

}  // namespace s3rec
