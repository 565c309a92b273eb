#include "tensor/sigmoid_bce.h"

#include <algorithm>
#include <cmath>

#include "tensor/simd.h"

namespace s3rec {

S3REC_CLONES double sigmoid_bce_negatives(float* s, int n, float weight) {
  float loss = 0.0f;
  for (int a = 0; a < n; ++a) {
    // exp's argument is capped at 88 (exp(88) < FLT_MAX): with -ffast-math the vector
    // code turns an overflowing exp into NaN. p then bottoms out at 6e-39 instead of 0.
    const float p = 1.0f / (1.0f + std::exp(std::min(-s[a], 88.0f)));
    loss -= std::max(std::log(1.0f - p), -100.0f);
    const float pq = p * (1.0f - p);
    s[a] = weight * (p / std::max(pq, 1e-12f) * pq);
  }
  return double(loss);
}

}  // namespace s3rec
