#pragma once
// All trainable tensors of a model live in one flat buffer (values). Dense parameters
// have a parallel gradient buffer, so the optimizer is one loop and fused products
// (query/key/value) see contiguous weights. Row-sparse parameters (the item table,
// whose rows a step reads only for the items of its batch) have a RowSparseGrad
// instead: no buffer, and no pass over it, grows with the table.
#include <cstddef>
#include <string>
#include <vector>

#include "s3rec/row_sparse_grad.h"

namespace s3rec {

enum class GradLayout { Dense, RowSparse };

struct ParamInfo {
  std::string name;          // the reference PyTorch model's state_dict key
  std::vector<int> shape;    // PyTorch shape: Linear weights are [out, in]
  size_t offset = 0;         // into values()
  size_t size = 0;
  GradLayout layout = GradLayout::Dense;
  size_t grad_offset = 0;    // into grads() (dense parameters)
  int row_grad = -1;         // index of its RowSparseGrad (row-sparse parameters)
};

class ParamStore {
 public:
  // Before allocate(). A row-sparse parameter is a [rows x d] table.
  int add(const std::string& name, std::vector<int> shape, GradLayout layout = GradLayout::Dense);
  // Zero values and gradients. Row-sparse parameters are laid out first in values(),
  // so the dense ones form one block, dense_values(), that grads() parallels.
  void allocate();
  int find(const std::string& name) const;  // -1 when absent
  float* value(int id) { return values_.data() + infos_[id].offset; }
  const float* value(int id) const { return values_.data() + infos_[id].offset; }
  float* grad(int id);  // dense parameters only
  const float* grad(int id) const;
  RowSparseGrad& row_grad(int id);  // row-sparse parameters only
  const RowSparseGrad& row_grad(int id) const;
  bool row_sparse(int id) const { return infos_[id].layout == GradLayout::RowSparse; }
  const ParamInfo& info(int id) const { return infos_[id]; }
  const std::vector<ParamInfo>& infos() const { return infos_; }
  std::vector<float>& values() { return values_; }
  const std::vector<float>& values() const { return values_; }
  float* dense_values() { return values_.data() + dense_begin_; }
  // Gradients of the dense parameters: grads()[i] belongs to dense_values()[i].
  std::vector<float>& grads() { return grads_; }
  const std::vector<float>& grads() const { return grads_; }
  size_t total() const { return total_; }  // all values
  size_t dense_total() const { return grads_.size(); }
  std::vector<RowSparseGrad>& row_grads() { return row_grads_; }
  void zero_grad();
  // A dense copy of one parameter's gradient (row-sparse ones expanded), for tests and tools.
  std::vector<float> gradient(int id) const;
  // Name of the first parameter whose gradient holds a NaN or infinity; "" when all are finite.
  std::string first_nonfinite_grad() const;

 private:
  std::vector<ParamInfo> infos_;
  std::vector<float> values_, grads_;
  std::vector<RowSparseGrad> row_grads_;
  size_t total_ = 0, dense_begin_ = 0;
};

}  // namespace s3rec
