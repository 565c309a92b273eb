#include "tensor/gemm.h"

#include <cblas.h>

#include <vector>

namespace s3rec {

void gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* A, int lda,
          const float* B, int ldb, float beta, float* C, int ldc) {
  if (m <= 0 || n <= 0) return;
  if (k <= 0) {  // the product is empty: C = beta * C
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < n; ++j) C[size_t(i) * ldc + j] = beta == 0.0f ? 0.0f : beta * C[size_t(i) * ldc + j];
    return;
  }
  cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, m, n, k,
              alpha, A, lda, B, ldb, beta, C, ldc);
}

void gemv(int m, int n, float alpha, const float* A, int lda, const float* x, float beta, float* y) {
  if (m <= 0) return;
  if (n <= 0) {
    for (int i = 0; i < m; ++i) y[i] = beta == 0.0f ? 0.0f : beta * y[i];
    return;
  }
  cblas_sgemv(CblasRowMajor, CblasNoTrans, m, n, alpha, A, lda, x, 1, beta, y, 1);
}

void col_sums(int m, int n, const float* A, int lda, float alpha, float beta, float* y) {
  if (n <= 0) return;
  if (m <= 0) {
    for (int j = 0; j < n; ++j) y[j] = beta == 0.0f ? 0.0f : beta * y[j];
    return;
  }
  thread_local std::vector<float> ones;
  if (ones.size() < size_t(m)) ones.assign(size_t(m), 1.0f);
  cblas_sgemv(CblasRowMajor, CblasTrans, m, n, alpha, A, lda, ones.data(), 1, beta, y, 1);
}

}  // namespace s3rec
