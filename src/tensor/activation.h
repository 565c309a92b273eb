#pragma once
// Feed-forward activations: gelu (erf form), relu, swish, tanh, sigmoid.
#include <cstddef>

#include "s3rec/model_config.h"

namespace s3rec {

// Y[n] = act(X[n]); parallel, except when called inside a parallel region (an epilogue)
void activation_forward(Activation a, const float* X, float* Y, size_t n);

// dX[n] = dY[n] * act'(X) (Y = act(X) is passed for the activations whose derivative uses it). dX may alias dY.
void activation_backward(Activation a, const float* X, const float* Y, const float* dY, float* dX, size_t n);

}  // namespace s3rec
