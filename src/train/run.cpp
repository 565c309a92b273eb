#include "s3rec/run.h"

#include <omp.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <regex>

#include "s3rec/checkpoint.h"
#include "s3rec/distributed.h"
#include "s3rec/finetune_state.h"
#include "s3rec/progress.h"
#include "s3rec/training.h"
#include "s3rec/vocabulary.h"
#include "tensor/thin_gemm.h"
#include "train/run_settings.h"
#include "util/atomic_write.h"

namespace fs = std::filesystem;

namespace s3rec {
namespace {

// threads and the products' precision (refused here, before any work, on a CPU without bf16)
void apply_threads(const RunConfig& c) {
  if (c.threads > 0) omp_set_num_threads(c.threads);
  set_matmul_precision(parse_matmul_precision(c.precision));
}

void say(const RunHooks& h, const std::string& message) {
  if (h.on_message) h.on_message(message);
}

// RecBole keys given that change nothing here, said once at the start of a run
void say_notes(const RunConfig& c, const RunHooks& h) {
  for (const std::string& n : c.notes) say(h, "note: " + n);
}

// RecBole's configs name pre-trained models S3Rec-NAME-E.pth; s3rec writes S3Rec-NAME-E.safetensors
// in the same place, and takes it for the .pth path when only it exists (saying so).
std::string pretrained_file(const std::string& path, const RunHooks& h) {
  const fs::path p(path);
  if (fs::exists(p) || p.extension() != ".pth") return path;
  const std::string alt = fs::path(p).replace_extension(".safetensors").string();
  if (!fs::exists(alt)) return path;
  say(h, "note: " + path + " does not exist; using " + alt + " (s3rec writes its checkpoints as .safetensors)");
  return alt;
}

std::string checkpoint_name(const RunConfig& c, int epoch) {
  return (fs::path(c.pretrain_dir()) / ("S3Rec-" + c.dataset + "-" + std::to_string(epoch) + ".safetensors")).string();
}

nlohmann::json metrics_json(const Metrics& m) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : m) j[k] = v;
  return j;
}

// Latest S3Rec-NAME-E.safetensors in the pre-training directory that has optimizer state: (epoch, path).
std::pair<int, std::string> latest_checkpoint(const RunConfig& c) {
  std::pair<int, std::string> best{0, ""};
  if (!fs::exists(c.pretrain_dir())) return best;
  const std::regex re("S3Rec-" + std::regex_replace(c.dataset, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") +
                      R"(-(\d+)\.safetensors)");
  for (const auto& e : fs::directory_iterator(c.pretrain_dir())) {
    std::smatch m;
    const std::string name = e.path().filename().string();
    if (std::regex_match(name, m, re) && fs::exists(optimizer_path(e.path().string()))) {
      const int ep = std::stoi(m[1]);
      if (ep > best.first) best = {ep, e.path().string()};
    }
  }
  return best;
}

// --resume continues a run only with the settings it was made with (model configuration
// and the training settings recorded beside it); refuses naming the first key that differs.
void check_resumable(const std::string& path, const std::map<std::string, std::string>& settings,
                     const ModelConfig& mc) {
  // checkpoints of older builds lack some keys: those are not held against them
  if (const auto d = first_setting_difference(path, settings, mc, /*require_recorded=*/false))
    throw std::runtime_error("--resume: " + path + " was made with " + d->key + "=" + d->stored + ", this run has " +
                             d->key + "=" + d->wanted +
                             "; resume with the same settings or use another checkpoint_dir");
}

// After a resume from epoch `done`, the log keeps the records of the epochs up to it (a
// killed run may have logged epochs after its last checkpoint, or half a line).
void trim_log(const std::string& path, const std::string& stage, int done, const RunHooks& hooks) {
  const int dropped = keep_jsonl_records(path, [&](const nlohmann::json& r) {
    return r.value("stage", "") == stage && r.contains("epoch") && r["epoch"].is_number_integer() &&
           r["epoch"].get<int>() <= done;
  });
  if (dropped > 0)
    say(hooks, path + ": " + std::to_string(dropped) + " records " +
                   (done > 0 ? "after epoch " + std::to_string(done) : "of an earlier run") + " dropped");
}

}  // namespace

Dataset load_run_dataset(const RunConfig& c, LoadReport* report) {
  apply_threads(c);
  if (c.dataset.empty()) throw ConfigError("--dataset is required (with --data_path=DIR)");
  LoadOptions lo;
  lo.item_attribute = c.item_attribute;
  lo.sample_seed = uint64_t(c.seed);
  return load_dataset(c.data_path, c.dataset, lo, report);
}

std::string open_run_dir(const RunConfig& c, const Dataset& d, const std::string& stage) {
  const std::string dir = c.run_dir.empty() ? "runs/" + stage + "-" + c.dataset : c.run_dir;
  fs::create_directories(dir);
  if (!dist::is_root()) return dir;  // files are written by rank 0 only
  remove_stale_temporaries(dir);     // left by a killed run
  write_file_atomic(dir + "/config.yaml", to_yaml(c));
  if (d.sample_source.rfind("generated", 0) == 0) write_sample_file(dir + "/" + c.dataset + "_sample.txt", d);
  return dir;
}

nlohmann::ordered_json results_json(const Metrics& valid, const Metrics& test, const nlohmann::json& extra) {
  auto ordered = [](const Metrics& m) {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    for (const auto& [k, v] : m) j[k] = v;
    return j;
  };
  nlohmann::ordered_json j = {{"valid", ordered(valid)}, {"test", ordered(test)}};
  if (!extra.is_null())
    for (const auto& [k, v] : extra.items()) j[k] = v;
  return j;
}

PretrainRunResult run_pretrain(const RunConfig& c, const Dataset& d, const std::string& run_dir,
                               const RunHooks& hooks) {
  apply_threads(c);
  say_notes(c, hooks);
  S3RecModel model(c.model_config(d.n_items, d.n_attributes));
  model.init_weights(uint64_t(c.seed));
  Optimizer adam(model.params(), c.adam(), c.optimizer_learner());
  PretrainOptions o;
  o.epochs = c.pretrain_epochs;
  o.batch_size = c.pretrain_batch_size;
  o.train_fraction = c.train_fraction;
  o.mask_ratio = float(c.mask_ratio);
  o.weights = c.weights();
  o.seed = uint64_t(c.seed);
  if (dist::is_root()) remove_stale_temporaries(c.pretrain_dir());  // left by a killed run
  if (c.resume) {
    const auto [ep, path] = latest_checkpoint(c);
    if (ep == 0) throw std::runtime_error("--resume: no checkpoint with optimizer state in " + c.pretrain_dir());
    check_resumable(path, pretrain_settings(c), model.config());
    load_checkpoint(path, model, &adam);
    o.start_epoch = ep;
    say(hooks, "resuming from " + path + " (epoch " + std::to_string(ep) + ")");
    if (dist::is_root()) trim_log(run_dir + "/log.jsonl", "pretrain", ep, hooks);
  } else if (dist::is_root()) {
    trim_log(run_dir + "/log.jsonl", "pretrain", 0, hooks);  // a fresh run starts a fresh log
  }
  JsonlWriter log(dist::is_root() ? run_dir + "/log.jsonl" : "/dev/null");
  PretrainRunResult res;
  res.epochs = o.start_epoch;
  int epoch_now = o.start_epoch;
  TrainHooks th;
  if (hooks.on_batch) th.on_batch = [&](long done, long total) { hooks.on_batch("pretrain", epoch_now + 1, done, total); };
  try {
    pretrain(model, adam, d, o, th, [&](const PretrainEpoch& e) {
      epoch_now = res.epochs = e.epoch;
      const nlohmann::json record = {
          {"stage", "pretrain"}, {"epoch", e.epoch}, {"aap", e.losses.aap}, {"mip", e.losses.mip},
          {"map", e.losses.map}, {"sp", e.losses.sp}, {"joint", e.losses.joint(o.weights)},
          {"samples", e.samples}, {"positions", e.positions}, {"seconds", e.seconds}, {"steps", e.steps},
          {"touched_rows", e.touched_rows}, {"exchanged_bytes", e.exchanged_bytes}, {"peak_rss_mib", peak_rss_mib()}};
      log.write(record);
      if (hooks.on_epoch) hooks.on_epoch(record);
      if ((e.epoch % c.save_step == 0 || e.epoch == o.epochs) && dist::is_root()) {
        const std::string path = checkpoint_name(c, e.epoch);
        auto meta = pretrain_settings(c);
        meta.insert({{"dataset", c.dataset}, {"stage", "pretrain"}, {"epoch", std::to_string(e.epoch)}});
        save_checkpoint(path, model, meta, &adam);
        res.checkpoints.push_back(path);
        say(hooks, "saved " + path);
      }
    });
  } catch (const NonFiniteError& e) {
    // keep the state before the failing step for inspection, then fail
    const std::string path = (fs::path(c.pretrain_dir()) / ("S3Rec-" + c.dataset + "-nonfinite.safetensors")).string();
    adam.catch_up_all();
    if (dist::is_root())
      save_checkpoint(path, model, {{"dataset", c.dataset}, {"stage", "pretrain"}, {"error", e.what()}}, &adam);
    throw std::runtime_error(std::string(e.what()) + "; the parameters before that step are in " + path);
  }
  return res;
}

FinetuneRunResult run_finetune(const RunConfig& c, const Dataset& d, const std::string& run_dir,
                               const RunHooks& hooks) {
  apply_threads(c);
  say_notes(c, hooks);
  S3RecModel model(c.model_config(d.n_items, d.n_attributes));
  model.init_weights(uint64_t(c.seed));
  if (!c.pre_model_path.empty() && !c.resume) {
    const std::string from = pretrained_file(c.pre_model_path, hooks);
    load_checkpoint(from, model);
    say(hooks, "initialised from " + from);
  }
  Optimizer adam(model.params(), c.adam(), c.optimizer_learner());
  // the state --resume continues from
  const std::string state_dir = run_dir + "/finetune-state";
  const auto settings = finetune_settings(c);
  FinetuneProgress resumed;
  if (dist::is_root()) remove_stale_temporaries(state_dir);
  if (c.resume) {
    const std::string path = latest_finetune_state(state_dir);
    if (path.empty()) throw std::runtime_error("--resume: no fine-tuning state in " + state_dir);
    check_resumable(path, settings, model.config());
    resumed = load_finetune_state(path, model, adam);
    say(hooks, "resuming from " + path + " (epoch " + std::to_string(resumed.epochs_done) + ")");
    if (dist::is_root()) trim_log(run_dir + "/log.jsonl", "finetune", resumed.epochs_done, hooks);
  } else if (dist::is_root()) {
    clear_finetune_states(state_dir);  // of an earlier run in this run_dir
    trim_log(run_dir + "/log.jsonl", "finetune", 0, hooks);  // and its log
  }
  FinetuneOptions o;
  o.epochs = c.epochs;
  o.batch_size = c.train_batch_size;
  o.loss = parse_loss_type(c.loss_type);
  o.eval_mode = parse_eval_mode(c.eval_mode);
  o.metrics = c.metric_specs();
  o.valid_metric = c.valid_metric;
  o.stopping_step = c.stopping_step;
  o.log_test = c.log_test;
  o.seed = uint64_t(c.seed);
  o.train_fraction = c.train_fraction;
  if (c.resume) o.resume = &resumed;
  const std::string select = valid_metric_spec(o.eval_mode, c.valid_metric).name();
  JsonlWriter log(dist::is_root() ? run_dir + "/log.jsonl" : "/dev/null");
  int epoch_now = resumed.epochs_done;
  TrainHooks th;
  if (hooks.on_batch) th.on_batch = [&](long done, long total) { hooks.on_batch("finetune", epoch_now + 1, done, total); };
  const FinetuneResult r = finetune(model, adam, d, o, th, [&](const FinetuneEpoch& e) {
    epoch_now = e.epoch;
    nlohmann::json record = {
        {"stage", "finetune"}, {"epoch", e.epoch}, {"loss", e.loss}, {"valid", metrics_json(e.valid)},
        {"selection_metric", select}, {"score", e.score}, {"improved", e.improved},
        {"positions", e.positions}, {"train_seconds", e.train_seconds}, {"seconds", e.seconds},
        {"peak_rss_mib", peak_rss_mib()}};
    if (e.test) record["test"] = metrics_json(*e.test);
    log.write(record);
    if (e.epoch % c.save_step == 0 && dist::is_root()) save_finetune_state(state_dir, model, adam, *e.progress, settings);
    if (hooks.on_epoch) hooks.on_epoch(record);
  });
  FinetuneRunResult res;
  res.valid = r.valid;
  res.test = r.test;
  res.best_epoch = r.best_epoch;
  res.epochs_run = r.epochs_run;
  const std::string name = c.pre_model_path.empty() ? "SASRec" : "S3Rec";
  // where a RecBole user looks for it: checkpoint_dir when given, else the run directory
  const std::string model_dir = c.checkpoint_dir.empty() ? run_dir : c.checkpoint_dir;
  res.model_path = (fs::path(model_dir) / (name + "-" + c.dataset + "-finetuned.safetensors")).string();
  if (!dist::is_root()) return res;
  fs::create_directories(model_dir);
  // the vocabulary travels with the model, so serving needs no dataset
  auto vocab = Vocabulary::from_dataset(d).to_checkpoint();
  vocab.metadata.insert({{"dataset", c.dataset}, {"stage", "finetune"}, {"best_epoch", std::to_string(r.best_epoch)},
                         {"seed", std::to_string(c.seed)}});
  save_checkpoint(res.model_path, model, vocab.metadata, nullptr, vocab.tensors);
  const nlohmann::json extra = {{"model", res.model_path}, {"best_epoch", r.best_epoch}};
  write_file_atomic(run_dir + "/results.json", results_json(r.valid, r.test, extra).dump(2) + "\n");
  log.write({{"stage", "test"}, {"best_epoch", r.best_epoch}, {"valid", metrics_json(r.valid)},
             {"test", metrics_json(r.test)}});
  return res;
}

EvaluateRunResult run_evaluate(const RunConfig& c, const Dataset& d) {
  apply_threads(c);
  if (c.model_path.empty()) throw ConfigError("--model_path=FILE is required");
  const CheckpointMeta meta = read_checkpoint_meta(c.model_path);
  if (meta.config.n_items != d.n_items)
    throw std::runtime_error(c.model_path + ": trained on " + std::to_string(meta.config.n_items) +
                             " items, but the dataset has " + std::to_string(d.n_items));
  S3RecModel model(meta.config);
  load_checkpoint(c.model_path, model);
  const EvalMode mode = parse_eval_mode(c.eval_mode);
  const auto specs = c.metric_specs();
  return {evaluate(model, d, EvalSplit::Valid, mode, specs), evaluate(model, d, EvalSplit::Test, mode, specs)};
}

}  // namespace s3rec
