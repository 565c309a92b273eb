#include "tensor/layer_norm.h"

#include <cmath>
#include <vector>

#include "tensor/gemm.h"
#include "tensor/simd.h"

namespace s3rec {
namespace {

S3REC_CLONES float ln_row_forward(const float* x, int d, const float* gamma, const float* beta, float eps, float* y,
                                  float* xhat) {
  float mean = 0.0f;
  for (int j = 0; j < d; ++j) mean += x[j];
  mean /= float(d);
  float var = 0.0f;
  for (int j = 0; j < d; ++j) var += (x[j] - mean) * (x[j] - mean);
  var /= float(d);
  const float rstd = 1.0f / std::sqrt(var + eps);
  for (int j = 0; j < d; ++j) {
    const float h = (x[j] - mean) * rstd;
    xhat[j] = h;
    y[j] = gamma[j] * h + beta[j];
  }
  return rstd;
}

// Also writes dY * xhat into prod (for dgamma).
S3REC_CLONES void ln_row_backward(const float* dy, const float* xhat, float rstd, int d, const float* gamma, float* dx,
                                  float* prod) {
  float mg = 0.0f, mgx = 0.0f;
  for (int j = 0; j < d; ++j) {
    const float g = dy[j] * gamma[j];
    mg += g;
    mgx += g * xhat[j];
  }
  mg /= float(d);
  mgx /= float(d);
  for (int j = 0; j < d; ++j) {
    prod[j] = dy[j] * xhat[j];
    dx[j] = rstd * (dy[j] * gamma[j] - mg - xhat[j] * mgx);
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
  if (n <= 0) return;
  col_sums(n, d, dY, d, 1.0f, 1.0f, dbeta);  // before dX overwrites an aliased dY
  thread_local std::vector<float> prod;
  prod.resize(size_t(n) * d);
  float* p = prod.data();  // thread_local: take the caller's buffer before the parallel region
#pragma omp parallel for schedule(static) if (n > 256)
  for (int i = 0; i < n; ++i) {
    const size_t o = size_t(i) * d;
    ln_row_backward(dY + o, xhat + o, rstd[i], d, gamma, dX + o, p + o);
  }
  col_sums(n, d, p, d, 1.0f, 1.0f, dgamma);
}

}  // namespace s3rec
