#pragma once
// Forward caches of one encoder pass over a packed batch, kept for the backward pass.
#include <cstdint>
#include <vector>

#include "tensor/attention.h"

namespace s3rec {

struct LayerCache {
  bool subset = false;            // queries only at some rows (the last layer, when asked)
  std::vector<float> xq;          // [Tq x d] gathered query rows (subset only)
  std::vector<float> q;           // [Tq x d] queries (subset only)
  std::vector<float> kv;          // [T x 3d] queries | keys | values, or [T x 2d] keys | values (subset)
  std::vector<float> probs;       // attention probabilities before dropout
  std::vector<uint8_t> keep_attn;
  std::vector<float> ctx;         // [Tq x d]
  std::vector<uint8_t> keep1;     // dropout after the attention output projection
  std::vector<float> xhat1, rstd1;
  std::vector<float> a;           // [Tq x d] attention sub-layer output
  std::vector<float> f1, g;       // [Tq x inner] before / after the activation
  std::vector<uint8_t> keep2;     // dropout after the second feed-forward projection
  std::vector<float> xhat2, rstd2;
  std::vector<float> out;         // [Tq x d] layer output
};

struct Workspace {
  // Token layout. Sequences [0, full_seqs) want the final output at every
  // token; the others only at their last token.
  int B = 0, T = 0, full_seqs = 0;
  bool causal = false;
  std::vector<int> items, koff, pos;            // [T], [B+1], [T] position ids
  std::vector<int> qpos_all;                    // [T] index within its sequence
  std::vector<size_t> poff_all;                 // [B+1] probability blocks, all heads
  std::vector<int> qrows, qoff_last, qpos_last; // final layer queries
  std::vector<size_t> poff_last;
  AttnLayout layout_all, layout_last;

  // Embedding layer
  std::vector<float> emb_xhat, emb_rstd, x0;
  std::vector<uint8_t> emb_keep;

  std::vector<LayerCache> layers;

  // Backward scratch
  std::vector<float> dx, dx_prev, dtmp, dctx, dq, dkv, dinner, dxq;

  // Pre-training heads, reused across steps (sgemm overwrites them: no zeroing needed)
  std::vector<float> head_x, head_h, head_s, head_dh, head_dx, head_dF, head_dep, head_den;

  bool train = false;

  int out_rows() const { return int(qrows.size()); }
  const float* out() const { return layers.back().out.data(); }
};

}  // namespace s3rec
