#include "tensor/layer_norm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "s3rec/rng.h"
#include "tensor/simd.h"

namespace s3rec {
namespace {

// Rows per block of the backward pass: dgamma and dbeta are summed per block, then the
// blocks in order, so the result does not depend on the number of threads.
constexpr int kRows = 64;

// sum over j < d of f(j) in kLanes interleaved partial sums, added up in a fixed order:
// vectorisable without -ffast-math, and the same result on every instruction set.
constexpr int kLanes = 16;
template <class F>
[[gnu::always_inline]] inline float lane_sum(int d, F f) {
  float acc[kLanes] = {};
  int j = 0;
  for (; j + kLanes <= d; j += kLanes)
    for (int u = 0; u < kLanes; ++u) acc[u] += f(j + u);
  for (; j < d; ++j) acc[j % kLanes] += f(j);
  float s = 0.0f;
  for (int u = 0; u < kLanes; ++u) s += acc[u];
  return s;
}

S3REC_CLONES float ln_row_forward(const float* x, int d, const float* gamma, const float* beta, float eps, float* y,
                                  float* xhat) {
  const float mean = lane_sum(d, [&](int j) { return x[j]; }) / float(d);
  const float var = lane_sum(d, [&](int j) { return (x[j] - mean) * (x[j] - mean); }) / float(d);
  const float rstd = 1.0f / std::sqrt(var + eps);
  for (int j = 0; j < d; ++j) {
    const float h = (x[j] - mean) * rstd;
    xhat[j] = h;
    y[j] = gamma[j] * h + beta[j];
  }
  return rstd;
}

// x[d] <- Dropout(x) + r, element j of the row at flat index at + j.
S3REC_CLONES void dropout_residual_row(float* x, const float* r, int d, float p, uint32_t thr, float scale,
                                       uint64_t key, size_t at, uint8_t* keep) {
  if (p > 0.0f) {
    for (int j = 0; j < d; ++j) {
      const uint8_t k = dropout_u16(key, at + j) >= thr;
      keep[j] = k;
      x[j] = (k ? x[j] * scale : 0.0f) + r[j];
    }
  } else {
    for (int j = 0; j < d; ++j) x[j] += r[j];
  }
}

// dz[d] = rstd * (g - mean(g) - xhat * mean(g * xhat)), g = dy * gamma; sg += dy * xhat, sb += dy.
// dz may alias dy.
S3REC_CLONES void ln_row_backward(const float* dy, const float* xhat, float rstd, int d, const float* gamma, float* dz,
                                  float* __restrict sg, float* __restrict sb) {
  const float mg = lane_sum(d, [&](int j) { return dy[j] * gamma[j]; }) / float(d);
  const float mgx = lane_sum(d, [&](int j) { return dy[j] * gamma[j] * xhat[j]; }) / float(d);
  for (int j = 0; j < d; ++j) {
    const float y = dy[j];
    sg[j] += y * xhat[j];
    sb[j] += y;
    dz[j] = rstd * (y * gamma[j] - mg - xhat[j] * mgx);
  }
}

// dx[d] = dz * keep / (1 - p)
S3REC_CLONES void dropout_row_backward(const float* dz, int d, float scale, const uint8_t* keep, float* dx) {
  for (int j = 0; j < d; ++j) dx[j] = keep[j] ? dz[j] * scale : 0.0f;
}

// Both backward passes: dZ goes to dR when given (and Dropout'(dZ) to dX), else to dX.
void backward_rows(const float* dY, const float* xhat, const float* rstd, int n, int d, const float* gamma, float p,
                   const uint8_t* keep, float* dR, float* dX, float* dgamma, float* dbeta) {
  if (n <= 0) return;
  const int blocks = (n + kRows - 1) / kRows;
  thread_local std::vector<float> partial;
  partial.assign(size_t(blocks) * 2 * d, 0.0f);
  float* part = partial.data();  // thread_local: take the caller's buffer before the parallel region
  const float scale = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
#pragma omp parallel for schedule(static) if (n > 256)
  for (int blk = 0; blk < blocks; ++blk) {
    float* sg = part + size_t(blk) * 2 * d;
    float* sb = sg + d;
    for (int i = blk * kRows; i < std::min(n, (blk + 1) * kRows); ++i) {
      const size_t o = size_t(i) * d;
      if (dR) {
        ln_row_backward(dY + o, xhat + o, rstd[i], d, gamma, dR + o, sg, sb);
        if (p > 0.0f)
          dropout_row_backward(dR + o, d, scale, keep + o, dX + o);
        else
          std::copy(dR + o, dR + o + d, dX + o);
      } else {
        ln_row_backward(dY + o, xhat + o, rstd[i], d, gamma, dX + o, sg, sb);
      }
    }
  }
  thread_local std::vector<double> total;  // the blocks summed in order, in double
  total.assign(size_t(2) * d, 0.0);
  for (int blk = 0; blk < blocks; ++blk)
    for (int j = 0; j < 2 * d; ++j) total[j] += part[size_t(blk) * 2 * d + j];
  for (int j = 0; j < d; ++j) {
    dgamma[j] += float(total[j]);
    dbeta[j] += float(total[d + j]);
  }
}

}  // namespace

void layer_norm_forward(const float* X, int n, int d, const float* gamma, const float* beta, float eps, float* Y,
                        float* xhat, float* rstd) {
#pragma omp parallel for schedule(static) if (n > 256)
  for (int i = 0; i < n; ++i) {
    const size_t o = size_t(i) * d;
    rstd[i] = ln_row_forward(X + o, d, gamma, beta, eps, Y + o, xhat + o);
  }
}

void layer_norm_backward(const float* dY, const float* xhat, const float* rstd, int n, int d, const float* gamma,
                         float* dX, float* dgamma, float* dbeta) {
  backward_rows(dY, xhat, rstd, n, d, gamma, 0.0f, nullptr, nullptr, dX, dgamma, dbeta);
}

void dropout_residual_norm_rows(float* X, const float* R, int r0, int r1, int d, float p, uint64_t key,
                                const float* gamma, const float* beta, float eps, uint8_t* keep, float* xhat,
                                float* rstd) {
  const float scale = p > 0.0f ? 1.0f / (1.0f - p) : 1.0f;
  const uint32_t thr = dropout_threshold(p);
  for (int i = r0; i < r1; ++i) {
    const size_t o = size_t(i) * d;
    dropout_residual_row(X + o, R + o, d, p, thr, scale, key, o, p > 0.0f ? keep + o : nullptr);
    rstd[i] = ln_row_forward(X + o, d, gamma, beta, eps, X + o, xhat + o);
  }
}

void dropout_residual_norm_forward(float* X, const float* R, int n, int d, float p, uint64_t key, const float* gamma,
                                   const float* beta, float eps, uint8_t* keep, float* xhat, float* rstd) {
  const int blocks = (n + kRows - 1) / kRows;
#pragma omp parallel for schedule(static) if (n > 256)
  for (int blk = 0; blk < blocks; ++blk)
    dropout_residual_norm_rows(X, R, blk * kRows, std::min(n, (blk + 1) * kRows), d, p, key, gamma, beta, eps, keep,
                               xhat, rstd);
}

void dropout_residual_norm_backward(const float* dY, const float* xhat, const float* rstd, int n, int d,
                                    const float* gamma, float p, const uint8_t* keep, float* dR, float* dX,
                                    float* dgamma, float* dbeta) {
  backward_rows(dY, xhat, rstd, n, d, gamma, p, keep, dR, dX, dgamma, dbeta);
}

}  // namespace s3rec
