#include "tensor/dropout.h"

#include "s3rec/rng.h"

namespace s3rec {

void dropout_forward(float* X, size_t n, float p, uint64_t key, uint8_t* keep) {
  if (p <= 0.0f) return;
  const float scale = 1.0f / (1.0f - p);
#pragma omp parallel for schedule(static) if (n > 16384)
  for (size_t i = 0; i < n; ++i) {
    const uint8_t k = hash_uniform(key, i) >= p;
    keep[i] = k;
    X[i] = k ? X[i] * scale : 0.0f;
  }
}

void dropout_backward(float* dX, size_t n, float p, const uint8_t* keep) {
  if (p <= 0.0f) return;
  const float scale = 1.0f / (1.0f - p);
#pragma omp parallel for schedule(static) if (n > 16384)
  for (size_t i = 0; i < n; ++i) dX[i] = keep[i] ? dX[i] * scale : 0.0f;
}

}  // namespace s3rec
