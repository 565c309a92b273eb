#include "tensor/attention.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "s3rec/rng.h"
#include "tensor/simd.h"

namespace s3rec {
namespace {

// One query of one head: p[nk] = softmax over visible keys, ctx[dh] = sum_j dropout(p_j) v_j.
S3REC_CLONES void query_forward(const float* q, const float* K, const float* V, int ldkv, int dh, int nk, int vis,
                                float scale, float p_drop, uint64_t key, size_t counter, float* p, uint8_t* keep,
                                float* ctx) {
  float mx = -INFINITY;
  for (int j = 0; j < vis; ++j) {
    const float* k = K + size_t(j) * ldkv;
    float s = 0.0f;
    for (int c = 0; c < dh; ++c) s += q[c] * k[c];
    s *= scale;
    p[j] = s;
    mx = s > mx ? s : mx;
  }
  float sum = 0.0f;
  for (int j = 0; j < vis; ++j) {
    p[j] = std::exp(p[j] - mx);
    sum += p[j];
  }
  const float inv = 1.0f / sum;
  for (int j = 0; j < vis; ++j) p[j] *= inv;
  for (int j = vis; j < nk; ++j) p[j] = 0.0f;
  for (int c = 0; c < dh; ++c) ctx[c] = 0.0f;
  const float dscale = p_drop > 0.0f ? 1.0f / (1.0f - p_drop) : 1.0f;
  const uint32_t thr = dropout_threshold(p_drop);
  for (int j = 0; j < vis; ++j) {
    float w = p[j];
    if (p_drop > 0.0f) {
      const uint8_t kp = dropout_u16(key, counter + j) >= thr;
      keep[j] = kp;
      w = kp ? w * dscale : 0.0f;
    }
    const float* v = V + size_t(j) * ldkv;
    for (int c = 0; c < dh; ++c) ctx[c] += w * v[c];
  }
}

S3REC_CLONES void query_backward(const float* q, const float* K, const float* V, int ldkv, int dh, int vis,
                                 float scale, float p_drop, const float* p, const uint8_t* keep, const float* dc,
                                 float* dq, float* dK, float* dV, int lddkv, float* dp) {
  const float dscale = p_drop > 0.0f ? 1.0f / (1.0f - p_drop) : 1.0f;
  float dot = 0.0f;
  for (int j = 0; j < vis; ++j) {
    const float* v = V + size_t(j) * ldkv;
    float g = 0.0f;
    for (int c = 0; c < dh; ++c) g += dc[c] * v[c];
    float w = p[j];
    if (p_drop > 0.0f) {
      const float m = keep[j] ? dscale : 0.0f;
      g *= m;
      w *= m;
    }
    float* dv = dV + size_t(j) * lddkv;
    for (int c = 0; c < dh; ++c) dv[c] += w * dc[c];
    dp[j] = g;
    dot += g * p[j];
  }
  for (int c = 0; c < dh; ++c) dq[c] = 0.0f;
  for (int j = 0; j < vis; ++j) {
    const float ds = p[j] * (dp[j] - dot) * scale;
    const float* k = K + size_t(j) * ldkv;
    float* dk = dK + size_t(j) * lddkv;
    for (int c = 0; c < dh; ++c) {
      dq[c] += ds * k[c];
      dk[c] += ds * q[c];
    }
  }
}

// Sequence boundaries of the groups: whole sequences, at least kGroupTokens key rows each.
constexpr int kGroupTokens = 64;
std::vector<int> sequence_groups(const AttnLayout& L) {
  std::vector<int> g{0};
  for (int b = 0; b < L.B; ++b)
    if (L.koff[b + 1] - L.koff[g.back()] >= kGroupTokens || b + 1 == L.B) g.push_back(b + 1);
  return g;
}

}  // namespace

void attention_forward(const AttnLayout& L, const float* Q, int ldq, const float* K, const float* V, int ldkv, int d,
                       int heads, float p_drop, uint64_t key, float* probs, uint8_t* keep, float* ctx,
                       const SeqGroupHooks& hooks) {
  const int dh = d / heads;
  const float scale = 1.0f / std::sqrt(float(dh));
  const std::vector<int> groups = sequence_groups(L);
  const int ng = int(groups.size()) - 1;
#pragma omp parallel for schedule(dynamic, 1)
  for (int g = 0; g < ng; ++g) {
    if (hooks.before) hooks.before(groups[g], groups[g + 1]);
    for (int b = groups[g]; b < groups[g + 1]; ++b) {
      const int k0 = L.koff[b], nk = L.koff[b + 1] - k0;
      const int q0 = L.qoff[b], nq = L.qoff[b + 1] - q0;
      for (int h = 0; h < heads; ++h) {
        for (int i = 0; i < nq; ++i) {
          const int r = q0 + i;
          const int vis = L.causal ? L.qpos[r] + 1 : nk;
          const size_t po = L.poff[b] + (size_t(h) * nq + i) * nk;
          query_forward(Q + size_t(r) * ldq + h * dh, K + size_t(k0) * ldkv + h * dh, V + size_t(k0) * ldkv + h * dh,
                        ldkv, dh, nk, vis, scale, p_drop, key, po, probs + po,
                        keep ? keep + po : nullptr,  // no dropout: no mask (null + offset is undefined)
                        ctx + size_t(r) * d + h * dh);
        }
      }
    }
    if (hooks.after) hooks.after(groups[g], groups[g + 1]);
  }
}

void attention_backward(const AttnLayout& L, const float* Q, int ldq, const float* K, const float* V, int ldkv, int d,
                        int heads, float p_drop, const float* probs, const uint8_t* keep, const float* dctx,
                        float* dQ, int lddq, float* dK, float* dV, int lddkv, const SeqGroupHooks& hooks) {
  const int dh = d / heads;
  const float scale = 1.0f / std::sqrt(float(dh));
  const std::vector<int> groups = sequence_groups(L);
  const int ng = int(groups.size()) - 1;
#pragma omp parallel
  {
    std::vector<float> dp;
#pragma omp for schedule(dynamic, 1)
    for (int g = 0; g < ng; ++g) {
      if (hooks.before) hooks.before(groups[g], groups[g + 1]);
      for (int b = groups[g]; b < groups[g + 1]; ++b) {
        const int k0 = L.koff[b], nk = L.koff[b + 1] - k0;
        const int q0 = L.qoff[b], nq = L.qoff[b + 1] - q0;
        dp.resize(size_t(nk));
        for (int h = 0; h < heads; ++h) {
          for (int i = 0; i < nq; ++i) {
            const int r = q0 + i;
            const int vis = L.causal ? L.qpos[r] + 1 : nk;
            const size_t po = L.poff[b] + (size_t(h) * nq + i) * nk;
            query_backward(Q + size_t(r) * ldq + h * dh, K + size_t(k0) * ldkv + h * dh,
                           V + size_t(k0) * ldkv + h * dh, ldkv, dh, vis, scale, p_drop, probs + po,
                           keep ? keep + po : nullptr,
                           dctx + size_t(r) * d + h * dh, dQ + size_t(r) * lddq + h * dh,
                           dK + size_t(k0) * lddkv + h * dh, dV + size_t(k0) * lddkv + h * dh, lddkv, dp.data());
          }
        }
      }
      if (hooks.after) hooks.after(groups[g], groups[g + 1]);
    }
  }
}

}  // namespace s3rec
