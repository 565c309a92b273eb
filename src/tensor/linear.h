#pragma once
// Fully connected layer, PyTorch layout (weight [out x in]), on the thin-product kernels
// (tensor/thin_gemm.h: bias in the accumulators, epilogue on finished row blocks).
#include "tensor/thin_gemm.h"

namespace s3rec {

// Y[n x out] = X[n x in] W[out x in]^T + b[out]; then epi on each finished block of rows of Y.
void linear_forward(const float* X, int n, int in, const float* W, const float* b, int out, float* Y,
                    const RowEpilogue& epi = {});

// dX[n x in] = dY[n x out] W (+ dX when accumulate_dx), then dx_epi on each finished block of
// rows of dX; dW[out x in] += dY^T X; db[out] += colsum(dY). dX may be null (no input gradient wanted).
void linear_backward(const float* X, int n, int in, const float* W, int out, const float* dY, float* dX,
                     bool accumulate_dx, float* dW, float* db, const RowEpilogue& dx_epi = {});

}  // namespace s3rec
