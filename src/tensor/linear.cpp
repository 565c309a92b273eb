#include "tensor/linear.h"

namespace s3rec {

void linear_forward(const float* X, int n, int in, const float* W, const float* b, int out, float* Y,
                    const RowEpilogue& epi) {
  thin_nn(n, out, in, X, in, W, in, true, b, false, Y, out, epi);
}

void linear_backward(const float* X, int n, int in, const float* W, int out, const float* dY, float* dX,
                     bool accumulate_dx, float* dW, float* db, const RowEpilogue& dx_epi) {
  thin_linear_backward(X, n, in, W, out, dY, dX, accumulate_dx, dW, db, dx_epi);
}

}  // namespace s3rec
