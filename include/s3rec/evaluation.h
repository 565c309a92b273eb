#pragma once
// Ranking evaluation (SPEC section 5): 99 sampled negatives, or full ranking.
#include <string>
#include <utility>
#include <vector>

#include "s3rec/dataset.h"
#include "s3rec/model.h"

namespace s3rec {

enum class EvalMode { Sampled, Full };
enum class EvalSplit { Valid, Test };
EvalMode parse_eval_mode(const std::string& s);  // "sampled" | "full"
const char* eval_mode_name(EvalMode m);

// Metric name -> value, in report order.
using Metrics = std::vector<std::pair<std::string, double>>;
double metric(const Metrics& m, const std::string& name);  // throws std::out_of_range

// Accumulates 0-based ranks of the target and turns them into averaged metrics:
// HR@k = [r < k], NDCG@k = 1/log2(r + 2) if r < k, MRR = 1/(r + 1).
class RankMetrics {
 public:
  explicit RankMetrics(EvalMode mode);
  void add(long rank);
  Metrics result() const;
  long count() const { return n_; }

 private:
  EvalMode mode_;
  std::vector<int> hr_ks_, ndcg_ks_;
  std::vector<double> hr_, ndcg_;
  double mrr_ = 0.0;
  long n_ = 0;
};

// The metric early stopping watches: MRR (sampled) or NDCG@20 (full).
const char* selection_metric(EvalMode mode);

// Evaluates every user of d on the split. Sampled: the target against the user's 99
// negatives (d.sample_negatives). Full: against every real item except the items of
// the user's input history (the target itself always stays a candidate).
// Ties count against the target (rank = number of candidates scoring >= the target).
// Under mpirun with data_parallel, each rank ranks a contiguous share of the users and
// the ranks are summed across processes, so every rank returns the same metrics.
Metrics evaluate(const S3RecModel& model, const Dataset& d, EvalSplit split, EvalMode mode, int batch_users = 512,
                 bool data_parallel = true);

}  // namespace s3rec
