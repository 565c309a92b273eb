#pragma once
// Hyper-parameter search in the manner of RecBole's HyperTuning. A params file holds
// one line per key:
//   name choice [a, b, c]        values as written (quotes around strings are removed)
//   name uniform lo, hi          lo + u (hi - lo)
//   name loguniform lo, hi       exp(lo + u (hi - lo))   (bounds in log space, as RecBole/hyperopt)
//   name quniform lo, hi, q      round(uniform(lo, hi) / q) * q
// Commas or spaces separate the numbers; '#' starts a comment.
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace s3rec {

struct SearchParam {
  enum class Kind { Choice, Uniform, LogUniform, QUniform };
  std::string name;
  Kind kind = Kind::Choice;
  std::vector<std::string> choices;
  double lo = 0, hi = 0, q = 1;
};

using Trial = std::vector<std::pair<std::string, std::string>>;  // --key=value overrides, in file order

// Throws DataError naming the file and line (unknown key, unknown kind, bad numbers, empty choice).
std::vector<SearchParam> parse_search_space(const std::string& path);
std::vector<SearchParam> parse_search_space_text(const std::string& text, const std::string& source);

// Every combination (choices only; other kinds are an error), at most max_trials, in
// odometer order with the last parameter varying fastest.
std::vector<Trial> exhaustive_trials(const std::vector<SearchParam>& space, int max_trials);
// max_trials draws (seeded); repeated draws are skipped, so fewer may come back.
std::vector<Trial> random_trials(const std::vector<SearchParam>& space, int max_trials, uint64_t seed);

// Keys that only change fine-tuning: trials that differ only in these (and in
// pretrain_epochs, served by the checkpoints of one longer run) share a pre-training.
bool is_finetune_key(const std::string& key);
std::string pretrain_signature(const Trial& t);  // the trial's other keys, pretrain_epochs excluded

}  // namespace s3rec
