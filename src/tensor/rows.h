#pragma once
// Row gather and scatter-add between packed matrices.

namespace s3rec {

// Y[n x d] = X[idx[i]] row by row
void gather_rows(const float* X, const int* idx, int n, int d, float* Y);

// Y[idx[i]] += X[i] for i < n (indices may repeat); rows with idx 0 are skipped when skip_zero
// (padding_idx semantics). Deterministic: threads split the d columns, not the rows.
void scatter_add_rows(const float* X, const int* idx, int n, int d, float* Y, bool skip_zero);

}  // namespace s3rec
