#pragma once
// TF-style layer norm over the last dimension: epsilon inside the square root.
// The encoder's residual sub-layers use the fused form LayerNorm(Dropout(X) + R):
// one pass over the rows instead of three (dropout, residual add, layer norm).
#include <cstdint>

namespace s3rec {

// Y[n x d] = gamma * xhat + beta, xhat = (X - mean) / sqrt(var + eps); saves xhat[n x d], rstd[n].
// Y may alias X.
void layer_norm_forward(const float* X, int n, int d, const float* gamma, const float* beta, float eps, float* Y,
                        float* xhat, float* rstd);

// dX[n x d] = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dY * gamma;
// dgamma[d] += colsum(dY * xhat); dbeta[d] += colsum(dY). dX may alias dY.
void layer_norm_backward(const float* dY, const float* xhat, const float* rstd, int n, int d, const float* gamma,
                         float* dX, float* dgamma, float* dbeta);

// X[n x d] <- LayerNorm(Dropout(X) + R), in place. The dropout mask is that of
// dropout_forward(X, n * d, p, key, keep) on the flat array; saves keep, xhat, rstd.
void dropout_residual_norm_forward(float* X, const float* R, int n, int d, float p, uint64_t key, const float* gamma,
                                   const float* beta, float eps, uint8_t* keep, float* xhat, float* rstd);

// Rows [r0, r1) of the above on the calling thread (the epilogue of the product that made X);
// the pointers are those of the whole matrix.
void dropout_residual_norm_rows(float* X, const float* R, int r0, int r1, int d, float p, uint64_t key,
                                const float* gamma, const float* beta, float eps, uint8_t* keep, float* xhat,
                                float* rstd);

// Backward of dropout_residual_norm_forward: dZ = the layer norm's input gradient (as layer_norm_backward);
// dR[n x d] = dZ (the residual path), dX[n x d] = dZ * keep / (1 - p) (the dropout path).
// dR or dX may alias dY, not each other.
void dropout_residual_norm_backward(const float* dY, const float* xhat, const float* rstd, int n, int d,
                                    const float* gamma, float p, const uint8_t* keep, float* dR, float* dX,
                                    float* dgamma, float* dbeta);

}  // namespace s3rec
