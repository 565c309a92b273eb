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

// One ranking metric of the 0-based rank r of a user's single target (leave-one-out):
// HR@k = Recall@k = [r < k]; NDCG@k = 1/log2(r + 2) if r < k; Precision@k = [r < k]/k;
// MRR = 1/(r + 1) (k = 0: no cut-off, the paper's); MRR@k = MAP@k = 1/(r + 1) if r < k
// (RecBole's definitions: with one relevant item, average precision is the reciprocal rank).
enum class MetricKind { HR, NDCG, MRR, Recall, Precision, MAP };
struct MetricSpec {
  MetricKind kind = MetricKind::HR;
  int k = 0;  // cut-off; 0 only for MRR without one
  std::string name() const;  // "HR@10", "MRR", "MAP@5", ...
  double of_rank(long r) const;
  bool operator==(const MetricSpec&) const = default;
};
// "HR@10", RecBole's "Hit@10", "ndcg@5", "MRR", "MRR@10", "Recall@20", "Precision@10", "MAP@10"
// (case-insensitive); throws std::invalid_argument naming the accepted forms.
MetricSpec parse_metric(const std::string& name);
// The protocol's report (SPEC section 5): sampled HR@1, HR@5, NDCG@5, HR@10, NDCG@10, MRR;
// full HR@5, NDCG@5, HR@10, NDCG@10, HR@20, NDCG@20, MRR.
std::vector<MetricSpec> default_metrics(EvalMode mode);
// RecBole's `metrics` x `topk`, in RecBole's order (each metric at every k): names are
// Hit, NDCG, MRR, Recall, Precision, MAP in any case; another RecBole metric is refused by name.
std::vector<MetricSpec> recbole_metrics(const std::vector<std::string>& metrics, const std::vector<int>& topk);

// Accumulates 0-based ranks of the target and turns them into averaged metrics.
class RankMetrics {
 public:
  explicit RankMetrics(EvalMode mode);  // default_metrics(mode)
  explicit RankMetrics(std::vector<MetricSpec> metrics);
  void add(long rank);
  Metrics result() const;
  long count() const { return n_; }

 private:
  std::vector<MetricSpec> specs_;
  std::vector<double> sums_;
  long n_ = 0;
};

// The metric early stopping watches: MRR (sampled) or NDCG@20 (full).
const char* selection_metric(EvalMode mode);
// The one a run watches: valid_metric when given (RecBole's key, e.g. "MRR@10"), else selection_metric(mode).
MetricSpec valid_metric_spec(EvalMode mode, const std::string& valid_metric);

// Evaluates every user of d on the split. Sampled: the target against the user's 99
// negatives (d.sample_negatives). Full: against every real item except the items of
// the user's input history (the target itself always stays a candidate).
// Ties count against the target (rank = number of candidates scoring >= the target).
// Under mpirun with data_parallel, each rank ranks a contiguous share of the users and
// the ranks are summed across processes, so every rank returns the same metrics.
Metrics evaluate(const S3RecModel& model, const Dataset& d, EvalSplit split, EvalMode mode, int batch_users = 512,
                 bool data_parallel = true);
// The same with the metrics to report (empty: default_metrics(mode)).
Metrics evaluate(const S3RecModel& model, const Dataset& d, EvalSplit split, EvalMode mode,
                 const std::vector<MetricSpec>& metrics, int batch_users = 512, bool data_parallel = true);

}  // namespace s3rec
