#include "s3rec/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <functional>
#include <set>
#include <sstream>
#include <variant>

#include "cli/recbole_keys.h"

namespace s3rec {
namespace {

using Field = std::variant<int RunConfig::*, long RunConfig::*, double RunConfig::*, std::string RunConfig::*,
                           bool RunConfig::*, std::vector<std::string> RunConfig::*, std::vector<int> RunConfig::*>;

struct Key {
  const char* name;
  Field field;
  const char* help;
};

const std::vector<Key>& keys() {
  static const std::vector<Key> k = {
      {"hidden_size", &RunConfig::hidden_size, "hidden size d"},
      {"inner_size", &RunConfig::inner_size, "feed-forward inner size"},
      {"n_layers", &RunConfig::n_layers, "Transformer layers"},
      {"n_heads", &RunConfig::n_heads, "attention heads (divides hidden_size)"},
      {"hidden_dropout_prob", &RunConfig::hidden_dropout_prob, "dropout on hidden states, [0, 1)"},
      {"attn_dropout_prob", &RunConfig::attn_dropout_prob, "dropout on attention probabilities, [0, 1)"},
      {"hidden_act", &RunConfig::hidden_act, "gelu | relu | swish | tanh | sigmoid"},
      {"layer_norm_eps", &RunConfig::layer_norm_eps, "layer norm epsilon (> 0)"},
      {"initializer_range", &RunConfig::initializer_range, "std of the normal initialisation (> 0)"},
      {"MAX_ITEM_LIST_LENGTH", &RunConfig::MAX_ITEM_LIST_LENGTH, "max sequence length"},
      {"mask_ratio", &RunConfig::mask_ratio, "masking probability, [0, 1]"},
      {"aap_weight", &RunConfig::aap_weight, "AAP loss weight (>= 0; 0 skips it)"},
      {"mip_weight", &RunConfig::mip_weight, "MIP loss weight"},
      {"map_weight", &RunConfig::map_weight, "MAP loss weight"},
      {"sp_weight", &RunConfig::sp_weight, "SP loss weight"},
      {"pretrain_epochs", &RunConfig::pretrain_epochs, "pre-training epochs"},
      {"pretrain_batch_size", &RunConfig::pretrain_batch_size, "pre-training batch size"},
      {"save_step", &RunConfig::save_step,
       "checkpoint every N epochs (pre-training: each kept; fine-tuning: the resume state, latest only)"},
      {"train_stage", &RunConfig::train_stage, "pretrain | finetune (for `run`)"},
      {"pre_model_path", &RunConfig::pre_model_path, "pre-trained checkpoint to fine-tune from ('' = SASRec)"},
      {"loss_type", &RunConfig::loss_type, "BCE | BPR | CE"},
      {"neg_sampling", &RunConfig::neg_sampling,
       "RecBole's: None (no sampled negatives, loss_type CE) | {uniform: 1} (one per position, BCE or BPR)"},
      {"eval_mode", &RunConfig::eval_mode, "sampled | full (RecBole's eval_args: {mode: uni100 | full} sets it too)"},
      {"metrics", &RunConfig::metrics,
       "RecBole's: reported metrics among Hit, NDCG, MRR, Recall, Precision, MAP, each at every topk "
       "([] with topk []: the protocol's HR/NDCG/MRR report)"},
      {"topk", &RunConfig::topk, "RecBole's: cut-offs for metrics (default [10] when metrics is given)"},
      {"valid_metric", &RunConfig::valid_metric,
       "RecBole's: early stopping metric such as MRR@10 or NDCG@20 ('': MRR sampled, NDCG@20 full)"},
      {"train_batch_size", &RunConfig::train_batch_size, "fine-tuning batch size"},
      {"epochs", &RunConfig::epochs, "maximum fine-tuning epochs"},
      {"stopping_step", &RunConfig::stopping_step, "early-stopping patience (epochs)"},
      {"log_test", &RunConfig::log_test,
       "fine-tuning: also score the test set after every epoch and log it (to study the stopping rule; "
       "never used for selection; one more evaluation per epoch)"},
      {"train_fraction", &RunConfig::train_fraction, "fraction of each user's training data, (0, 1]"},
      {"learning_rate", &RunConfig::learning_rate, "Adam learning rate"},
      {"weight_decay", &RunConfig::weight_decay, "Adam L2 weight decay"},
      {"learner", &RunConfig::learner,
       "adam (torch.optim.Adam's result, item rows updated lazily) | sparse_adam (item rows move only when touched)"},
      {"seed", &RunConfig::seed, "random seed"},
      {"threads", &RunConfig::threads, "worker threads (0 = all cores)"},
      {"precision", &RunConfig::precision,
       "fp32 | bf16 (training products in bfloat16 with fp32 accumulation; CPUs with AVX512_BF16 only)"},
      {"checkpoint_dir", &RunConfig::checkpoint_dir,
       "where models go ('': pre-training checkpoints in saved/, the fine-tuned model in the run directory)"},
      {"data_path", &RunConfig::data_path, "dataset directory"},
      {"dataset", &RunConfig::dataset, "dataset name"},
      {"run_dir", &RunConfig::run_dir, "run directory (default: runs/STAGE-DATASET)"},
      {"model_path", &RunConfig::model_path, "checkpoint to evaluate"},
      {"item_attribute", &RunConfig::item_attribute, "RecBole item field(s) used as attributes"},
      {"resume", &RunConfig::resume,
       "continue where a run stopped: pre-training from checkpoint_dir, fine-tuning from run_dir/finetune-state"},
  };
  return k;
}

// "a,b", "[a, b]", "['a', 'b']" -> {a, b}
std::vector<std::string> split_list(const std::string& v) {
  std::string s = v;
  s.erase(std::remove_if(s.begin(), s.end(), [](char ch) { return ch == '[' || ch == ']' || ch == ' ' || ch == '\'' || ch == '"'; }),
          s.end());
  std::vector<std::string> out;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

// Shortest text that reads back as the same double (0.2, 1e-12).
std::string shortest(double x) {
  char b[32];
  const auto r = std::to_chars(b, b + sizeof b, x);
  return std::string(b, r.ptr);
}

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

const Key& find_key(const std::string& name, const std::string& where) {
  for (const Key& k : keys())
    if (name == k.name) return k;
  std::string best;
  size_t bd = 100;
  for (const Key& k : keys()) {
    const size_t d = edit_distance(name, k.name);
    if (d < bd) bd = d, best = k.name;
  }
  std::string msg = where + "unknown key '" + name + "'";
  if (bd <= 3) msg += " (did you mean '" + best + "'?)";
  throw ConfigError(msg + "; run with --help for the accepted keys");
}

void set_scalar(RunConfig& c, const Key& k, const std::string& v, const std::string& where) {
  const std::string ctx = where + k.name + "=" + v + ": ";
  std::visit(
      [&](auto member) {
        using T = std::remove_reference_t<decltype(c.*member)>;
        if constexpr (std::is_same_v<T, int> || std::is_same_v<T, long>) {
          long x;
          const auto r = std::from_chars(v.data(), v.data() + v.size(), x);
          if (r.ec != std::errc() || r.ptr != v.data() + v.size()) throw ConfigError(ctx + "expected an integer");
          if (std::is_same_v<T, int> && (x > 2147483647L || x < -2147483647L)) throw ConfigError(ctx + "out of range");
          c.*member = T(x);
        } else if constexpr (std::is_same_v<T, double>) {
          double x;
          const auto r = std::from_chars(v.data(), v.data() + v.size(), x);
          if (r.ec != std::errc() || r.ptr != v.data() + v.size() || !std::isfinite(x))
            throw ConfigError(ctx + "expected a number");
          c.*member = x;
        } else if constexpr (std::is_same_v<T, bool>) {
          if (v == "true" || v == "True" || v == "1") c.*member = true;
          else if (v == "false" || v == "False" || v == "0") c.*member = false;
          else throw ConfigError(ctx + "expected true or false");
        } else if constexpr (std::is_same_v<T, std::string>) {
          c.*member = v;
        } else {  // list: comma separated, or a YAML-style [a, b]
          const std::vector<std::string> items = split_list(v);
          if constexpr (std::is_same_v<T, std::vector<int>>) {
            std::vector<int> out;
            for (const std::string& item : items) {
              int x;
              const auto r = std::from_chars(item.data(), item.data() + item.size(), x);
              if (r.ec != std::errc() || r.ptr != item.data() + item.size())
                throw ConfigError(ctx + "expected integers, got '" + item + "'");
              out.push_back(x);
            }
            c.*member = out;
          } else {
            c.*member = items;
          }
        }
      },
      k.field);
}

void validate(const RunConfig& c) {
  auto need = [](bool ok, const std::string& m) {
    if (!ok) throw ConfigError(m);
  };
  try {
    c.model_config(1, 0).validate();
  } catch (const std::invalid_argument& e) {
    throw ConfigError(e.what());
  }
  try {
    parse_activation(c.hidden_act);
    parse_loss_type(c.loss_type);
    parse_learner(c.learner);
    if (!c.valid_metric.empty()) parse_metric(c.valid_metric);
    c.metric_specs();
  } catch (const std::invalid_argument& e) {
    throw ConfigError(e.what());
  }
  need(c.eval_mode == "sampled" || c.eval_mode == "full", "eval_mode must be 'sampled' or 'full', got '" + c.eval_mode + "'");
  need(c.train_stage == "pretrain" || c.train_stage == "finetune",
       "train_stage must be 'pretrain' or 'finetune', got '" + c.train_stage + "'");
  need(c.mask_ratio >= 0 && c.mask_ratio <= 1, "mask_ratio must be in [0, 1]");
  need(c.aap_weight >= 0 && c.mip_weight >= 0 && c.map_weight >= 0 && c.sp_weight >= 0, "objective weights must be >= 0");
  need(c.pretrain_epochs >= 0 && c.epochs >= 0, "epochs must be >= 0");
  need(c.pretrain_batch_size > 0 && c.train_batch_size > 0, "batch sizes must be positive");
  need(c.save_step > 0, "save_step must be positive");
  need(c.stopping_step > 0, "stopping_step must be positive");
  need(c.train_fraction > 0 && c.train_fraction <= 1, "train_fraction must be in (0, 1]");
  need(c.learning_rate > 0, "learning_rate must be positive");
  need(c.weight_decay >= 0, "weight_decay must be >= 0");
  need(c.learner != "sparse_adam" || c.weight_decay == 0,
       "learner sparse_adam does not support weight_decay > 0 (as torch.optim.SparseAdam)");
  need(c.threads >= 0, "threads must be >= 0");
  need(c.precision == "fp32" || c.precision == "bf16", "precision must be 'fp32' or 'bf16', got '" + c.precision + "'");
}

}  // namespace

ModelConfig RunConfig::model_config(int n_items, int n_attributes) const {
  ModelConfig m;
  m.hidden_size = hidden_size;
  m.inner_size = inner_size;
  m.n_layers = n_layers;
  m.n_heads = n_heads;
  m.hidden_dropout_prob = float(hidden_dropout_prob);
  m.attn_dropout_prob = float(attn_dropout_prob);
  m.hidden_act = parse_activation(hidden_act);
  m.layer_norm_eps = float(layer_norm_eps);
  m.initializer_range = float(initializer_range);
  m.max_seq_length = MAX_ITEM_LIST_LENGTH;
  m.n_items = n_items;
  m.n_attributes = n_attributes;
  return m;
}

AdamConfig RunConfig::adam() const {
  AdamConfig a;
  a.lr = float(learning_rate);
  a.weight_decay = float(weight_decay);
  return a;
}

std::vector<MetricSpec> RunConfig::metric_specs() const {
  if (metrics.empty() && topk.empty()) return {};
  static const std::vector<std::string> recbole_default = {"Recall", "MRR", "NDCG", "Hit", "Precision"};
  return recbole_metrics(metrics.empty() ? recbole_default : metrics, topk.empty() ? std::vector<int>{10} : topk);
}

Learner RunConfig::optimizer_learner() const { return parse_learner(learner); }

PretrainWeights RunConfig::weights() const {
  return {float(aap_weight), float(mip_weight), float(map_weight), float(sp_weight)};
}

namespace {

// Applies one key from one source, remembering which of s3rec's keys were given.
class Loader {
 public:
  void set(const std::string& name, const std::string& v, const std::string& where) {
    if (name == "neg_sampling" || name == "train_neg_sample_args") {
      c_.neg_sampling = recbole::neg_sampling(name, v, where);
      given_.insert("neg_sampling");
    } else if (name == "eval_args") {
      const std::string mode = recbole::eval_args(v, where);
      if (!mode.empty()) c_.eval_mode = mode, given_.insert("eval_mode");
    } else if (std::string note; recbole::foreign_key(name, v, where, note)) {
      if (!note.empty()) c_.notes.push_back(note);
    } else {
      set_scalar(c_, find_key(name, where), v, where);
      given_.insert(name);
    }
  }

  // neg_sampling and loss_type say one thing: None goes with CE, {uniform: 1} with BCE or BPR;
  // the one given decides the other, and both given must agree (as RecBole requires).
  RunConfig finish() {
    bool ce = false;
    try {
      ce = parse_loss_type(c_.loss_type) == LossType::CE;
    } catch (const std::invalid_argument& e) {
      throw ConfigError(e.what());
    }
    const bool none = c_.neg_sampling == "None";
    if (given_.count("neg_sampling") && given_.count("loss_type") && none != ce)
      throw ConfigError(none ? "neg_sampling None means no sampled negatives, but loss_type " + c_.loss_type +
                                   " needs one: use loss_type CE, or neg_sampling {uniform: 1}"
                             : "neg_sampling " + c_.neg_sampling +
                                   " should be None when loss_type is CE (as in RecBole): CE scores every item");
    if (given_.count("neg_sampling") && !given_.count("loss_type") && none != ce) c_.loss_type = none ? "CE" : "BCE";
    if (!given_.count("neg_sampling")) c_.neg_sampling = ce ? "None" : "{uniform: 1}";
    validate(c_);
    return c_;
  }

 private:
  RunConfig c_;
  std::set<std::string> given_;
};

}  // namespace

RunConfig load_run_config(const std::vector<std::string>& files,
                          const std::vector<std::pair<std::string, std::string>>& overrides) {
  Loader loader;
  for (const std::string& f : files) {
    YAML::Node root;
    try {
      root = YAML::LoadFile(f);
    } catch (const YAML::BadFile&) {
      throw ConfigError(f + ": cannot open");
    } catch (const YAML::Exception& e) {
      throw ConfigError(f + ":" + std::to_string(e.mark.line + 1) + ": " + e.msg);
    }
    if (root.IsNull()) continue;
    if (!root.IsMap()) throw ConfigError(f + ": expected a mapping of key: value");
    for (const auto& kv : root) {
      const std::string where = f + ":" + std::to_string(kv.first.Mark().line + 1) + ": ";
      if (!kv.first.IsScalar()) throw ConfigError(where + "a key must be a plain name");
      const std::string name = kv.first.as<std::string>();
      std::string v;
      if (kv.second.IsSequence()) {
        for (const auto& x : kv.second) {
          if (!x.IsScalar()) throw ConfigError(where + name + ": expected a list of plain values");
          v += (v.empty() ? "" : ",") + x.as<std::string>();
        }
      } else if (kv.second.IsScalar()) {
        v = kv.second.as<std::string>();
      } else if (kv.second.IsMap()) {  // RecBole's neg_sampling, eval_args: handed on as flow YAML
        YAML::Emitter e;
        e << YAML::Flow << kv.second;
        v = e.c_str();
      }
      loader.set(name, v, where);
    }
  }
  for (const auto& [name, v] : overrides) loader.set(name, v, "--");
  return loader.finish();
}

std::vector<std::string> config_keys() {
  std::vector<std::string> out;
  for (const Key& k : keys()) out.push_back(k.name);
  return out;
}

std::string to_yaml(const RunConfig& c) {
  YAML::Emitter e;
  e << YAML::BeginMap;
  for (const Key& k : keys()) {
    e << YAML::Key << k.name << YAML::Value;
    std::visit(
        [&](auto member) {
          using T = std::remove_cvref_t<decltype(c.*member)>;  // c is const
          if constexpr (std::is_same_v<T, std::vector<std::string>> || std::is_same_v<T, std::vector<int>>) {
            e << YAML::Flow << c.*member;
          } else if constexpr (std::is_same_v<T, double>) {
            e << shortest(c.*member);
          } else {
            e << c.*member;
          }
        },
        k.field);
  }
  e << YAML::EndMap;
  return std::string(e.c_str()) + "\n";
}

std::string config_help() {
  const RunConfig d;
  std::ostringstream os;
  const YAML::Node defaults = YAML::Load(to_yaml(d));
  for (const Key& k : keys())
    os << "  --" << k.name << "=" << YAML::Dump(defaults[k.name]) << "\n      " << k.help << "\n";
  return os.str();
}

}  // namespace s3rec
