#include "model/encoder.h"

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string>

#include "s3rec/rng.h"
#include "tensor/activation.h"
#include "tensor/dropout.h"
#include "tensor/embedding.h"
#include "tensor/layer_norm.h"
#include "tensor/linear.h"
#include "tensor/rows.h"

namespace s3rec {
namespace {

// Dropout sites get independent streams derived from the step's key.
uint64_t site_key(uint64_t key, int layer, int site) { return splitmix64(key ^ splitmix64(uint64_t(layer) * 16 + site)); }

// Where the attention inputs of a layer live (see LayerCache::kv).
struct Projections {
  const float *q, *k, *v;
  int ldq, ldkv;
};
Projections projections(const LayerCache& L, int d) {
  const float* kv = L.kv.data();
  if (L.subset) return {L.q.data(), kv, kv + d, d, 2 * d};
  return {kv, kv + d, kv + 2 * d, 3 * d, 3 * d};
}

}  // namespace

void encoder_layout(Workspace& ws, const PackedSeqs& seqs, int full_seqs, bool causal, int max_len, int heads) {
  const int B = seqs.num_seqs();
  ws.B = B;
  ws.T = seqs.num_tokens();
  ws.full_seqs = std::min(full_seqs, B);
  ws.causal = causal;
  ws.items = seqs.items;
  ws.koff = seqs.offsets;
  ws.pos.resize(ws.T);
  ws.qpos_all.resize(ws.T);
  ws.poff_all.assign(B + 1, 0);
  ws.qrows.clear();
  ws.qoff_last.assign(1, 0);
  ws.qpos_last.clear();
  ws.poff_last.assign(1, 0);
  for (int b = 0; b < B; ++b) {
    const int n = seqs.length(b), o = seqs.offsets[b];
    if (n <= 0) throw std::invalid_argument("encoder: sequence " + std::to_string(b) + " is empty");
    if (n > max_len)
      throw std::invalid_argument("encoder: sequence of length " + std::to_string(n) + " exceeds max_seq_length " +
                                  std::to_string(max_len));
    for (int i = 0; i < n; ++i) {
      ws.pos[o + i] = max_len - n + i;
      ws.qpos_all[o + i] = i;
    }
    ws.poff_all[b + 1] = ws.poff_all[b] + size_t(heads) * n * n;
    const int first = b < ws.full_seqs ? 0 : n - 1;
    for (int i = first; i < n; ++i) {
      ws.qrows.push_back(o + i);
      ws.qpos_last.push_back(i);
    }
    ws.qoff_last.push_back(int(ws.qrows.size()));
    ws.poff_last.push_back(ws.poff_last.back() + size_t(heads) * (n - first) * n);
  }
  ws.layout_all = {B, ws.koff.data(), ws.koff.data(), ws.qpos_all.data(), ws.poff_all.data(), causal};
  ws.layout_last = {B, ws.koff.data(), ws.qoff_last.data(), ws.qpos_last.data(), ws.poff_last.data(), causal};
}

void encoder_forward(const S3RecModel& m, Workspace& ws, bool train, uint64_t key) {
  const ModelConfig& c = m.config();
  const ParamStore& P = m.params();
  const int d = c.hidden_size, T = ws.T, inner = c.inner_size, H = c.n_heads;
  const float ph = train ? c.hidden_dropout_prob : 0.0f, pa = train ? c.attn_dropout_prob : 0.0f;
  ws.train = train;

  // x0 = Dropout(LayerNorm(item_emb + pos_emb))     [T x d]
  ws.x0.resize(size_t(T) * d);
  ws.emb_xhat.resize(size_t(T) * d);
  ws.emb_rstd.resize(T);
  embedding_forward(ws.items.data(), ws.pos.data(), T, d, P.value(m.item_embeddings_id()),
                    P.value(m.position_embeddings_id()), ws.x0.data());
  layer_norm_forward(ws.x0.data(), T, d, P.value(m.embedding_norm().g), P.value(m.embedding_norm().b),
                     c.layer_norm_eps, ws.x0.data(), ws.emb_xhat.data(), ws.emb_rstd.data());
  ws.emb_keep.resize(ph > 0 ? size_t(T) * d : 0);
  dropout_forward(ws.x0.data(), size_t(T) * d, ph, site_key(key, 0, 0), ws.emb_keep.data());

  ws.layers.resize(c.n_layers);
  const float* in = ws.x0.data();
  for (int l = 0; l < c.n_layers; ++l) {
    const S3RecModel::Layer& Lp = m.layers()[l];
    LayerCache& L = ws.layers[l];
    const bool last = l == c.n_layers - 1;
    L.subset = last && ws.full_seqs < ws.B;
    const AttnLayout& lay = last ? ws.layout_last : ws.layout_all;
    const int Tq = last ? ws.out_rows() : T;
    const float* xq = in;
    if (L.subset) {
      L.xq.resize(size_t(Tq) * d);
      xq = L.xq.data();
      L.q.resize(size_t(Tq) * d);      // q [Tq x d] at the query rows
      L.kv.resize(size_t(T) * 2 * d);  // k|v [T x 2d] at every token
    } else {
      L.kv.resize(size_t(T) * 3 * d);  // q|k|v [T x 3d] in one product
    }
    const float* Wqkv = P.value(Lp.qkv_w);
    const float* bqkv = P.value(Lp.qkv_b);
    const SmallOperand w_first(d, L.subset ? d : 3 * d, Wqkv, d, true, L.subset ? Tq : T);  // Wq (subset) or Wqkv
    std::optional<SmallOperand> w_kv;
    if (L.subset) w_kv.emplace(d, 2 * d, Wqkv + size_t(d) * d, d, true, T);
    // Each group of sequences gets its projections from the thread that runs its attention,
    // just before it: attention then reads them from cache.
    SeqGroupHooks project;
    project.before = [&](int b0, int b1) {
      const int k0 = ws.koff[b0], k1 = ws.koff[b1];
      if (!L.subset) {
        w_first.multiply_rows(k0, k1, in, d, bqkv, false, L.kv.data(), 3 * d);
        return;
      }
      const int q0 = lay.qoff[b0], q1 = lay.qoff[b1];
      for (int r = q0; r < q1; ++r)
        std::copy_n(in + size_t(ws.qrows[r]) * d, d, L.xq.data() + size_t(r) * d);
      w_kv->multiply_rows(k0, k1, in, d, bqkv + d, false, L.kv.data(), 2 * d);
      w_first.multiply_rows(q0, q1, L.xq.data(), d, bqkv, false, L.q.data(), d);
    };
    const Projections pr = projections(L, d);
    const size_t np = last ? ws.poff_last.back() : ws.poff_all.back();
    L.probs.resize(np);
    L.keep_attn.resize(pa > 0 ? np : 0);
    L.ctx.resize(size_t(Tq) * d);
    attention_forward(lay, pr.q, pr.ldq, pr.k, pr.v, pr.ldkv, d, H, pa, site_key(key, l + 1, 1), L.probs.data(),
                      L.keep_attn.data(), L.ctx.data(), project);
    // a = LayerNorm(Dropout(dense(ctx)) + xq)        [Tq x d]
    L.a.resize(size_t(Tq) * d);
    // (the dropout, residual and layer norm run on each block of rows the product finishes)
    L.keep1.resize(ph > 0 ? size_t(Tq) * d : 0);
    L.xhat1.resize(size_t(Tq) * d);
    L.rstd1.resize(Tq);
    linear_forward(L.ctx.data(), Tq, d, P.value(Lp.dense.w), P.value(Lp.dense.b), d, L.a.data(), [&](int r0, int r1) {
      dropout_residual_norm_rows(L.a.data(), xq, r0, r1, d, ph, site_key(key, l + 1, 2), P.value(Lp.ln1.g),
                                 P.value(Lp.ln1.b), c.layer_norm_eps, L.keep1.data(), L.xhat1.data(), L.rstd1.data());
    });
    // out = LayerNorm(Dropout(W2 act(W1 a + b1) + b2) + a)
    L.f1.resize(size_t(Tq) * inner);
    L.g.resize(size_t(Tq) * inner);
    linear_forward(L.a.data(), Tq, d, P.value(Lp.ff1.w), P.value(Lp.ff1.b), inner, L.f1.data(), [&](int r0, int r1) {
      const size_t o = size_t(r0) * inner;
      activation_forward(c.hidden_act, L.f1.data() + o, L.g.data() + o, size_t(r1 - r0) * inner);
    });
    L.out.resize(size_t(Tq) * d);
    L.keep2.resize(ph > 0 ? size_t(Tq) * d : 0);
    L.xhat2.resize(size_t(Tq) * d);
    L.rstd2.resize(Tq);
    linear_forward(L.g.data(), Tq, inner, P.value(Lp.ff2.w), P.value(Lp.ff2.b), d, L.out.data(), [&](int r0, int r1) {
      dropout_residual_norm_rows(L.out.data(), L.a.data(), r0, r1, d, ph, site_key(key, l + 1, 3), P.value(Lp.ln2.g),
                                 P.value(Lp.ln2.b), c.layer_norm_eps, L.keep2.data(), L.xhat2.data(), L.rstd2.data());
    });
    in = L.out.data();
  }
}

void encoder_backward(S3RecModel& m, Workspace& ws, float* dout) {
  const ModelConfig& c = m.config();
  ParamStore& P = m.params();
  const int d = c.hidden_size, T = ws.T, inner = c.inner_size, H = c.n_heads;
  const float ph = ws.train ? c.hidden_dropout_prob : 0.0f, pa = ws.train ? c.attn_dropout_prob : 0.0f;

  float* dy = dout;  // gradient w.r.t. the current layer's output
  for (int l = c.n_layers - 1; l >= 0; --l) {
    const S3RecModel::Layer& Lp = m.layers()[l];
    LayerCache& L = ws.layers[l];
    const bool last = l == c.n_layers - 1;
    const int Tq = last ? ws.out_rows() : T;
    const float* in = l == 0 ? ws.x0.data() : ws.layers[l - 1].out.data();
    const float* xq = L.subset ? L.xq.data() : in;
    const size_t nq = size_t(Tq) * d;

    // Feed-forward sub-layer: dz2 into da (residual path) and, through dropout, into dy (in place)
    ws.dxq.resize(nq);
    dropout_residual_norm_backward(dy, L.xhat2.data(), L.rstd2.data(), Tq, d, P.value(Lp.ln2.g), ph,
                                   L.keep2.data(), ws.dxq.data(), dy, P.grad(Lp.ln2.g), P.grad(Lp.ln2.b));
    ws.dinner.resize(size_t(Tq) * inner);
    linear_backward(L.g.data(), Tq, inner, P.value(Lp.ff2.w), d, dy, ws.dinner.data(), false, P.grad(Lp.ff2.w),
                    P.grad(Lp.ff2.b), [&](int r0, int r1) {  // through the activation, rows as they finish
                      const size_t o = size_t(r0) * inner;
                      float* g = ws.dinner.data() + o;
                      activation_backward(c.hidden_act, L.f1.data() + o, L.g.data() + o, g, g, size_t(r1 - r0) * inner);
                    });
    linear_backward(L.a.data(), Tq, d, P.value(Lp.ff1.w), inner, ws.dinner.data(), ws.dxq.data(), true,
                    P.grad(Lp.ff1.w), P.grad(Lp.ff1.b));
    // Attention sub-layer: dz1 into da (in place; residual into xq) and, through dropout, into dtmp
    float* da = ws.dxq.data();
    ws.dtmp.resize(nq);
    dropout_residual_norm_backward(da, L.xhat1.data(), L.rstd1.data(), Tq, d, P.value(Lp.ln1.g), ph,
                                   L.keep1.data(), da, ws.dtmp.data(), P.grad(Lp.ln1.g), P.grad(Lp.ln1.b));
    ws.dctx.resize(nq);
    linear_backward(L.ctx.data(), Tq, d, P.value(Lp.dense.w), d, ws.dtmp.data(), ws.dctx.data(), false,
                    P.grad(Lp.dense.w), P.grad(Lp.dense.b));
    // dQ|dK|dV in the layout of the forward projections; then back through Wqkv:
    // dxq += dQ Wq and dx_in = dKV Wkv (subset), or dx_in = dQKV Wqkv (full); dx_in[query rows] += dxq
    const Projections pr = projections(L, d);
    const int ldg = L.subset ? 2 * d : 3 * d;
    ws.dkv.resize(size_t(T) * ldg);  // each group's rows are zeroed by its thread
    float* dq = ws.dkv.data();
    int lddq = ldg;
    if (L.subset) {
      ws.dq.resize(nq);
      dq = ws.dq.data();
      lddq = d;
    }
    float* dk = ws.dkv.data() + (L.subset ? 0 : d);
    const float* Wqkv = P.value(Lp.qkv_w);
    const SmallOperand w_first(L.subset ? d : 3 * d, d, Wqkv, d, false);  // back through Wq (subset) or Wqkv
    std::optional<SmallOperand> w_kv;
    if (L.subset) w_kv.emplace(2 * d, d, Wqkv + size_t(d) * d, d, false);
    ws.dx.resize(size_t(T) * d);
    float* dx = ws.dx.data();
    const AttnLayout& lay = last ? ws.layout_last : ws.layout_all;
    // per group of sequences, on its thread: dQ|dK|dV, then at once the input gradient of its rows:
    // dx_in = dKV Wkv, dxq += dQ Wq, dx_in[query rows] += dxq (subset); dx_in = da + dQKV Wqkv (full)
    SeqGroupHooks back;
    back.before = [&](int b0, int b1) {
      std::fill(ws.dkv.begin() + size_t(ws.koff[b0]) * ldg, ws.dkv.begin() + size_t(ws.koff[b1]) * ldg, 0.0f);
    };
    back.after = [&](int b0, int b1) {
      const int k0 = ws.koff[b0], k1 = ws.koff[b1];
      if (!L.subset) {
        std::copy(da + size_t(k0) * d, da + size_t(k1) * d, dx + size_t(k0) * d);
        w_first.multiply_rows(k0, k1, ws.dkv.data(), ldg, nullptr, true, dx, d);
        return;
      }
      const int q0 = lay.qoff[b0], q1 = lay.qoff[b1];
      w_kv->multiply_rows(k0, k1, ws.dkv.data(), ldg, nullptr, false, dx, d);
      w_first.multiply_rows(q0, q1, dq, d, nullptr, true, da, d);
      for (int r = q0; r < q1; ++r) {
        float* y = dx + size_t(ws.qrows[r]) * d;
        const float* x = da + size_t(r) * d;
        for (int j = 0; j < d; ++j) y[j] += x[j];
      }
    };
    attention_backward(lay, pr.q, pr.ldq, pr.k, pr.v, pr.ldkv, d, H, pa, L.probs.data(), L.keep_attn.data(),
                       ws.dctx.data(), dq, lddq, dk, dk + d, ldg, back);
    // the weight gradients over all rows
    float* gW = P.grad(Lp.qkv_w);
    float* gb = P.grad(Lp.qkv_b);
    if (L.subset) {
      thin_tn(Tq, d, d, dq, d, xq, d, gW, d, gb);
      thin_tn(T, 2 * d, d, ws.dkv.data(), ldg, in, d, gW + size_t(d) * d, d, gb + d);
    } else {
      thin_tn(T, 3 * d, d, ws.dkv.data(), ldg, in, d, gW, d, gb);
    }
    std::swap(ws.dx, ws.dx_prev);
    dy = ws.dx_prev.data();
  }

  // Embedding layer
  const size_t n0 = size_t(T) * d;
  dropout_backward(dy, n0, ph, ws.emb_keep.data());
  layer_norm_backward(dy, ws.emb_xhat.data(), ws.emb_rstd.data(), T, d, P.value(m.embedding_norm().g), dy,
                      P.grad(m.embedding_norm().g), P.grad(m.embedding_norm().b));
  embedding_backward(ws.items.data(), ws.pos.data(), T, d, dy, P.row_grad(m.item_embeddings_id()),
                     P.grad(m.position_embeddings_id()));
}

}  // namespace s3rec
