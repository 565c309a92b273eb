#pragma once
// Adam over a model's parameters. Dense parameters take torch.optim.Adam's update every
// step. Row-sparse parameters (the item table) are updated only where a step touched
// them, with one of two semantics (RecBole's `learner` key):
//  - Learner::Adam: the parameters torch.optim.Adam's dense update would give. A row
//    untouched for k steps has its moments decay and its weights drift; that is applied
//    in closed form when the row is next read or updated (see docs/architecture.md,
//    "Adam on touched rows"), so a step costs what its batch touches.
//  - Learner::SparseAdam: torch.optim.SparseAdam (TF's LazyAdam): a row's moments and
//    weights change only in the steps that touch it.
// With weight_decay > 0 every row has a gradient, and the item table gets the dense update.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "s3rec/params.h"

namespace s3rec {

// torch.optim.Adam (amsgrad off): L2 weight decay is added to the gradient,
// denom = sqrt(v) / sqrt(1 - beta2^t) + eps, step = lr / (1 - beta1^t).
struct AdamConfig {
  float lr = 1e-3f, beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f, weight_decay = 0.0f;
};

// torch.optim.Adam on one flat array.
class Adam {
 public:
  Adam(size_t n, AdamConfig cfg) : cfg_(cfg), m_(n, 0.0f), v_(n, 0.0f) {}
  void step(float* params, const float* grads);
  // step(), then the gradients set to zero in the same pass over memory
  void step_and_zero_grad(float* params, float* grads);
  long steps() const { return t_; }
  std::vector<float>& exp_avg() { return m_; }
  std::vector<float>& exp_avg_sq() { return v_; }
  void set_steps(long t) { t_ = t; }

 private:
  void update(float* params, const float* grads, float* zero_grads);
  AdamConfig cfg_;
  std::vector<float> m_, v_;
  long t_ = 0;
};

enum class Learner { Adam, SparseAdam };
Learner parse_learner(const std::string& s);  // adam | sparse_adam; throws std::invalid_argument
const char* learner_name(Learner l);

class Optimizer {
 public:
  Optimizer(ParamStore& params, AdamConfig cfg, Learner learner = Learner::Adam);

  // Rows of row-sparse parameter `id` a step is about to read: brought up to date with
  // every step taken so far (Learner::Adam; a no-op for SparseAdam).
  void prepare_rows(int id, const std::vector<int>& rows);
  // One step from the store's gradients (dense buffer and row gradients), which are
  // then cleared. Rows with a gradient are brought up to date first if they were not.
  void step();
  // Every row of every row-sparse parameter up to date (Learner::Adam): before the
  // values are read as a whole (evaluation, checkpoints, export).
  void catch_up_all();
  bool caught_up() const;  // no row has pending steps

  long steps() const { return t_; }
  void set_steps(long t);  // after loading a checkpoint whose rows are all up to date
  Learner learner() const { return learner_; }
  const AdamConfig& config() const { return cfg_; }
  // First and second moments, laid out like params.values()
  std::vector<float>& exp_avg() { return m_; }
  std::vector<float>& exp_avg_sq() { return v_; }
  const std::vector<float>& exp_avg() const { return m_; }
  const std::vector<float>& exp_avg_sq() const { return v_; }

 private:
  struct Table {  // one row-sparse parameter
    int id = -1, rows = 0, d = 0;
    size_t offset = 0;               // into values, m_, v_
    std::vector<int32_t> current;    // per row: steps applied to it (Learner::Adam)
  };
  void catch_up_row(Table& t, int row, int64_t target);
  void dense_rows_step(Table& t, const RowSparseGrad& g);   // weight_decay > 0: every row
  void sparse_rows_step(Table& t, const RowSparseGrad& g);  // touched rows only
  float step_size(int64_t t);  // lr / (1 - beta1^t), as torch computes it in float
  float bc2_sqrt(int64_t t);   // sqrt(1 - beta2^t)
  double window_sum(int n, int64_t s, int64_t k) const;  // sum_{j=1..k} r_n^j c_n(s+j), see the .cpp

  ParamStore& P_;
  AdamConfig cfg_;
  Learner learner_;
  std::vector<float> m_, v_;
  int64_t t_ = 0;
  std::vector<Table> tables_;
  std::vector<float> step_size_, bc2_sqrt_;  // per step, index t (grown on demand)
  struct Windows {  // W_n(s) for s below a step where the bias corrections reach 1, and beyond
    std::vector<double> table[4];
    double inf[4], r[4];
  };
  static std::shared_ptr<const Windows> window_tables(float beta1, float beta2);
  std::shared_ptr<const Windows> windows_;
};

}  // namespace s3rec
