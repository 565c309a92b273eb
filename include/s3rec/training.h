#pragma once
// Pre-training and fine-tuning loops (SPEC sections 3-4). Logging, progress and
// checkpoints are left to the caller through hooks, so the loops stay testable.
#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "s3rec/dataset.h"
#include "s3rec/evaluation.h"
#include "s3rec/model.h"
#include "s3rec/optimizer.h"
#include "s3rec/params.h"

namespace s3rec {

// Training produced a NaN or infinity; the parameters are those before the failing step.
class NonFiniteError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct PretrainOptions {
  int epochs = 100;
  int batch_size = 200;
  float mask_ratio = 0.2f;
  PretrainWeights weights;
  uint64_t seed = 2020;
  int start_epoch = 0;  // > 0 when resuming: epochs [start_epoch, epochs) are run
  double train_fraction = 1.0;  // share of each user's training part used (see PretrainSampler)
  // Under mpirun: every rank draws the same global batch, computes its contiguous share
  // of the samples, and the gradients are summed across ranks (the loss is a sum).
  bool data_parallel = true;
};

struct PretrainEpoch {
  int epoch = 0;           // 1-based
  PretrainLosses losses;   // sums over the epoch
  long samples = 0;
  long positions = 0;      // token positions encoded (masked sequences and SP sequences)
  long touched_rows = 0;   // item-table rows with a gradient, summed over steps (after the exchange)
  long steps = 0;
  double exchanged_bytes = 0;  // received by this rank in the gradient exchange (data-parallel)
  double seconds = 0.0;
};

struct TrainHooks {
  std::function<void(long done, long total)> on_batch;  // progress within an epoch
};

// Runs the epochs; after each, on_epoch is called (write logs, checkpoints there).
void pretrain(S3RecModel& model, Optimizer& optim, const Dataset& d, const PretrainOptions& opt, const TrainHooks& hooks,
              const std::function<void(const PretrainEpoch&)>& on_epoch);

// What fine-tuning carries from one epoch to the next besides the model and the optimizer:
// with those two, all a resumed run needs to continue exactly as the uninterrupted one
// (the random streams are derived from the seed, the epoch and the step, so they hold no state).
struct FinetuneProgress {
  int epochs_done = 0;
  bool any_score = false;  // early stopping: a validation score was seen
  double best_score = 0.0;
  int bad_epochs = 0;      // epochs since the last improvement
  int best_epoch = 0;
  Metrics best_valid;
  std::vector<float> best_params;  // laid out like params.values()
};

struct FinetuneOptions {
  int epochs = 200;
  int batch_size = 256;
  LossType loss = LossType::BCE;
  EvalMode eval_mode = EvalMode::Sampled;
  std::vector<MetricSpec> metrics;  // reported on validation and test; empty: default_metrics(eval_mode)
  std::string valid_metric;         // early stopping watches it; empty: selection_metric(eval_mode)
  int stopping_step = 10;  // epochs without improvement before stopping
  bool log_test = false;   // also score the test set after every epoch (reported, never used for selection)
  uint64_t seed = 2020;
  double train_fraction = 1.0;
  // Under mpirun: shares of each global batch per rank, gradients combined with
  // token-count weights (the loss is a mean over tokens), evaluation sharded by user.
  bool data_parallel = true;
  // Continue after resume->epochs_done epochs (the model and optimizer already hold the
  // state saved with it); a run that had already stopped early only re-runs the test.
  const FinetuneProgress* resume = nullptr;
};

struct FinetuneEpoch {
  int epoch = 0;  // 1-based
  double loss = 0.0;  // mean over the epoch's batches
  Metrics valid;
  std::optional<Metrics> test;  // this epoch's test metrics, with FinetuneOptions::log_test
  double score = 0.0;  // the selection metric (valid_metric) on validation
  bool improved = false;
  long positions = 0;          // input positions encoded in training
  double train_seconds = 0.0;  // training steps only (seconds also counts the validation)
  double seconds = 0.0;
  const FinetuneProgress* progress = nullptr;  // the state after this epoch (valid during the callback)
};

struct FinetuneResult {
  int best_epoch = 0;
  double best_score = 0.0;
  Metrics valid, test;  // of the best model
  int epochs_run = 0;
};

// Fine-tunes with validation after every epoch and early stopping; the best
// parameters are restored into `model` before the final test.
FinetuneResult finetune(S3RecModel& model, Optimizer& optim, const Dataset& d, const FinetuneOptions& opt,
                        const TrainHooks& hooks, const std::function<void(const FinetuneEpoch&)>& on_epoch);

// Early stopping on a score that must strictly improve (reference semantics).
class EarlyStopping {
 public:
  explicit EarlyStopping(int patience) : patience_(patience) {}
  bool update(double score);  // true when this score is a new best
  bool should_stop() const { return bad_ >= patience_; }
  double best() const { return best_; }
  bool any() const { return any_; }        // a score was seen
  int bad_epochs() const { return bad_; }  // updates since the last improvement
  void restore(bool any, double best, int bad_epochs) {
    any_ = any;
    best_ = best;
    bad_ = bad_epochs;
  }

 private:
  int patience_;
  int bad_ = 0;
  bool any_ = false;
  double best_ = 0.0;
};

}  // namespace s3rec
