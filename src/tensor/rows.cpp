#include "tensor/rows.h"

#include <omp.h>

#include <algorithm>
#include <cstring>

namespace s3rec {

void gather_rows(const float* X, const int* idx, int n, int d, float* Y) {
#pragma omp parallel for schedule(static) if (n > 1024)
  for (int i = 0; i < n; ++i) std::memcpy(Y + size_t(i) * d, X + size_t(idx[i]) * d, sizeof(float) * d);
}

void scatter_add_rows(const float* X, const int* idx, int n, int d, float* Y, bool skip_zero) {
#pragma omp parallel if (n > 1024)
  {
    const int nt = omp_get_num_threads(), id = omp_get_thread_num();
    const int per = (d + nt - 1) / nt;
    const int j0 = std::min(d, id * per), j1 = std::min(d, j0 + per);
    for (int i = 0; i < n; ++i) {
      if (skip_zero && idx[i] == 0) continue;
      const float* x = X + size_t(i) * d;
      float* y = Y + size_t(idx[i]) * d;
      for (int j = j0; j < j1; ++j) y[j] += x[j];
    }
  }
}

}  // namespace s3rec
