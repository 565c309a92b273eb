// `s3rec tune`: a search over configuration keys; every trial is a whole pre-training
// and fine-tuning run (or fine-tuning only with --stage=sasrec). Trials that differ only
// in fine-tuning keys or in pretrain_epochs share one pre-training run.
#include <cstdio>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>

#include "cli/commands.h"
#include "cli/console_hooks.h"
#include "train/run_settings.h"
#include "s3rec/checkpoint.h"
#include "s3rec/config.h"
#include "s3rec/evaluation.h"
#include "s3rec/run.h"
#include "s3rec/tune.h"
#include "util/atomic_write.h"

namespace fs = std::filesystem;

namespace s3rec::cli {

namespace {

struct TrialResult {
  int index = 0;
  Trial trial;
  double score = 0;  // validation selection metric
  nlohmann::ordered_json valid, test;
  std::string run_dir;
};

std::string describe(const Trial& t) {
  std::string s;
  for (const auto& [k, v] : t) s += (s.empty() ? "" : ", ") + k + "=" + v;
  return s;
}

// "" when dir holds, for every epoch in `epochs`, a pre-training checkpoint made with the
// settings of c (model configuration and pre-training settings, as --resume checks them);
// else why not.
std::string why_not_reusable(const std::string& dir, const RunConfig& c, const std::vector<int>& epochs) {
  for (const int e : std::set<int>(epochs.begin(), epochs.end())) {
    const std::string path = dir + "/S3Rec-" + c.dataset + "-" + std::to_string(e) + ".safetensors";
    if (!fs::exists(path)) return "no " + path;
    try {
      const ModelConfig stored = read_checkpoint_meta(path).config;
      if (const auto d = first_setting_difference(path, c, c.model_config(stored.n_items, stored.n_attributes),
                                                  /*require_recorded=*/true))
        return path + " was made with " + d->key + "=" + d->stored + ", this search has " + d->key + "=" + d->wanted;
    } catch (const std::exception& e) {  // unreadable (a run killed mid-write, another program's file)
      return e.what();
    }
  }
  return "";
}

// Datasets by what shapes them, so that trials share one parse (generated sample negatives
// depend on the seed).
class DatasetCache {
 public:
  const Dataset& get(const RunConfig& c) {
    std::string key = c.data_path + "\n" + c.dataset + "\n" + std::to_string(c.seed);
    for (const std::string& f : c.item_attribute) key += "\n" + f;
    auto it = cache_.find(key);
    if (it == cache_.end()) it = cache_.emplace(key, load_reported_dataset(c)).first;
    return it->second;
  }

 private:
  std::map<std::string, Dataset> cache_;
};

}  // namespace

int cmd_tune(const Args& a) {
  if (a.help) {
    std::printf(
        "usage: s3rec tune --params_file=FILE [--algo=exhaustive|random] [--max_trials=20] [--tune_dir=DIR]\n"
        "                  [--stage=s3rec|sasrec] [--config_files=a.yaml] [--key=value ...]\n"
        "Searches the keys of FILE (lines 'name choice [a, b]', 'name uniform lo, hi', 'name loguniform lo, hi'\n"
        "with bounds in log space, 'name quniform lo, hi, q'). Every trial pre-trains and fine-tunes (S3-Rec)\n"
        "or only fine-tunes (--stage=sasrec); trials that differ only in fine-tuning keys or pretrain_epochs\n"
        "reuse one pre-training. Other --key=value options are the base configuration of every trial.\n"
        "Writes DIR/results.md and results.jsonl (trials sorted by the validation metric, with test\n"
        "metrics) and DIR/best.yaml (the best trial's resolved configuration). DIR: runs/tune-NAME.\n");
    return 0;
  }
  std::string params_file, algo = "exhaustive", tune_dir, stage = "s3rec";
  int max_trials = 20;
  Args rest;  // the configuration: YAML files and --key=value overrides
  for (const auto& [k, v] : a.kv) {
    if (k == "params_file") params_file = v;
    else if (k == "algo") algo = v;
    else if (k == "max_trials") max_trials = std::stoi(v);
    else if (k == "tune_dir") tune_dir = v;
    else if (k == "stage") stage = v;
    else rest.kv.emplace_back(k, v);
  }
  const ConfigArgs ca = split_config_args(rest);
  if (!ca.json_path.empty())
    throw std::invalid_argument("tune: --json is not an option of tune (results go to TUNE_DIR/results.jsonl)");
  const std::vector<std::string>& yaml_files = ca.files;
  std::vector<std::pair<std::string, std::string>> base_over;  // each trial sets these three itself
  for (const auto& kv : ca.over)
    if (kv.first != "run_dir" && kv.first != "checkpoint_dir" && kv.first != "pre_model_path") base_over.push_back(kv);
  if (params_file.empty()) throw std::invalid_argument("tune: --params_file=FILE is required");
  if (algo != "exhaustive" && algo != "random")
    throw std::invalid_argument("tune: --algo must be exhaustive or random, got '" + algo + "'");
  if (stage != "s3rec" && stage != "sasrec")
    throw std::invalid_argument("tune: --stage must be s3rec or sasrec, got '" + stage + "'");
  if (max_trials < 1) throw std::invalid_argument("tune: --max_trials must be >= 1");
  const RunConfig base_cfg = load_run_config(yaml_files, base_over);
  if (base_cfg.dataset.empty()) throw ConfigError("--dataset is required (with --data_path=DIR)");
  if (tune_dir.empty()) tune_dir = "runs/tune-" + base_cfg.dataset;
  fs::create_directories(tune_dir);

  const auto space = parse_search_space(params_file);
  const std::vector<Trial> trials = algo == "exhaustive" ? exhaustive_trials(space, max_trials)
                                                         : random_trials(space, max_trials, uint64_t(base_cfg.seed));
  // resolve every trial first: a bad value fails before any training
  std::vector<RunConfig> cfgs;
  for (const Trial& t : trials) {
    auto over = base_over;
    over.insert(over.end(), t.begin(), t.end());
    cfgs.push_back(load_run_config(yaml_files, over));
  }
  // one protocol for every trial: sampled and full-ranking metrics cannot be ranked together
  for (size_t i = 1; i < cfgs.size(); ++i)
    if (cfgs[i].eval_mode != cfgs[0].eval_mode)
      throw ConfigError("tune: trials " + describe(trials[0]) + " and " + describe(trials[i]) +
                        " are evaluated with different protocols (eval_mode " + cfgs[0].eval_mode + " and " +
                        cfgs[i].eval_mode + "), whose metrics cannot rank trials against each other; " +
                        "run one search per eval_mode (set it with --eval_mode, not in " + params_file + ")");
  for (size_t i = 1; i < cfgs.size(); ++i)
    if (cfgs[i].valid_metric != cfgs[0].valid_metric)
      throw ConfigError("tune: trials " + describe(trials[0]) + " and " + describe(trials[i]) +
                        " select their epochs on different metrics (valid_metric " + cfgs[0].valid_metric + " and " +
                        cfgs[i].valid_metric + "), which cannot rank trials against each other; run one search per " +
                        "valid_metric (set it with --valid_metric, not in " + params_file + ")");
  // the fine-tuning's early stopping metric, which its results always report
  const std::string metric =
      valid_metric_spec(parse_eval_mode(cfgs.front().eval_mode), cfgs.front().valid_metric).name();
  std::fprintf(stderr, "tune: %zu trials (%s), selection metric valid %s\n", trials.size(), algo.c_str(),
               metric.c_str());

  DatasetCache datasets;
  // pre-training groups: signature -> epochs needed
  std::map<std::string, std::vector<int>> group_epochs;
  std::map<std::string, int> group_id;
  if (stage == "s3rec")
    for (size_t i = 0; i < trials.size(); ++i) {
      const std::string sig = pretrain_signature(trials[i]);
      group_epochs[sig].push_back(cfgs[i].pretrain_epochs);
      if (!group_id.count(sig)) group_id[sig] = int(group_id.size());
    }
  std::map<std::string, std::string> group_dir;
  for (const auto& [sig, epochs] : group_epochs) {
    const int top = *std::max_element(epochs.begin(), epochs.end());
    const int step = std::accumulate(epochs.begin(), epochs.end(), 0, [](int g, int e) { return std::gcd(g, e); });
    const std::string dir = tune_dir + "/pretrain-" + std::to_string(group_id[sig]);
    group_dir[sig] = dir;
    size_t rep = 0;
    while (pretrain_signature(trials[rep]) != sig) ++rep;
    Trial pre_keys;  // the group's keys that shape pre-training
    for (const auto& kv : trials[rep])
      if (!is_finetune_key(kv.first) && kv.first != "pretrain_epochs") pre_keys.push_back(kv);
    auto over = base_over;
    over.insert(over.end(), pre_keys.begin(), pre_keys.end());
    const std::string stale = why_not_reusable(dir, load_run_config(yaml_files, over), epochs);
    if (stale.empty()) {
      std::fprintf(stderr, "tune: %s holds the checkpoints needed (up to epoch %d) made with these settings, reused\n",
                   dir.c_str(), top);
    } else {
      if (fs::exists(dir)) {
        std::fprintf(stderr, "tune: %s is not reused (%s)\n", dir.c_str(), stale.c_str());
        fs::remove_all(dir);
      }
      std::fprintf(stderr, "tune: pre-training %s for %d epochs (checkpoints every %d)\n",
                   sig.empty() ? "(base configuration)" : sig.c_str(), top, step);
      over.insert(over.end(), {{"pretrain_epochs", std::to_string(top)},
                               {"save_step", std::to_string(step)},
                               {"checkpoint_dir", dir},
                               {"run_dir", dir}});
      const RunConfig pc = load_run_config(yaml_files, over);
      const Dataset& data = datasets.get(pc);
      ConsoleHooks console;
      run_pretrain(pc, data, open_run_dir(pc, data, "pretrain"), console.pretrain());
    }
  }

  std::vector<TrialResult> results;
  for (size_t i = 0; i < trials.size(); ++i) {
    TrialResult r;
    r.index = int(i) + 1;
    r.trial = trials[i];
    r.run_dir = tune_dir + "/trial-" + std::to_string(r.index);
    std::fprintf(stderr, "tune: trial %d/%zu: %s\n", r.index, trials.size(), describe(trials[i]).c_str());
    auto over = base_over;
    over.insert(over.end(), trials[i].begin(), trials[i].end());
    over.emplace_back("run_dir", r.run_dir);
    if (stage == "s3rec") {
      const std::string sig = pretrain_signature(trials[i]);
      over.emplace_back("pre_model_path", group_dir[sig] + "/S3Rec-" + base_cfg.dataset + "-" +
                                              std::to_string(cfgs[i].pretrain_epochs) + ".safetensors");
    }
    const RunConfig fc = load_run_config(yaml_files, over);
    const Dataset& data = datasets.get(fc);
    ConsoleHooks console;
    const FinetuneRunResult fr = run_finetune(fc, data, open_run_dir(fc, data, "finetune"), console.finetune());
    const nlohmann::ordered_json j = results_json(fr.valid, fr.test);
    r.valid = j["valid"];
    r.test = j["test"];
    r.score = r.valid[metric].get<double>();
    results.push_back(std::move(r));
  }
  std::stable_sort(results.begin(), results.end(),
                   [](const TrialResult& x, const TrialResult& y) { return x.score > y.score; });

  std::string md = "# s3rec tune: " + base_cfg.dataset + " (" + algo + ", " + std::to_string(results.size()) +
                   " trials, " + stage + ")\n\nSorted by validation " + metric + ".\n\n| rank | trial | parameters | valid " +
                   metric + " |";
  for (const auto& [k, v] : results.front().test.items()) md += " test " + k + " |";
  md += "\n|---|---|---|---|";
  for (size_t i = 0; i < results.front().test.size(); ++i) md += "---|";
  md += "\n";
  std::string jl;
  for (size_t rank = 0; rank < results.size(); ++rank) {
    const auto& r = results[rank];
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.4f", r.score);
    md += "| " + std::to_string(rank + 1) + " | " + std::to_string(r.index) + " | " + describe(r.trial) + " | " + buf + " |";
    for (const auto& [k, v] : r.test.items()) {
      std::snprintf(buf, sizeof buf, " %.4f |", v.get<double>());
      md += buf;
    }
    md += "\n";
    nlohmann::ordered_json params = nlohmann::ordered_json::object();
    for (const auto& [k, v] : r.trial) params[k] = v;
    jl += nlohmann::ordered_json{{"rank", rank + 1}, {"trial", r.index}, {"params", params}, {"valid", r.valid},
                                 {"test", r.test}, {"run_dir", r.run_dir}}
              .dump() +
          "\n";
  }
  write_file_atomic(tune_dir + "/results.md", md);
  write_file_atomic(tune_dir + "/results.jsonl", jl);
  auto best_over = base_over;
  best_over.insert(best_over.end(), results.front().trial.begin(), results.front().trial.end());
  write_file_atomic(tune_dir + "/best.yaml", to_yaml(load_run_config(yaml_files, best_over)));
  std::printf("%s\nbest: trial %d (%s); configuration in %s/best.yaml\n", md.c_str(), results.front().index,
              describe(results.front().trial).c_str(), tune_dir.c_str());
  return 0;
}

}  // namespace s3rec::cli
