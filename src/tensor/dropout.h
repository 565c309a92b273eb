#pragma once
// Inverted dropout with counter-based randomness: the mask of element i depends
// only on (key, i), never on thread count or scheduling.
#include <cstddef>
#include <cstdint>

namespace s3rec {

// X[n] = X * keep / (1 - p), keep[i] = (u(key, i) >= p); keep saved for backward. p = 0: no-op.
void dropout_forward(float* X, size_t n, float p, uint64_t key, uint8_t* keep);

// dX[n] = dX * keep / (1 - p)
void dropout_backward(float* dX, size_t n, float p, const uint8_t* keep);

}  // namespace s3rec
