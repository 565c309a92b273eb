#include "tensor/linear.h"

#include <cstring>

#include "tensor/gemm.h"

namespace s3rec {

void linear_forward(const float* X, int n, int in, const float* W, const float* b, int out, float* Y) {
  if (n <= 0) return;
#pragma omp parallel for schedule(static) if (n * out > 32768)
  for (int i = 0; i < n; ++i) std::memcpy(Y + size_t(i) * out, b, sizeof(float) * out);
  gemm(false, true, n, out, in, 1.0f, X, in, W, in, 1.0f, Y, out);
}

void linear_backward(const float* X, int n, int in, const float* W, int out, const float* dY, float* dX,
                     bool accumulate_dx, float* dW, float* db) {
  if (n <= 0) return;
  if (dX) gemm(false, false, n, in, out, 1.0f, dY, out, W, in, accumulate_dx ? 1.0f : 0.0f, dX, in);
  gemm(true, false, out, in, n, 1.0f, dY, out, X, in, 1.0f, dW, in);
  col_sums(n, out, dY, out, 1.0f, 1.0f, db);
}

}  // namespace s3rec
