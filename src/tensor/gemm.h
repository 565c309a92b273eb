#pragma once
// Row-major single-precision matrix products on the BLAS.

namespace s3rec {

// C[m x n] = alpha * op(A) op(B) + beta * C; op(A) is [m x k], op(B) is [k x n].
void gemm(bool trans_a, bool trans_b, int m, int n, int k, float alpha, const float* A, int lda,
          const float* B, int ldb, float beta, float* C, int ldc);

// y[m] = alpha * A[m x n] x[n] + beta * y  (A row-major, leading dimension lda; no packing of A,
// so one vector against a large table costs one pass over the table)
void gemv(int m, int n, float alpha, const float* A, int lda, const float* x, float beta, float* y);

// y[n] = alpha * sum over rows of A[m x n] + beta * y  (column sums, A row-major with leading dim lda)
void col_sums(int m, int n, const float* A, int lda, float alpha, float beta, float* y);

}  // namespace s3rec
