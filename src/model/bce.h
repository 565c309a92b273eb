#pragma once
// torch.nn.BCELoss applied to a sigmoid output, as the reference computes it.
#include <algorithm>
#include <cmath>

namespace s3rec {

inline float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }

// -(y log p + (1 - y) log(1 - p)), the log clamped at -100 as PyTorch does.
inline float bce(float p, bool y) { return -std::max(std::log(y ? p : 1.0f - p), -100.0f); }

// d bce(sigmoid(s), y) / ds through autograd: (p - y) / max(p(1-p), 1e-12) * p(1-p).
inline float bce_sigmoid_grad(float p, bool y) {
  const float pq = p * (1.0f - p);
  return (p - (y ? 1.0f : 0.0f)) / std::max(pq, 1e-12f) * pq;
}

}  // namespace s3rec
