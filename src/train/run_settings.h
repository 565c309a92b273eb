#pragma once
// The settings a pre-training run is made with, as its checkpoints record them (and those
// of fine-tuning, as its resume state records them), and the comparison of a checkpoint
// with a configuration: `--resume` refuses a checkpoint made with other settings, `tune`
// pre-trains again instead of reusing it.
#include <map>
#include <optional>
#include <string>

#include "s3rec/config.h"
#include "s3rec/model.h"

namespace s3rec {

// Training settings stored in every pre-training checkpoint's metadata (the model
// configuration is stored apart, as model_config).
std::map<std::string, std::string> pretrain_settings(const RunConfig& c);
// The same for fine-tuning, stored in its resume state (`epochs` may grow between a run
// and its resumption, so it is not one of them).
std::map<std::string, std::string> finetune_settings(const RunConfig& c);

struct SettingDifference {
  std::string key, stored, wanted;  // stored is "(not recorded)" when the checkpoint lacks the key
};

// The first setting (model configuration, then pretrain_settings) that the checkpoint at
// path was made with differently from c and mc, or nothing. Keys the checkpoint does not
// record (checkpoints of older builds) count as differences only with require_recorded.
std::optional<SettingDifference> first_setting_difference(const std::string& path, const RunConfig& c,
                                                          const ModelConfig& mc, bool require_recorded);
// The same against any recorded settings (finetune_settings for a fine-tuning state).
std::optional<SettingDifference> first_setting_difference(const std::string& path,
                                                          const std::map<std::string, std::string>& settings,
                                                          const ModelConfig& mc, bool require_recorded);

}  // namespace s3rec
