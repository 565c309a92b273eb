#include "tensor/linear.h"

namespace s3rec {

void linear_forward(const float* X, int n, int in, const float* W, const float* b, int out, float* Y,
                    const RowEpilogue& epi) {
  thin_nn(n, out, in, X, in, W, in, true, b, false, Y, out, epi);
}

void linear_backward(const float* X, int n, int in, const float* W, int out, const float* dY, float* dX,
                     bool accumulate_dx, float* dW, float* db, const RowEpilogue& dx_epi) {
  if (n <= 0) return;
  if (dX) thin_nn(n, in, out, dY, out, W, in, false, nullptr, accumulate_dx, dX, in, dx_epi);
  thin_tn(n, out, in, dY, out, X, in, dW, in, db);
}

}  // namespace s3rec
