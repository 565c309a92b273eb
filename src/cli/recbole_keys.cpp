#include "cli/recbole_keys.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstring>

#include "s3rec/config.h"

namespace s3rec::recbole {
namespace {

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  return s;
}

std::string canonical_node(const YAML::Node& n) {
  if (!n.IsDefined() || n.IsNull()) return "None";
  if (n.IsScalar()) {
    const std::string s = n.Scalar(), l = lower(s);
    if (l == "none" || l == "null" || l == "~") return "None";
    if (l == "true" || l == "false") return l == "true" ? "True" : "False";
    return s;
  }
  std::string out = n.IsMap() ? "{" : "[";
  for (auto it = n.begin(); it != n.end(); ++it) {
    if (out.size() > 1) out += ", ";
    out += n.IsMap() ? canonical_node(it->first) + ": " + canonical_node(it->second) : canonical_node(*it);
  }
  return out + (n.IsMap() ? "}" : "]");
}

YAML::Node load(const std::string& value) {
  try {
    return YAML::Load(value);
  } catch (const YAML::Exception&) {
    return YAML::Node(value);  // not YAML: the text itself
  }
}

[[noreturn]] void refuse(const std::string& where, const std::string& key, const std::string& value,
                         const std::string& why) {
  throw ConfigError(where + "RecBole key " + key + (value.empty() ? "" : " = " + value) +
                    " is not supported by s3rec: " + why);
}

// RecBole's keys besides the ones s3rec shares, the translated ones above and the model's.
struct Foreign {
  const char* key;
  const char* accepted;  // the value s3rec's behaviour matches; "*": any (no effect); nullptr: none
  const char* why;
};

constexpr const char* kData =
    "s3rec reads NAME.inter (user_id, item_id, timestamp) and the item_attribute fields of NAME.item as they are; "
    "filter, rename or re-split the data beforehand (`s3rec prepare` does k-core filtering)";
constexpr const char* kDist = "s3rec trains data-parallel under mpirun (docs/distributed.md)";
constexpr const char* kOldEval = "a RecBole 0.x evaluation key; use eval_args (mode: full or uni100)";

constexpr Foreign kForeign[] = {
    // no effect on results
    {"gpu_id", "*", "s3rec runs on the CPU (threads sets its worker threads)"},
    {"use_gpu", "*", "s3rec runs on the CPU (threads sets its worker threads)"},
    {"state", "*", "s3rec reports on stdout/stderr and logs epochs to RUN_DIR/log.jsonl"},
    {"show_progress", "*", "s3rec draws its progress bar when stderr is a terminal"},
    {"reproducibility", "*", "s3rec's randomness all comes from seed"},
    {"eval_batch_size", "*", "s3rec chooses its own evaluation blocks; results do not depend on them"},
    {"metric_decimal_place", "*", "s3rec prints 4 decimals and writes full precision to JSON"},
    {"loss_decimal_place", "*", "s3rec prints 4 decimals and writes full precision to JSON"},
    {"worker", "*", "s3rec loads data in-process"},
    {"wandb_project", "*", "s3rec does not log to Weights & Biases"},
    {"model", "S3Rec", "s3rec implements S3Rec; its SASRec is `finetune` without pre_model_path"},
    // accepted where s3rec does the same
    {"eval_step", "1", "s3rec validates after every epoch"},
    {"valid_metric_bigger", "True", "every s3rec metric is better when bigger"},
    {"repeatable", "False", "s3rec predicts each user's next item from the whole history"},
    {"clip_grad_norm", "None", "s3rec does not clip gradients"},
    {"require_pow", "False", "s3rec has no embedding regularisation loss"},
    {"enable_amp", "False", "s3rec trains in float32"},
    {"enable_scaler", "False", "s3rec trains in float32"},
    {"shuffle", "True", "s3rec shuffles the training users every epoch"},
    {"transform", "None", "s3rec applies no data transform"},
    {"save_dataset", "False", "s3rec does not save processed datasets (`s3rec prepare` writes one)"},
    {"save_dataloaders", "False", "s3rec does not save data loaders"},
    {"dataset_save_path", "None", "s3rec does not save processed datasets"},
    {"dataloaders_save_path", "None", "s3rec does not save data loaders"},
    {"log_wandb", "False", "s3rec does not log to Weights & Biases; its epochs are in RUN_DIR/log.jsonl"},
    {"USER_ID_FIELD", "user_id", kData},
    {"ITEM_ID_FIELD", "item_id", kData},
    {"TIME_FIELD", "timestamp", kData},
    {"field_separator", "\t", kData},
    {"seq_separator", " ", kData},
    {"LIST_SUFFIX", "_list", "s3rec builds its sequences internally"},
    {"ITEM_LIST_LENGTH_FIELD", "item_length", "s3rec builds its sequences internally"},
    {"POSITION_FIELD", "position_id", "s3rec builds its sequences internally"},
    // refused whatever the value
    {"RATING_FIELD", nullptr, kData},
    {"LABEL_FIELD", nullptr, kData},
    {"NEG_PREFIX", nullptr, kData},
    {"threshold", nullptr, kData},
    {"load_col", nullptr, kData},
    {"unload_col", nullptr, kData},
    {"unused_col", nullptr, kData},
    {"additional_feat_suffix", nullptr, kData},
    {"rm_dup_inter", nullptr, kData},
    {"val_interval", nullptr, kData},
    {"filter_inter_by_user_or_item", nullptr, kData},
    {"user_inter_num_interval", nullptr, kData},
    {"item_inter_num_interval", nullptr, kData},
    {"alias_of_user_id", nullptr, kData},
    {"alias_of_item_id", nullptr, kData},
    {"alias_of_entity_id", nullptr, kData},
    {"alias_of_relation_id", nullptr, kData},
    {"preload_weight", nullptr, kData},
    {"normalize_field", nullptr, kData},
    {"normalize_all", nullptr, kData},
    {"numerical_features", nullptr, kData},
    {"discretization", nullptr, kData},
    {"benchmark_filename", nullptr, kData},
    {"HEAD_ENTITY_ID_FIELD", nullptr, "s3rec uses no knowledge graph"},
    {"TAIL_ENTITY_ID_FIELD", nullptr, "s3rec uses no knowledge graph"},
    {"RELATION_ID_FIELD", nullptr, "s3rec uses no knowledge graph"},
    {"ENTITY_ID_FIELD", nullptr, "s3rec uses no knowledge graph"},
    {"kg_reverse_r", nullptr, "s3rec uses no knowledge graph"},
    {"entity_kg_num_interval", nullptr, "s3rec uses no knowledge graph"},
    {"relation_kg_num_interval", nullptr, "s3rec uses no knowledge graph"},
    {"nproc", nullptr, kDist},
    {"world_size", nullptr, kDist},
    {"offset", nullptr, kDist},
    {"ip", nullptr, kDist},
    {"port", nullptr, kDist},
    {"backend", nullptr, kDist},
    {"local_rank", nullptr, kDist},
    {"single_spec", nullptr, kDist},
    {"eval_setting", nullptr, kOldEval},
    {"eval_neg_sample_args", nullptr, kOldEval},
    {"valid_neg_sample_args", nullptr, kOldEval},
    {"test_neg_sample_args", nullptr, kOldEval},
    {"training_neg_sample_num", nullptr, "a RecBole 0.x key; use neg_sampling"},
    {"split_ratio", nullptr, kOldEval},
    {"leave_one_num", nullptr, kOldEval},
    {"group_by_user", nullptr, kOldEval},
    {"real_time_process", nullptr, kData},
};

}  // namespace

std::string canonical(const std::string& value) { return canonical_node(load(value)); }

std::string neg_sampling(const std::string& key, const std::string& value, const std::string& where) {
  const YAML::Node n = load(value);
  const std::string c = canonical_node(n);
  if (c == "None") return "None";
  bool uniform_one = false;
  if (key == "neg_sampling") {
    uniform_one = c == "{uniform: 1}";
  } else if (n.IsMap()) {  // train_neg_sample_args: {distribution: uniform, sample_num: 1, ...defaults}
    uniform_one = true;
    for (auto it = n.begin(); it != n.end(); ++it) {
      const std::string k = it->first.Scalar(), v = canonical_node(it->second);
      if (k == "distribution") uniform_one &= v == "uniform";
      else if (k == "sample_num") uniform_one &= v == "1";
      else if (k == "alpha") uniform_one &= v == "1" || v == "1.0";
      else if (k == "dynamic") uniform_one &= v == "False";
      else if (k == "candidate_num") uniform_one &= v == "0";
      else uniform_one = false;
    }
    uniform_one &= canonical_node(n["distribution"]) == "uniform" && canonical_node(n["sample_num"]) == "1";
  }
  if (!uniform_one)
    refuse(where, key, c,
           "s3rec fine-tunes with no sampled negatives (None: loss_type CE over all items) or one uniform negative "
           "per position (" +
               std::string(key == "neg_sampling" ? "{uniform: 1}" : "{distribution: uniform, sample_num: 1}") +
               ": loss_type BCE or BPR)");
  return "{uniform: 1}";
}

std::string eval_args(const std::string& value, const std::string& where) {
  const YAML::Node n = load(value);
  if (!n.IsMap()) throw ConfigError(where + "eval_args: expected a mapping such as {mode: full}, got '" + value + "'");
  std::string mode;
  for (auto it = n.begin(); it != n.end(); ++it) {
    const std::string k = it->first.Scalar(), v = canonical_node(it->second);
    const std::string key = "eval_args." + k;
    if (k == "split") {
      if (v != "{LS: valid_and_test}")
        refuse(where, key, v,
               "s3rec splits each user's sequence leave-one-out (the last item for test, the one before for "
               "validation): {'LS': 'valid_and_test'}");
    } else if (k == "order") {
      if (v != "TO") refuse(where, key, v, "s3rec orders each user's interactions by time: TO");
    } else if (k == "group_by") {
      if (v != "user") refuse(where, key, v, "s3rec splits per user: user");
    } else if (k == "mode") {
      if (v == "full") mode = "full";
      else if (v == "uni100") mode = "sampled";
      else
        refuse(where, key, v,
               "s3rec ranks against every item (full) or the paper's sampled candidates (uni100: the target and the "
               "99 negatives of NAME_sample.txt), for validation and test alike");
    } else {
      throw ConfigError(where + "eval_args: unknown key '" + k + "' (RecBole's are split, group_by, order, mode)");
    }
  }
  return mode;
}

bool foreign_key(const std::string& key, const std::string& value, const std::string& where, std::string& note) {
  for (const Foreign& f : kForeign) {
    if (key != f.key) continue;
    const std::string v = canonical(value);
    if (f.accepted && !std::strcmp(f.accepted, "*")) {
      note = "RecBole key " + key + " has no effect in s3rec: " + f.why;
      return true;
    }
    if (f.accepted && (v == f.accepted || value == f.accepted)) return true;
    refuse(where, key, v, std::string(f.why) + (f.accepted ? std::string(" (accepted: ") + f.accepted + ")" : ""));
  }
  return false;
}

}  // namespace s3rec::recbole
