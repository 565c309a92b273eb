#pragma once
// Multi-head scaled dot-product attention over packed sequences: each sequence
// attends only within itself, so no padding is ever computed.
#include <cstddef>
#include <cstdint>
#include <functional>

namespace s3rec {

// Where the queries, keys and probabilities of each sequence live.
// Sequence b has keys/values at token rows [koff[b], koff[b+1]) and queries at
// rows [qoff[b], qoff[b+1]) of Q; query r sits at index qpos[r] inside its
// sequence (a causal query sees keys 0..qpos[r]). Its probabilities are an
// [heads x nq x nk] block starting at poff[b].
struct AttnLayout {
  int B = 0;
  const int* koff = nullptr;
  const int* qoff = nullptr;
  const int* qpos = nullptr;
  const size_t* poff = nullptr;
  bool causal = false;
};

// The sequences are handled in groups of whole sequences of about 64 tokens, one group per
// task. A group's hooks run on the thread that handles it: `before` ahead of the group's
// attention (the encoder computes the group's Q|K|V rows there, so attention reads them
// from cache), `after` once the group's results are final (the encoder's input gradient).
struct SeqGroupHooks {
  std::function<void(int b0, int b1)> before, after;  // sequences [b0, b1)
};

// ctx[Tq x d] = concat over heads of Dropout(softmax(Q_h K_h^T / sqrt(d/h) + mask)) V_h.
// Q rows have stride ldq, K and V rows stride ldkv. Saves probs (before dropout) and keep.
void attention_forward(const AttnLayout& L, const float* Q, int ldq, const float* K, const float* V, int ldkv, int d,
                       int heads, float p_drop, uint64_t key, float* probs, uint8_t* keep, float* ctx,
                       const SeqGroupHooks& hooks = {});

// dQ[Tq x d] (stride lddq) is overwritten; dK, dV (stride lddkv) are accumulated.
void attention_backward(const AttnLayout& L, const float* Q, int ldq, const float* K, const float* V, int ldkv, int d,
                        int heads, float p_drop, const float* probs, const uint8_t* keep, const float* dctx,
                        float* dQ, int lddq, float* dK, float* dV, int lddkv, const SeqGroupHooks& hooks = {});

}  // namespace s3rec
