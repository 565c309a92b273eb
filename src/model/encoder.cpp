#include "model/encoder.h"

#include <algorithm>
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

void add_into(float* y, const float* x, size_t n) {
#pragma omp parallel for schedule(static) if (n > 65536)
  for (size_t i = 0; i < n; ++i) y[i] += x[i];
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
      gather_rows(in, ws.qrows.data(), Tq, d, L.xq.data());
      xq = L.xq.data();
    }
    const float* Wqkv = P.value(Lp.qkv_w);
    const float* bqkv = P.value(Lp.qkv_b);
    if (L.subset) {  // q [Tq x d] at the query rows; k|v [T x 2d] at every token
      L.q.resize(size_t(Tq) * d);
      linear_forward(xq, Tq, d, Wqkv, bqkv, d, L.q.data());
      L.kv.resize(size_t(T) * 2 * d);
      linear_forward(in, T, d, Wqkv + size_t(d) * d, bqkv + d, 2 * d, L.kv.data());
    } else {  // q|k|v [T x 3d] in one product
      L.kv.resize(size_t(T) * 3 * d);
      linear_forward(in, T, d, Wqkv, bqkv, 3 * d, L.kv.data());
    }
    const Projections pr = projections(L, d);
    const size_t np = last ? ws.poff_last.back() : ws.poff_all.back();
    L.probs.resize(np);
    L.keep_attn.resize(pa > 0 ? np : 0);
    L.ctx.resize(size_t(Tq) * d);
    attention_forward(lay, pr.q, pr.ldq, pr.k, pr.v, pr.ldkv, d, H, pa, site_key(key, l + 1, 1), L.probs.data(),
                      L.keep_attn.data(), L.ctx.data());
    // a = LayerNorm(Dropout(dense(ctx)) + xq)        [Tq x d]
    L.a.resize(size_t(Tq) * d);
    linear_forward(L.ctx.data(), Tq, d, P.value(Lp.dense.w), P.value(Lp.dense.b), d, L.a.data());
    L.keep1.resize(ph > 0 ? size_t(Tq) * d : 0);
    L.xhat1.resize(size_t(Tq) * d);
    L.rstd1.resize(Tq);
    dropout_residual_norm_forward(L.a.data(), xq, Tq, d, ph, site_key(key, l + 1, 2), P.value(Lp.ln1.g),
                                  P.value(Lp.ln1.b), c.layer_norm_eps, L.keep1.data(), L.xhat1.data(),
                                  L.rstd1.data());
    // out = LayerNorm(Dropout(W2 act(W1 a + b1) + b2) + a)
    L.f1.resize(size_t(Tq) * inner);
    L.g.resize(size_t(Tq) * inner);
    linear_forward(L.a.data(), Tq, d, P.value(Lp.ff1.w), P.value(Lp.ff1.b), inner, L.f1.data());
    activation_forward(c.hidden_act, L.f1.data(), L.g.data(), size_t(Tq) * inner);
    L.out.resize(size_t(Tq) * d);
    linear_forward(L.g.data(), Tq, inner, P.value(Lp.ff2.w), P.value(Lp.ff2.b), d, L.out.data());
    L.keep2.resize(ph > 0 ? size_t(Tq) * d : 0);
    L.xhat2.resize(size_t(Tq) * d);
    L.rstd2.resize(Tq);
    dropout_residual_norm_forward(L.out.data(), L.a.data(), Tq, d, ph, site_key(key, l + 1, 3), P.value(Lp.ln2.g),
                                  P.value(Lp.ln2.b), c.layer_norm_eps, L.keep2.data(), L.xhat2.data(),
                                  L.rstd2.data());
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
                    P.grad(Lp.ff2.b));
    activation_backward(c.hidden_act, L.f1.data(), L.g.data(), ws.dinner.data(), ws.dinner.data(),
                        size_t(Tq) * inner);
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
    ws.dkv.assign(size_t(T) * ldg, 0.0f);
    float* dq = ws.dkv.data();
    int lddq = ldg;
    if (L.subset) {
      ws.dq.resize(nq);
      dq = ws.dq.data();
      lddq = d;
    }
    float* dk = ws.dkv.data() + (L.subset ? 0 : d);
    attention_backward(last ? ws.layout_last : ws.layout_all, pr.q, pr.ldq, pr.k, pr.v, pr.ldkv, d, H, pa,
                       L.probs.data(), L.keep_attn.data(), ws.dctx.data(), dq, lddq, dk, dk + d, ldg);
    const float* Wqkv = P.value(Lp.qkv_w);
    float* gW = P.grad(Lp.qkv_w);
    float* gb = P.grad(Lp.qkv_b);
    ws.dx.resize(size_t(T) * d);
    if (L.subset) {
      linear_backward(xq, Tq, d, Wqkv, d, dq, da, true, gW, gb);
      linear_backward(in, T, d, Wqkv + size_t(d) * d, 2 * d, ws.dkv.data(), ws.dx.data(), false, gW + size_t(d) * d,
                      gb + d);
      scatter_add_rows(da, ws.qrows.data(), Tq, d, ws.dx.data(), false);
    } else {
      linear_backward(in, T, d, Wqkv, 3 * d, ws.dkv.data(), ws.dx.data(), false, gW, gb);
      add_into(ws.dx.data(), da, nq);
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
