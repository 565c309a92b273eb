#include "s3rec/row_sparse_grad.h"

#include <omp.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace s3rec {

void RowSparseGrad::init(int table_rows, int d) {
  d_ = d;
  slot_.assign(size_t(table_rows), -1);
  rows_.clear();
  values_.clear();
}

int RowSparseGrad::slot_for(int row) {
  int& s = slot_[size_t(row)];
  if (s < 0) {
    s = int(rows_.size());
    rows_.push_back(row);
    values_.resize(values_.size() + size_t(d_), 0.0f);
  }
  return s;
}

void RowSparseGrad::scatter_add(const float* X, const int* idx, int n, bool skip_zero) {
  std::vector<int> slots(size_t(std::max(n, 0)));
  for (int i = 0; i < n; ++i) {  // first-touch order, before any pointer into values_ is taken
    if (idx[i] < 0 || idx[i] >= table_rows()) throw std::out_of_range("RowSparseGrad: row out of range");
    slots[size_t(i)] = skip_zero && idx[i] == 0 ? -1 : slot_for(idx[i]);
  }
  float* V = values_.data();
  const int d = d_;
#pragma omp parallel if (n > 1024)
  {
    // threads split the d columns, so every element is summed in index order
    const int nt = omp_get_num_threads(), id = omp_get_thread_num();
    const int per = (d + nt - 1) / nt;
    const int j0 = std::min(d, id * per), j1 = std::min(d, j0 + per);
    for (int i = 0; i < n; ++i) {
      if (slots[size_t(i)] < 0) continue;
      const float* x = X + size_t(i) * d;
      float* y = V + size_t(slots[size_t(i)]) * d;
      for (int j = j0; j < j1; ++j) y[j] += x[j];
    }
  }
}

float* RowSparseGrad::make_dense() {
  const int R = table_rows();
  if (int(rows_.size()) == R && (R == 0 || rows_.back() == R - 1) && std::is_sorted(rows_.begin(), rows_.end()))
    return values_.data();  // already every row, in order
  std::vector<float> dense(size_t(R) * d_, 0.0f);
  to_dense(dense.data());  // rows accumulated so far keep their values
  clear();
  rows_.resize(size_t(R));
  for (int r = 0; r < R; ++r) {
    rows_[size_t(r)] = r;
    slot_[size_t(r)] = r;
  }
  values_ = std::move(dense);
  return values_.data();
}

const float* RowSparseGrad::row(int table_row) const {
  const int s = slot_[size_t(table_row)];
  return s < 0 ? nullptr : values_.data() + size_t(s) * d_;
}

void RowSparseGrad::clear() {
  for (int r : rows_) slot_[size_t(r)] = -1;
  rows_.clear();
  values_.clear();
}

void RowSparseGrad::to_dense(float* out) const {
  std::fill(out, out + slot_.size() * size_t(d_), 0.0f);
  for (size_t s = 0; s < rows_.size(); ++s)
    std::memcpy(out + size_t(rows_[s]) * d_, values_.data() + s * d_, sizeof(float) * size_t(d_));
}

}  // namespace s3rec
