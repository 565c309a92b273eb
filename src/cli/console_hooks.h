#pragma once
// What a training run shows on the terminal: a progress bar per epoch and one line per epoch
// on stdout, messages on stderr (rank 0 only). Used by pretrain, finetune and tune.
#include <optional>

#include "s3rec/progress.h"
#include "s3rec/run.h"

namespace s3rec::cli {

struct ConsoleHooks {
  std::optional<ProgressBar> bar;
  RunHooks pretrain();  // "epoch E: aap .. mip .. map .. sp .. (per sample), Ts"
  RunHooks finetune();  // "epoch E: loss .., valid METRIC .. [*], Ts"
};

}  // namespace s3rec::cli
