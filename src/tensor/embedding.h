#pragma once
// Item embedding plus learned position embedding, gathered for packed tokens.

#include "s3rec/row_sparse_grad.h"

namespace s3rec {

// X[T x d] = E[tok[t]] + P[pos[t]]
void embedding_forward(const int* tok, const int* pos, int T, int d, const float* E, const float* P, float* X);

// dE[tok[t]] += dX[t] except row 0 (padding_idx: never updated), dP[pos[t]] += dX[t].
// dE holds only the touched rows. Deterministic: threads split the d columns, not the tokens.
void embedding_backward(const int* tok, const int* pos, int T, int d, const float* dX, RowSparseGrad& dE, float* dP);

}  // namespace s3rec
