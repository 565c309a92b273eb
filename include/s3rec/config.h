#pragma once
// Run configuration with RecBole's key names and the paper's defaults
// (SPEC sections 2-4). Sources, later ones winning: defaults, YAML files
// (--config_files=a.yaml,b.yaml), then --key=value overrides; a key means the same in
// every source. RecBole's own keys are understood too (src/cli/recbole_keys.h):
// neg_sampling, eval_args, metrics, topk, valid_metric, and the rest accepted where
// s3rec does what they ask, refused with the reason otherwise.
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "s3rec/evaluation.h"
#include "s3rec/model.h"
#include "s3rec/optimizer.h"

namespace s3rec {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct RunConfig {
  // model
  int hidden_size = 64, inner_size = 256, n_layers = 2, n_heads = 2;
  double hidden_dropout_prob = 0.5, attn_dropout_prob = 0.5;
  std::string hidden_act = "gelu";
  double layer_norm_eps = 1e-12, initializer_range = 0.02;
  int MAX_ITEM_LIST_LENGTH = 50;
  // pre-training
  double mask_ratio = 0.2, aap_weight = 0.2, mip_weight = 1.0, map_weight = 1.0, sp_weight = 0.5;
  int pretrain_epochs = 100, pretrain_batch_size = 200, save_step = 10;
  // fine-tuning
  std::string train_stage = "pretrain", pre_model_path, loss_type = "BCE", eval_mode = "sampled";
  // RecBole's: "None" (no sampled negatives: loss_type CE) or "{uniform: 1}" (BCE, BPR);
  // each follows the other when only one is given
  std::string neg_sampling = "{uniform: 1}";
  std::vector<std::string> metrics;  // RecBole's metrics x topk; both empty: the protocol's report
  std::vector<int> topk;
  std::string valid_metric;  // early stopping metric; "": MRR (sampled) or NDCG@20 (full)
  int train_batch_size = 256, epochs = 200, stopping_step = 10;
  bool log_test = false;  // fine-tuning: score the test set after every epoch too (logged only)
  double train_fraction = 1.0;
  // optimisation and run
  double learning_rate = 1e-3, weight_decay = 0.0;
  std::string learner = "adam";
  long seed = 2020;
  int threads = 0;  // 0: all cores
  std::string precision = "fp32";  // fp32 | bf16 (matrix products; refused on CPUs without AVX512_BF16)
  std::string checkpoint_dir;  // "": saved/ for pre-training, the run directory for fine-tuned models
  std::string data_path = ".", dataset, run_dir, model_path;
  std::vector<std::string> item_attribute;
  bool resume = false;
  std::vector<std::string> notes;  // RecBole keys given that have no effect here (not a key)

  ModelConfig model_config(int n_items, int n_attributes) const;
  AdamConfig adam() const;
  Learner optimizer_learner() const;
  PretrainWeights weights() const;
  std::vector<MetricSpec> metric_specs() const;  // empty: the protocol's default report
  std::string pretrain_dir() const { return checkpoint_dir.empty() ? "saved" : checkpoint_dir; }
};

RunConfig load_run_config(const std::vector<std::string>& yaml_files,
                          const std::vector<std::pair<std::string, std::string>>& overrides);
std::string to_yaml(const RunConfig& c);           // resolved configuration, loadable again
std::vector<std::string> config_keys();            // every accepted key
std::string config_help();                         // keys with defaults, for --help

}  // namespace s3rec
