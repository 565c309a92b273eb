#pragma once
// The run API under the CLI and the Python package: a resolved configuration and a
// dataset in; checkpoints, the run directory's JSON-lines log and results out.
// Progress, per-epoch records and messages go to callbacks, so each front end prints
// (or draws) them its own way. A callback may throw to cancel a run: the exception
// leaves the run, and the checkpoints written before it stay intact.
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "s3rec/config.h"
#include "s3rec/dataset.h"
#include "s3rec/evaluation.h"

namespace s3rec {

struct RunHooks {
  // within an epoch: `done` of `total` samples (pretrain) or users (finetune)
  std::function<void(const std::string& stage, int epoch, long done, long total)> on_batch;
  std::function<void(const nlohmann::json& record)> on_epoch;  // each epoch's log record, after it is written
  std::function<void(const std::string& message)> on_message;  // "saved PATH", "resuming from ...", warnings
};

// Applies `threads` (> 0) to OpenMP, then reads data_path/dataset with item_attribute,
// negatives drawn with `seed` when the dataset has no sample file.
Dataset load_run_dataset(const RunConfig& c, LoadReport* report = nullptr);

// The configuration's run_dir, or runs/STAGE-DATASET: created, with config.yaml and,
// when the negatives were generated, the sample file (written by MPI rank 0 only).
std::string open_run_dir(const RunConfig& c, const Dataset& d, const std::string& stage);

struct PretrainRunResult {
  int epochs = 0;                        // the last epoch run
  std::vector<std::string> checkpoints;  // written by this run, oldest first
};
// Pre-trains (resuming from checkpoint_dir when c.resume), saving a checkpoint every
// save_step epochs and after the last. A NaN or infinity stops it with an error naming
// the step, after saving the parameters before that step as S3Rec-NAME-nonfinite.
PretrainRunResult run_pretrain(const RunConfig& c, const Dataset& d, const std::string& run_dir,
                               const RunHooks& hooks = {});

struct FinetuneRunResult {
  Metrics valid, test;  // of the best epoch's model
  int best_epoch = 0, epochs_run = 0;
  std::string model_path;  // the fine-tuned model, with the dataset's vocabulary
};
// Fine-tunes (from c.pre_model_path when set, else SASRec), writes the best model and
// RUN_DIR/results.json.
FinetuneRunResult run_finetune(const RunConfig& c, const Dataset& d, const std::string& run_dir,
                               const RunHooks& hooks = {});

struct EvaluateRunResult {
  Metrics valid, test;
};
// Evaluates the checkpoint c.model_path on the dataset's validation and test targets.
EvaluateRunResult run_evaluate(const RunConfig& c, const Dataset& d);

// {"valid": {...}, "test": {...}} with the metrics in protocol order, then `extra`'s keys.
nlohmann::ordered_json results_json(const Metrics& valid, const Metrics& test, const nlohmann::json& extra = {});

}  // namespace s3rec
