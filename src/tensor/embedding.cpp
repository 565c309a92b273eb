#include "tensor/embedding.h"

#include <cstddef>

#include "tensor/rows.h"

namespace s3rec {

void embedding_forward(const int* tok, const int* pos, int T, int d, const float* E, const float* P, float* X) {
#pragma omp parallel for schedule(static) if (T > 512)
  for (int t = 0; t < T; ++t) {
    const float* e = E + size_t(tok[t]) * d;
    const float* p = P + size_t(pos[t]) * d;
    float* x = X + size_t(t) * d;
    for (int j = 0; j < d; ++j) x[j] = e[j] + p[j];
  }
}

void embedding_backward(const int* tok, const int* pos, int T, int d, const float* dX, RowSparseGrad& dE, float* dP) {
  dE.scatter_add(dX, tok, T, /*skip_zero=*/true);
  scatter_add_rows(dX, pos, T, d, dP, /*skip_zero=*/false);
}

}  // namespace s3rec
