#include "tensor/activation.h"

#include <algorithm>
#include <cmath>
#include <omp.h>

#include "tensor/simd.h"

namespace s3rec {
namespace {

constexpr float kInvSqrt2 = 0.70710678118654752440f;
constexpr float kInvSqrt2Pi = 0.39894228040143267794f;

// exp's argument capped at 88: an overflowing exp becomes NaN in -ffast-math vector code
inline float sigmoidf(float x) { return 1.0f / (1.0f + std::exp(std::min(-x, 88.0f))); }

S3REC_CLONES void forward_chunk(Activation a, const float* x, float* y, size_t n) {
  switch (a) {
    case Activation::Gelu:
      for (size_t i = 0; i < n; ++i) y[i] = x[i] * 0.5f * (1.0f + std::erf(x[i] * kInvSqrt2));
      break;
    case Activation::Relu:
      for (size_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
      break;
    case Activation::Swish:
      for (size_t i = 0; i < n; ++i) y[i] = x[i] * sigmoidf(x[i]);
      break;
    case Activation::Tanh:
      for (size_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
      break;
    case Activation::Sigmoid:
      for (size_t i = 0; i < n; ++i) y[i] = sigmoidf(x[i]);
      break;
  }
}

S3REC_CLONES void backward_chunk(Activation a, const float* x, const float* y, const float* dy, float* dx, size_t n) {
  switch (a) {
    case Activation::Gelu:  // 0.5 (1 + erf(x/sqrt2)) + x * pdf(x)
      for (size_t i = 0; i < n; ++i) {
        const float cdf = 0.5f * (1.0f + std::erf(x[i] * kInvSqrt2));
        const float pdf = kInvSqrt2Pi * std::exp(-0.5f * x[i] * x[i]);
        dx[i] = dy[i] * (cdf + x[i] * pdf);
      }
      break;
    case Activation::Relu:
      for (size_t i = 0; i < n; ++i) dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
      break;
    case Activation::Swish:  // s + x s (1 - s)
      for (size_t i = 0; i < n; ++i) {
        const float s = sigmoidf(x[i]);
        dx[i] = dy[i] * (s + x[i] * s * (1.0f - s));
      }
      break;
    case Activation::Tanh:
      for (size_t i = 0; i < n; ++i) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
      break;
    case Activation::Sigmoid:
      for (size_t i = 0; i < n; ++i) dx[i] = dy[i] * y[i] * (1.0f - y[i]);
      break;
  }
}

constexpr size_t kChunk = 4096;

}  // namespace

void activation_forward(Activation a, const float* X, float* Y, size_t n) {
  const long chunks = long((n + kChunk - 1) / kChunk);
#pragma omp parallel for schedule(static) if (chunks > 1 && !omp_in_parallel())
  for (long c = 0; c < chunks; ++c) {
    const size_t b = size_t(c) * kChunk;
    forward_chunk(a, X + b, Y + b, std::min(kChunk, n - b));
  }
}

void activation_backward(Activation a, const float* X, const float* Y, const float* dY, float* dX, size_t n) {
  const long chunks = long((n + kChunk - 1) / kChunk);
#pragma omp parallel for schedule(static) if (chunks > 1 && !omp_in_parallel())
  for (long c = 0; c < chunks; ++c) {
    const size_t b = size_t(c) * kChunk;
    backward_chunk(a, X + b, Y + b, dY + b, dX + b, std::min(kChunk, n - b));
  }
}

}  // namespace s3rec
