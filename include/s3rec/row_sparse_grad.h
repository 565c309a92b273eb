#pragma once
// The gradient of a [rows x d] table (the item embeddings) that holds only the rows a
// step touched: their ids, in first-touch order, and one accumulated row each. Nothing
// is proportional to the table's size: rows find their slot through a small hash table.
// Accumulation is deterministic: the order of contributions is the order of the calls
// and of the indices within a call, whatever the number of threads.
#include <cstddef>
#include <vector>

namespace s3rec {

class RowSparseGrad {
 public:
  void init(int table_rows, int d);  // no rows touched
  int table_rows() const { return rows_total_; }
  int dim() const { return d_; }

  // Y[idx[i]] += X[i] for i < n (X: [n x d]); rows with idx 0 are skipped when skip_zero
  // (padding_idx semantics).
  void scatter_add(const float* X, const int* idx, int n, bool skip_zero);
  // Every row of the table touched, in order, zero: the dense [rows x d] buffer to write
  // (losses that score all rows, such as the softmax cross-entropy).
  float* make_dense();

  size_t size() const { return rows_.size(); }          // touched rows
  const std::vector<int>& rows() const { return rows_; }  // their ids
  float* values() { return values_.data(); }            // [size() x d], in rows() order
  const float* values() const { return values_.data(); }
  const float* row(int table_row) const;  // nullptr when untouched
  void clear();                           // O(touched rows)
  void to_dense(float* out) const;        // out[rows x d]: zero, then the touched rows

 private:
  int slot_for(int row);   // creates the slot when the row is new
  int find_slot(int row) const;  // -1 when untouched
  void grow();
  int d_ = 0, rows_total_ = 0;
  std::vector<int> keys_, slots_;  // open addressing: table row -> index into rows_ (keys_ -1: empty)
  std::vector<int> rows_;
  std::vector<float> values_;
};

}  // namespace s3rec
