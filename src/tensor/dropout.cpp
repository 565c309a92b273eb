#include "tensor/dropout.h"

#include <algorithm>

#include "s3rec/rng.h"
#include "tensor/simd.h"

namespace s3rec {
namespace {

constexpr size_t kChunk = 8192;  // a multiple of 4: one hash per four elements

S3REC_CLONES void forward_chunk(float* x, size_t begin, size_t n, uint32_t thr, float scale, uint64_t key,
                                uint8_t* keep) {
  for (size_t i = 0; i < n; ++i) {
    const uint8_t k = dropout_u16(key, begin + i) >= thr;
    keep[i] = k;
    x[i] = k ? x[i] * scale : 0.0f;
  }
}

S3REC_CLONES void backward_chunk(float* dx, size_t n, float scale, const uint8_t* keep) {
  for (size_t i = 0; i < n; ++i) dx[i] = keep[i] ? dx[i] * scale : 0.0f;
}

}  // namespace

void dropout_forward(float* X, size_t n, float p, uint64_t key, uint8_t* keep) {
  if (p <= 0.0f) return;
  const float scale = 1.0f / (1.0f - p);
  const uint32_t thr = dropout_threshold(p);
  const long chunks = long((n + kChunk - 1) / kChunk);
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (long c = 0; c < chunks; ++c) {
    const size_t b = size_t(c) * kChunk, len = std::min(kChunk, n - b);
    forward_chunk(X + b, b, len, thr, scale, key, keep + b);
  }
}

void dropout_backward(float* dX, size_t n, float p, const uint8_t* keep) {
  if (p <= 0.0f) return;
  const float scale = 1.0f / (1.0f - p);
  const long chunks = long((n + kChunk - 1) / kChunk);
#pragma omp parallel for schedule(static) if (chunks > 1)
  for (long c = 0; c < chunks; ++c) {
    const size_t b = size_t(c) * kChunk;
    backward_chunk(dX + b, std::min(kChunk, n - b), scale, keep + b);
  }
}

}  // namespace s3rec
