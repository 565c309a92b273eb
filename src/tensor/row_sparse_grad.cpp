#include "s3rec/row_sparse_grad.h"

#include <omp.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace s3rec {

namespace {
inline size_t hash_row(int row, size_t mask) { return (uint32_t(row) * 2654435761u) & mask; }
}  // namespace

void RowSparseGrad::init(int table_rows, int d) {
  d_ = d;
  rows_total_ = table_rows;
  keys_.assign(1024, -1);
  slots_.assign(1024, -1);
  rows_.clear();
  values_.clear();
}

int RowSparseGrad::find_slot(int row) const {
  const size_t mask = keys_.size() - 1;
  for (size_t h = hash_row(row, mask);; h = (h + 1) & mask) {
    if (keys_[h] == row) return slots_[h];
    if (keys_[h] < 0) return -1;
  }
}

void RowSparseGrad::grow() {
  std::vector<int> keys(keys_.size() * 2, -1), slots(keys_.size() * 2, -1);
  const size_t mask = keys.size() - 1;
  for (size_t s = 0; s < rows_.size(); ++s) {
    size_t h = hash_row(rows_[s], mask);
    while (keys[h] >= 0) h = (h + 1) & mask;
    keys[h] = rows_[s];
    slots[h] = int(s);
  }
  keys_.swap(keys);
  slots_.swap(slots);
}

int RowSparseGrad::slot_for(int row) {
  if (2 * (rows_.size() + 1) > keys_.size()) grow();  // load factor at most 1/2
  const size_t mask = keys_.size() - 1;
  size_t h = hash_row(row, mask);
  for (; keys_[h] >= 0; h = (h + 1) & mask)
    if (keys_[h] == row) return slots_[h];
  keys_[h] = row;
  slots_[h] = int(rows_.size());
  rows_.push_back(row);
  values_.resize(values_.size() + size_t(d_), 0.0f);
  return slots_[h];
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
  for (int r = 0; r < R; ++r) slot_for(r);  // slot r for row r
  values_ = std::move(dense);
  return values_.data();
}

const float* RowSparseGrad::row(int table_row) const {
  const int s = find_slot(table_row);
  return s < 0 ? nullptr : values_.data() + size_t(s) * d_;
}

void RowSparseGrad::clear() {
  if (keys_.size() > 4 * 1024 && keys_.size() > 8 * rows_.size()) {  // shrink after a dense step
    keys_.assign(1024, -1);
    slots_.assign(1024, -1);
  } else {
    const size_t mask = keys_.size() - 1;
    for (int r : rows_) {  // empty exactly the used buckets (linear probing keeps them in runs)
      for (size_t h = hash_row(r, mask); keys_[h] >= 0; h = (h + 1) & mask) keys_[h] = -1;
    }
  }
  rows_.clear();
  values_.clear();
}

void RowSparseGrad::to_dense(float* out) const {
  std::fill(out, out + size_t(rows_total_) * size_t(d_), 0.0f);
  for (size_t s = 0; s < rows_.size(); ++s)
    std::memcpy(out + size_t(rows_[s]) * d_, values_.data() + s * d_, sizeof(float) * size_t(d_));
}

}  // namespace s3rec
