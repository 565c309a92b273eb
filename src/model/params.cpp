#include "s3rec/params.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <stdexcept>

#include "tensor/simd.h"

namespace s3rec {

int ParamStore::add(const std::string& name, std::vector<int> shape) {
  if (!values_.empty()) throw std::logic_error("ParamStore::add after allocate: " + name);
  size_t n = 1;
  for (int s : shape) n *= size_t(s);
  infos_.push_back({name, std::move(shape), total_, n});
  total_ += n;
  return int(infos_.size()) - 1;
}

void ParamStore::allocate() {
  values_.assign(total_, 0.0f);
  grads_.assign(total_, 0.0f);
}

int ParamStore::find(const std::string& name) const {
  for (size_t i = 0; i < infos_.size(); ++i)
    if (infos_[i].name == name) return int(i);
  return -1;
}

std::string ParamStore::first_nonfinite_grad() const {
  // one OR-reduction over the buffer; names are looked up only on failure
  bool bad = false;
#pragma omp parallel for reduction(|| : bad) schedule(static)
  for (size_t i = 0; i < total_; ++i) bad = bad || !std::isfinite(grads_[i]);
  if (!bad) return "";
  for (const ParamInfo& p : infos_)
    for (size_t i = 0; i < p.size; ++i)
      if (!std::isfinite(grads_[p.offset + i])) return p.name;
  return "?";
}

void ParamStore::zero_grad() {
  const size_t n = grads_.size();
  float* g = grads_.data();
#pragma omp parallel for schedule(static) if (n > 65536)
  for (size_t i = 0; i < n; ++i) g[i] = 0.0f;
}

namespace {

// zero_g: the gradient buffer to clear after reading it (nullptr: leave it)
S3REC_CLONES void adam_chunk(float* p, const float* g, float* m, float* v, size_t n, float b1, float b2, float eps,
                             float wd, float step_size, float bc2_sqrt, float* zero_g) {
  for (size_t i = 0; i < n; ++i) {
    const float gi = wd != 0.0f ? g[i] + wd * p[i] : g[i];
    if (zero_g) zero_g[i] = 0.0f;
    m[i] = b1 * m[i] + (1.0f - b1) * gi;
    v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
    const float denom = std::sqrt(v[i]) / bc2_sqrt + eps;  // as torch: (sqrt(v) / sqrt(bc2)) + eps
    p[i] += -step_size * (m[i] / denom);
  }
}

}  // namespace

void Adam::step(float* params, const float* grads) { update(params, grads, nullptr); }

void Adam::step_and_zero_grad(float* params, float* grads) { update(params, grads, grads); }

void Adam::update(float* params, const float* grads, float* zero_grads) {
  ++t_;
  const double bc1 = 1.0 - std::pow(double(cfg_.beta1), double(t_));
  const double bc2 = 1.0 - std::pow(double(cfg_.beta2), double(t_));
  const float step_size = float(cfg_.lr / bc1);
  const float bc2_sqrt = float(std::sqrt(bc2));
  const size_t n = m_.size();
  constexpr size_t kChunk = 8192;
  const long chunks = long((n + kChunk - 1) / kChunk);
#pragma omp parallel for schedule(static) if (chunks > 4)
  for (long c = 0; c < chunks; ++c) {
    const size_t b = size_t(c) * kChunk, len = std::min(kChunk, n - b);
    adam_chunk(params + b, grads + b, m_.data() + b, v_.data() + b, len, cfg_.beta1, cfg_.beta2, cfg_.eps,
               cfg_.weight_decay, step_size, bc2_sqrt, zero_grads ? zero_grads + b : nullptr);
  }
}

}  // namespace s3rec
