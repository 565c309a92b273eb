#pragma once
// Fine-tuning's resume state, saved after an epoch as three files in one directory:
//   epoch-E.safetensors                     the model (a checkpoint; the progress in its metadata)
//   epoch-E.safetensors.optim.safetensors   the optimizer moments and step count (checkpoint.h)
//   epoch-E.best.safetensors                the best parameters so far
// Each is written atomically, the model file last, so a state whose model file exists is
// complete. Once it is, the states of other epochs in the directory are removed.
#include <map>
#include <string>

#include "s3rec/model.h"
#include "s3rec/optimizer.h"
#include "s3rec/training.h"

namespace s3rec {

// `meta` (the run's settings) goes into the model file's metadata beside the progress.
void save_finetune_state(const std::string& dir, const S3RecModel& m, const Optimizer& optim,
                         const FinetuneProgress& p, const std::map<std::string, std::string>& meta);

// The model file of the latest complete state in dir; "" when there is none.
std::string latest_finetune_state(const std::string& dir);

// Loads the model, the optimizer and the progress of the state whose model file is `path`,
// checking that the three files belong together; throws std::runtime_error naming the file
// and the problem.
FinetuneProgress load_finetune_state(const std::string& path, S3RecModel& m, Optimizer& optim);

// Removes every state in dir (a run that starts afresh).
void clear_finetune_states(const std::string& dir);

}  // namespace s3rec
