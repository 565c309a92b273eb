#pragma once
// TF-style layer norm over the last dimension: epsilon inside the square root.

namespace s3rec {

// Y[n x d] = gamma * xhat + beta, xhat = (X - mean) / sqrt(var + eps); saves xhat[n x d], rstd[n].
// Y may alias X.
void layer_norm_forward(const float* X, int n, int d, const float* gamma, const float* beta, float eps, float* Y,
                        float* xhat, float* rstd);

// dX[n x d] = rstd * (g - mean(g) - xhat * mean(g * xhat)) with g = dY * gamma;
// dgamma[d] += colsum(dY * xhat); dbeta[d] += colsum(dY). dX may alias dY.
void layer_norm_backward(const float* dY, const float* xhat, const float* rstd, int n, int d, const float* gamma,
                         float* dX, float* dgamma, float* dbeta);

}  // namespace s3rec
