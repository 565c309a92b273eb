#include "s3rec/params.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

namespace s3rec {

int ParamStore::add(const std::string& name, std::vector<int> shape, GradLayout layout) {
  if (!values_.empty()) throw std::logic_error("ParamStore::add after allocate: " + name);
  if (layout == GradLayout::RowSparse && shape.size() != 2)
    throw std::logic_error("ParamStore::add: a row-sparse parameter is a [rows x d] table: " + name);
  size_t n = 1;
  for (int s : shape) n *= size_t(s);
  ParamInfo p;
  p.name = name;
  p.shape = std::move(shape);
  p.size = n;
  p.layout = layout;
  infos_.push_back(std::move(p));
  total_ += n;
  return int(infos_.size()) - 1;
}

void ParamStore::allocate() {
  size_t off = 0, dense = 0;
  row_grads_.clear();
  for (ParamInfo& p : infos_)
    if (p.layout == GradLayout::RowSparse) {
      p.offset = off;
      off += p.size;
      p.row_grad = int(row_grads_.size());
      row_grads_.emplace_back();
      row_grads_.back().init(p.shape[0], p.shape[1]);
    }
  dense_begin_ = off;
  for (ParamInfo& p : infos_)
    if (p.layout == GradLayout::Dense) {
      p.offset = off;
      p.grad_offset = dense;
      off += p.size;
      dense += p.size;
    }
  values_.assign(total_, 0.0f);
  grads_.assign(dense, 0.0f);
}

int ParamStore::find(const std::string& name) const {
  for (size_t i = 0; i < infos_.size(); ++i)
    if (infos_[i].name == name) return int(i);
  return -1;
}

float* ParamStore::grad(int id) {
  if (infos_[id].layout != GradLayout::Dense) throw std::logic_error("ParamStore::grad: " + infos_[id].name + " is row-sparse");
  return grads_.data() + infos_[id].grad_offset;
}

const float* ParamStore::grad(int id) const { return const_cast<ParamStore*>(this)->grad(id); }

RowSparseGrad& ParamStore::row_grad(int id) {
  if (infos_[id].layout != GradLayout::RowSparse) throw std::logic_error("ParamStore::row_grad: " + infos_[id].name + " is dense");
  return row_grads_[size_t(infos_[id].row_grad)];
}

const RowSparseGrad& ParamStore::row_grad(int id) const { return const_cast<ParamStore*>(this)->row_grad(id); }

std::vector<float> ParamStore::gradient(int id) const {
  const ParamInfo& p = infos_[id];
  std::vector<float> out(p.size);
  if (p.layout == GradLayout::RowSparse)
    row_grad(id).to_dense(out.data());
  else
    std::copy(grads_.begin() + long(p.grad_offset), grads_.begin() + long(p.grad_offset + p.size), out.begin());
  return out;
}

std::string ParamStore::first_nonfinite_grad() const {
  // one OR-reduction over the buffer; names are looked up only on failure
  bool bad = false;
  const size_t n = grads_.size();
#pragma omp parallel for reduction(|| : bad) schedule(static)
  for (size_t i = 0; i < n; ++i) bad = bad || !std::isfinite(grads_[i]);
  for (const ParamInfo& p : infos_) {
    if (p.layout == GradLayout::RowSparse) {
      const RowSparseGrad& g = row_grads_[size_t(p.row_grad)];
      const float* v = g.values();
      for (size_t i = 0; i < g.size() * size_t(g.dim()); ++i)
        if (!std::isfinite(v[i])) return p.name;
    } else if (bad) {
      for (size_t i = 0; i < p.size; ++i)
        if (!std::isfinite(grads_[p.grad_offset + i])) return p.name;
    }
  }
  return bad ? "?" : "";
}

void ParamStore::zero_grad() {
  const size_t n = grads_.size();
  float* g = grads_.data();
#pragma omp parallel for schedule(static) if (n > 65536)
  for (size_t i = 0; i < n; ++i) g[i] = 0.0f;
  for (RowSparseGrad& r : row_grads_) r.clear();
}

}  // namespace s3rec
