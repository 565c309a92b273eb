// Adam on dense parameters and on the touched rows of row-sparse ones.
//
// Catching up a row (Learner::Adam). A row last updated at step s and untouched since
// has, under torch's dense Adam, zero gradients in steps s+1..s+k. For each element
// (p, m, v) step s+j does m <- b1 m, v <- b2 v, p <- p - lr/bc1(s+j) m / (sqrt(v)/sqrt(bc2(s+j)) + eps)
// with bc1(i) = 1 - b1^i, bc2(i) = 1 - b2^i. So after k steps m = b1^k m_s, v = b2^k v_s and,
// with a = sqrt(v_s) and u = eps / a,
//   drift = lr (m_s / a) sum_{j=1..k} r_0^j c_0(s+j) / (1 + u sqrt(bc2(s+j)) / b2^{j/2})
//         = lr (m_s / a) sum_{n>=0} (-u)^n G_n(s, k),   G_n(s, k) = sum_{j=1..k} r_n^j c_n(s+j),
//   r_n = b1 / b2^{(n+1)/2},  c_n(i) = bc2(i)^{(n+1)/2} / bc1(i).
// r_n < 1 (0.9005 for n = 0), so terms further back than J = 256 steps weigh less than
// r_0^256 = 2e-12 of the first: G_n(s, k) = W_n(s) - r_n^k W_n(s+k) for k <= J and W_n(s)
// beyond, where W_n(s) = G_n(s, J) is tabulated (for s < 40000; constant after). The series is cut after
// n = 3 and used when u <= 0.02: the neglected terms are below (u / b2^{J/2})^4 / (1 - ...)
// = 2.7e-7 of the drift. Rows with a smaller v (gradients below about 1e-5, where eps
// matters) and gaps of at most kExact steps are stepped exactly as the dense update does.
#include "s3rec/optimizer.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>

#include "tensor/simd.h"

namespace s3rec {
namespace {

constexpr int kJ = 256;                  // drift window (steps)
constexpr int64_t kExact = 16;           // gaps stepped exactly
constexpr int64_t kConverged = 40000;    // bc1, bc2 equal 1 in double from here on
constexpr double kSeriesLimit = 0.02;    // largest eps / sqrt(v) for the series

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

void adam_flat(float* params, const float* grads, float* m, float* v, size_t n, const AdamConfig& c, long t,
               float* zero_grads) {
  const double bc1 = 1.0 - std::pow(double(c.beta1), double(t));
  const double bc2 = 1.0 - std::pow(double(c.beta2), double(t));
  const float step_size = float(c.lr / bc1);
  const float bc2_sqrt = float(std::sqrt(bc2));
  constexpr size_t kChunk = 8192;
  const long chunks = long((n + kChunk - 1) / kChunk);
#pragma omp parallel for schedule(static) if (chunks > 4)
  for (long ch = 0; ch < chunks; ++ch) {
    const size_t b = size_t(ch) * kChunk, len = std::min(kChunk, n - b);
    adam_chunk(params + b, grads + b, m + b, v + b, len, c.beta1, c.beta2, c.eps, c.weight_decay, step_size, bc2_sqrt,
               zero_grads ? zero_grads + b : nullptr);
  }
}

}  // namespace

// W_n(s) for s < kConverged, backwards from W_n(kConverged) (c_n = 1 from there on):
// W_n(s) = r (c_n(s+1) + W_n(s+1)) - r^{J+1} c_n(s+J+1), errors shrinking by r per step.
// Built once per (beta1, beta2) and shared.
std::shared_ptr<const Optimizer::Windows> Optimizer::window_tables(float beta1, float beta2) {
  static std::mutex mu;
  static std::map<std::pair<float, float>, std::shared_ptr<const Windows>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto& slot = cache[{beta1, beta2}];
  if (slot) return slot;
  auto w = std::make_shared<Windows>();
  const double b1 = beta1, b2 = beta2;
  for (int n = 0; n < 4; ++n) {
    const double r = b1 / std::pow(b2, 0.5 * (n + 1)), rJ1 = std::pow(r, kJ + 1);
    w->r[n] = r;
    w->inf[n] = r * (1.0 - std::pow(r, kJ)) / (1.0 - r);
    auto c = [&](int64_t i) {
      return i >= kConverged ? 1.0
                             : std::pow(1.0 - std::pow(b2, double(i)), 0.5 * (n + 1)) / (1.0 - std::pow(b1, double(i)));
    };
    w->table[n].assign(size_t(kConverged), 0.0);
    double next = w->inf[n];  // W_n(kConverged)
    for (int64_t s = kConverged - 1; s >= 0; --s) {
      next = r * (c(s + 1) + next) - rJ1 * c(s + kJ + 1);
      w->table[n][size_t(s)] = next;
    }
  }
  slot = w;
  return slot;
}

void Adam::step(float* params, const float* grads) { update(params, grads, nullptr); }

void Adam::step_and_zero_grad(float* params, float* grads) { update(params, grads, grads); }

void Adam::update(float* params, const float* grads, float* zero_grads) {
  ++t_;
  adam_flat(params, grads, m_.data(), v_.data(), m_.size(), cfg_, t_, zero_grads);
}

Learner parse_learner(const std::string& s) {
  if (s == "adam") return Learner::Adam;
  if (s == "sparse_adam") return Learner::SparseAdam;
  if (s == "sgd" || s == "adagrad" || s == "rmsprop" || s == "adamw")
    throw std::invalid_argument("learner '" + s + "' is a RecBole learner that s3rec does not support (adam | sparse_adam)");
  throw std::invalid_argument("learner must be adam or sparse_adam, not '" + s + "'");
}

const char* learner_name(Learner l) { return l == Learner::Adam ? "adam" : "sparse_adam"; }

Optimizer::Optimizer(ParamStore& params, AdamConfig cfg, Learner learner)
    : P_(params), cfg_(cfg), learner_(learner), m_(params.total(), 0.0f), v_(params.total(), 0.0f) {
  if (learner_ == Learner::SparseAdam && cfg_.weight_decay != 0.0f)
    throw std::invalid_argument("learner sparse_adam does not support weight_decay > 0 (as torch.optim.SparseAdam)");
  for (size_t id = 0; id < P_.infos().size(); ++id)
    if (P_.row_sparse(int(id))) {
      const ParamInfo& p = P_.info(int(id));
      Table t;
      t.id = int(id);
      t.rows = p.shape[0];
      t.d = p.shape[1];
      t.offset = p.offset;
      if (learner_ == Learner::Adam) t.current.assign(size_t(t.rows), 0);
      tables_.push_back(std::move(t));
    }
  windows_ = window_tables(cfg_.beta1, cfg_.beta2);
}

float Optimizer::step_size(int64_t t) {
  if (size_t(t) >= step_size_.size()) {
    const size_t from = step_size_.size();
    step_size_.resize(size_t(t) + 1024);
    bc2_sqrt_.resize(size_t(t) + 1024);
    for (size_t i = std::max<size_t>(from, 1); i < step_size_.size(); ++i) {  // as adam_flat computes them
      step_size_[i] = float(cfg_.lr / (1.0 - std::pow(double(cfg_.beta1), double(i))));
      bc2_sqrt_[i] = float(std::sqrt(1.0 - std::pow(double(cfg_.beta2), double(i))));
    }
  }
  return step_size_[size_t(t)];
}

float Optimizer::bc2_sqrt(int64_t t) {
  step_size(t);
  return bc2_sqrt_[size_t(t)];
}

double Optimizer::window_sum(int n, int64_t s, int64_t k) const {
  const Windows& w = *windows_;
  const double W0 = s >= kConverged ? w.inf[n] : w.table[n][size_t(s)];
  if (k > kJ) return W0;
  const int64_t e = s + k;
  const double We = e >= kConverged ? w.inf[n] : w.table[n][size_t(e)];
  return W0 - std::pow(w.r[n], double(k)) * We;
}

void Optimizer::catch_up_row(Table& t, int row, int64_t target) {
  const int64_t s = t.current[size_t(row)], k = target - s;
  if (k <= 0) return;
  t.current[size_t(row)] = int32_t(target);
  const size_t base = t.offset + size_t(row) * t.d;
  float* p = P_.values().data() + base;
  float* m = m_.data() + base;
  float* v = v_.data() + base;
  const float b1 = cfg_.beta1, b2 = cfg_.beta2, eps = cfg_.eps;
  if (k <= kExact) {  // the dense update's own arithmetic, step by step
    for (int64_t j = 1; j <= k; ++j) {
      const float ss = step_size(s + j), bs = bc2_sqrt(s + j);
      for (int i = 0; i < t.d; ++i) {
        m[i] = b1 * m[i];
        v[i] = b2 * v[i];
        p[i] += -ss * (m[i] / (std::sqrt(v[i]) / bs + eps));
      }
    }
    return;
  }
  double G[4];
  bool have_g = false;
  const double decay1 = std::pow(double(b1), double(k)), decay2 = std::pow(double(b2), double(k));
  for (int i = 0; i < t.d; ++i) {
    if (m[i] == 0.0f && v[i] == 0.0f) continue;  // nothing moves
    const double a = std::sqrt(double(v[i])), u = a > 0.0 ? eps / a : HUGE_VAL;
    if (u <= kSeriesLimit) {
      if (!have_g) {
        for (int n = 0; n < 4; ++n) G[n] = window_sum(n, s, k);
        have_g = true;
      }
      const double series = G[0] - u * (G[1] - u * (G[2] - u * G[3]));
      p[i] = float(double(p[i]) - double(cfg_.lr) * (double(m[i]) / a) * series);
      m[i] = float(double(m[i]) * decay1);
      v[i] = float(double(v[i]) * decay2);
    } else {  // eps matters: step the window exactly, then only the moments decay
      const int64_t steps = std::min<int64_t>(k, kJ);
      float mi = m[i], vi = v[i], pi = p[i];
      for (int64_t j = 1; j <= steps; ++j) {
        mi = b1 * mi;
        vi = b2 * vi;
        pi += -step_size(s + j) * (mi / (std::sqrt(vi) / bc2_sqrt(s + j) + eps));
      }
      p[i] = pi;
      m[i] = float(double(mi) * std::pow(double(b1), double(k - steps)));
      v[i] = float(double(vi) * std::pow(double(b2), double(k - steps)));
    }
  }
}

void Optimizer::prepare_rows(int id, const std::vector<int>& rows) {
  if (learner_ != Learner::Adam || t_ == 0) return;
  for (Table& t : tables_) {
    if (t.id != id) continue;
    std::vector<int> todo;
    todo.reserve(rows.size());
    for (int r : rows)
      if (r >= 0 && r < t.rows && t.current[size_t(r)] < t_) todo.push_back(r);
    std::sort(todo.begin(), todo.end());
    todo.erase(std::unique(todo.begin(), todo.end()), todo.end());
    step_size(t_ + 1);  // grown before the parallel region
#pragma omp parallel for schedule(dynamic, 64) if (todo.size() > 256)
    for (size_t i = 0; i < todo.size(); ++i) catch_up_row(t, todo[i], t_);
  }
}

void Optimizer::catch_up_all() {
  if (learner_ != Learner::Adam || t_ == 0) return;
  step_size(t_ + 1);  // grown before the parallel region
  for (Table& t : tables_) {
#pragma omp parallel for schedule(dynamic, 4096)
    for (int r = 0; r < t.rows; ++r)
      if (t.current[size_t(r)] < t_) catch_up_row(t, r, t_);
  }
}

bool Optimizer::caught_up() const {
  for (const Table& t : tables_)
    for (int32_t c : t.current)
      if (c != t_) return false;
  return true;
}

void Optimizer::set_steps(long t) {
  t_ = t;
  for (Table& tb : tables_) std::fill(tb.current.begin(), tb.current.end(), int32_t(t));
}

void Optimizer::sparse_rows_step(Table& t, const RowSparseGrad& g) {
  const std::vector<int>& rows = g.rows();
  const float b1 = cfg_.beta1, b2 = cfg_.beta2, eps = cfg_.eps;
  float ss, bs;
  if (learner_ == Learner::Adam) {
    ss = step_size(t_);
    bs = bc2_sqrt(t_);
  } else {  // torch.optim.SparseAdam: step = lr sqrt(bc2) / bc1, denom = sqrt(v) + eps
    const double bc1 = 1.0 - std::pow(double(b1), double(t_)), bc2 = 1.0 - std::pow(double(b2), double(t_));
    ss = float(cfg_.lr * std::sqrt(bc2) / bc1);
    bs = 1.0f;
  }
  const float* G = g.values();
#pragma omp parallel for schedule(static) if (rows.size() > 256)
  for (size_t s = 0; s < rows.size(); ++s) {
    const int r = rows[s];
    if (learner_ == Learner::Adam) catch_up_row(t, r, t_ - 1);
    const size_t base = t.offset + size_t(r) * t.d;
    float* p = P_.values().data() + base;
    float* m = m_.data() + base;
    float* v = v_.data() + base;
    const float* gr = G + s * t.d;
    for (int i = 0; i < t.d; ++i) {
      m[i] = b1 * m[i] + (1.0f - b1) * gr[i];
      v[i] = b2 * v[i] + (1.0f - b2) * gr[i] * gr[i];
      p[i] += -ss * (m[i] / (std::sqrt(v[i]) / bs + eps));
    }
    if (learner_ == Learner::Adam) t.current[size_t(r)] = int32_t(t_);
  }
}

void Optimizer::dense_rows_step(Table& t, const RowSparseGrad& g) {
  if (learner_ == Learner::Adam)  // rows with pending steps (none when the decay was on from the start)
    for (int r = 0; r < t.rows; ++r)
      if (t.current[size_t(r)] < t_ - 1) catch_up_row(t, r, t_ - 1);
  const size_t n = size_t(t.rows) * t.d;
  std::vector<float> dense(n);
  g.to_dense(dense.data());
  adam_flat(P_.values().data() + t.offset, dense.data(), m_.data() + t.offset, v_.data() + t.offset, n, cfg_, t_,
            nullptr);
  std::fill(t.current.begin(), t.current.end(), int32_t(t_));
}

void Optimizer::step() {
  ++t_;
  const size_t dense_off = size_t(P_.dense_values() - P_.values().data());
  adam_flat(P_.dense_values(), P_.grads().data(), m_.data() + dense_off, v_.data() + dense_off, P_.dense_total(), cfg_,
            t_, P_.grads().data());
  for (Table& t : tables_) {
    RowSparseGrad& g = P_.row_grad(t.id);
    if (cfg_.weight_decay != 0.0f) {
      dense_rows_step(t, g);
    } else {
      sparse_rows_step(t, g);
    }
    g.clear();
  }
}

}  // namespace s3rec
