#pragma once
// Fully connected layer, PyTorch layout (weight [out x in]).

namespace s3rec {

// Y[n x out] = X[n x in] W[out x in]^T + b[out]
void linear_forward(const float* X, int n, int in, const float* W, const float* b, int out, float* Y);

// dX[n x in] = dY[n x out] W (+ dX when accumulate_dx); dW[out x in] += dY^T X; db[out] += colsum(dY).
// dX may be null (no input gradient wanted).
void linear_backward(const float* X, int n, int in, const float* W, int out, const float* dY, float* dX,
                     bool accumulate_dx, float* dW, float* db);

}  // namespace s3rec
