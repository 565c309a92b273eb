#include "train/run_settings.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "s3rec/checkpoint.h"

namespace s3rec {

std::map<std::string, std::string> pretrain_settings(const RunConfig& c) {
  const auto num = [](double x) {
    char b[40];
    std::snprintf(b, sizeof b, "%.17g", x);
    return std::string(b);
  };
  return {{"seed", std::to_string(c.seed)},
          {"mask_ratio", num(c.mask_ratio)},
          {"aap_weight", num(c.aap_weight)},
          {"mip_weight", num(c.mip_weight)},
          {"map_weight", num(c.map_weight)},
          {"sp_weight", num(c.sp_weight)},
          {"pretrain_batch_size", std::to_string(c.pretrain_batch_size)},
          {"learning_rate", num(c.learning_rate)},
          {"weight_decay", num(c.weight_decay)},
          {"train_fraction", num(c.train_fraction)}};
}

std::map<std::string, std::string> finetune_settings(const RunConfig& c) {
  auto s = pretrain_settings(c);
  for (const char* pre_only : {"mask_ratio", "aap_weight", "mip_weight", "map_weight", "sp_weight", "pretrain_batch_size"})
    s.erase(pre_only);
  s.insert({{"train_batch_size", std::to_string(c.train_batch_size)},
            {"loss_type", c.loss_type},
            {"eval_mode", c.eval_mode},
            {"stopping_step", std::to_string(c.stopping_step)},
            {"valid_metric", c.valid_metric},
            {"pre_model_path", c.pre_model_path}});
  return s;
}

std::optional<SettingDifference> first_setting_difference(const std::string& path, const RunConfig& c,
                                                          const ModelConfig& mc, bool require_recorded) {
  return first_setting_difference(path, pretrain_settings(c), mc, require_recorded);
}

std::optional<SettingDifference> first_setting_difference(const std::string& path,
                                                          const std::map<std::string, std::string>& settings,
                                                          const ModelConfig& mc, bool require_recorded) {
  const CheckpointMeta meta = read_checkpoint_meta(path);
  const auto stored = nlohmann::json::parse(model_config_json(meta.config));
  const auto wanted = nlohmann::json::parse(model_config_json(mc));
  for (const auto& [key, value] : wanted.items())
    if (stored.contains(key) ? stored[key] != value : require_recorded)
      return SettingDifference{key, stored.contains(key) ? stored[key].dump() : "(not recorded)", value.dump()};
  for (const auto& [key, value] : settings) {
    const auto it = meta.extra.find(key);
    if (it != meta.extra.end() ? it->second != value : require_recorded)
      return SettingDifference{key, it != meta.extra.end() ? it->second : "(not recorded)", value};
  }
  return std::nullopt;
}

}  // namespace s3rec
