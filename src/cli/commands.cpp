#include "cli/commands.h"
#include "cli/pretrain_settings.h"

#include <omp.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>

#include "s3rec/checkpoint.h"
#include "s3rec/config.h"
#include "s3rec/dataset.h"
#include "s3rec/distributed.h"
#include "s3rec/evaluation.h"
#include "s3rec/finetune_state.h"
#include "s3rec/progress.h"
#include "s3rec/synthetic.h"
#include "s3rec/training.h"
#include "s3rec/vocabulary.h"
#include "util/atomic_write.h"

namespace fs = std::filesystem;

namespace s3rec::cli {
namespace {

// Options a command takes besides the configuration keys.
struct Setup {
  RunConfig cfg;
  Dataset data;
  std::string run_dir;
  std::string json_path;
};

void print_help(const char* cmd, const char* what, const char* extra) {
  std::printf("usage: s3rec %s [--config_files=a.yaml,b.yaml] [--key=value ...]%s\n%s\n\nconfiguration keys "
              "(default shown):\n%s",
              cmd, extra, what, config_help().c_str());
}

Setup prepare(const Args& a, const std::string& stage) {
  Setup s;
  std::vector<std::string> files;
  std::vector<std::pair<std::string, std::string>> over;
  for (const auto& [k, v] : a.kv) {
    if (k == "config_files") {
      std::string cur;
      for (char ch : v + ",") {
        if (ch == ',') {
          if (!cur.empty()) files.push_back(cur);
          cur.clear();
        } else {
          cur += ch;
        }
      }
    } else if (k == "json") {
      s.json_path = v;
    } else {
      over.emplace_back(k, v);
    }
  }
  s.cfg = load_run_config(files, over);
  if (s.cfg.threads > 0) omp_set_num_threads(s.cfg.threads);
  if (s.cfg.dataset.empty()) throw ConfigError("--dataset is required (with --data_path=DIR)");
  LoadOptions lo;
  lo.item_attribute = s.cfg.item_attribute;
  lo.sample_seed = uint64_t(s.cfg.seed);
  LoadReport rep;
  s.data = load_dataset(s.cfg.data_path, s.cfg.dataset, lo, &rep);
  if (!dist::is_root()) rep.warnings.clear();  // one report, from rank 0
  for (const auto& w : rep.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  if (rep.users_skipped_short > 0 && dist::is_root())
    std::fprintf(stderr, "warning: %ld users with fewer than 3 items skipped\n", rep.users_skipped_short);
  if (dist::is_root())
    std::fprintf(stderr, "%s: %d users, %d items, %ld actions, %d attributes; negatives: %s%s\n", s.data.name.c_str(),
                 s.data.num_users(), s.data.n_items, s.data.num_actions(), s.data.n_attributes,
                 s.data.sample_source.empty() ? "none" : s.data.sample_source.c_str(),
                 dist::size() > 1 ? ("; " + std::to_string(dist::size()) + " MPI ranks").c_str() : "");
  s.run_dir = s.cfg.run_dir.empty() ? "runs/" + stage + "-" + s.cfg.dataset : s.cfg.run_dir;
  fs::create_directories(s.run_dir);
  if (!dist::is_root()) return s;  // files are written by rank 0 only
  remove_stale_temporaries(s.run_dir);
  write_file_atomic(s.run_dir + "/config.yaml", to_yaml(s.cfg));
  if (s.data.sample_source.rfind("generated", 0) == 0)
    write_sample_file(s.run_dir + "/" + s.cfg.dataset + "_sample.txt", s.data);
  return s;
}

std::string checkpoint_name(const RunConfig& c, int epoch) {
  return (fs::path(c.checkpoint_dir) / ("S3Rec-" + c.dataset + "-" + std::to_string(epoch) + ".safetensors")).string();
}

nlohmann::json metrics_json(const Metrics& m) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : m) j[k] = v;
  return j;
}

void print_table(const Metrics& valid, const Metrics& test) {
  std::printf("%-6s", "");
  for (const auto& [k, v] : test) std::printf(" %9s", k.c_str());
  std::printf("\n");
  for (const auto& [name, m] : {std::pair{"valid", &valid}, std::pair{"test", &test}}) {
    std::printf("%-6s", name);
    for (const auto& [k, v] : *m) std::printf(" %9.4f", v);
    std::printf("\n");
  }
}

// {"valid": {...}, "test": {...}, extra...} with metrics in protocol order (HR@1, HR@5, NDCG@5, ...).
void write_results(const std::string& path, const Metrics& valid, const Metrics& test, nlohmann::json extra = {}) {
  auto ordered = [](const Metrics& m) {
    nlohmann::ordered_json j = nlohmann::ordered_json::object();
    for (const auto& [k, v] : m) j[k] = v;
    return j;
  };
  nlohmann::ordered_json j = {{"valid", ordered(valid)}, {"test", ordered(test)}};
  if (!extra.is_null())
    for (const auto& [k, v] : extra.items()) j[k] = v;
  write_file_atomic(path, j.dump(2) + "\n");
}

// Latest S3Rec-NAME-E.safetensors in checkpoint_dir that has optimizer state: (epoch, path).
std::pair<int, std::string> latest_checkpoint(const RunConfig& c) {
  std::pair<int, std::string> best{0, ""};
  if (!fs::exists(c.checkpoint_dir)) return best;
  const std::regex re("S3Rec-" + std::regex_replace(c.dataset, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)") +
                      R"(-(\d+)\.safetensors)");
  for (const auto& e : fs::directory_iterator(c.checkpoint_dir)) {
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
void trim_log(const std::string& path, const std::string& stage, int done) {
  const int dropped = keep_jsonl_records(path, [&](const nlohmann::json& r) {
    return r.value("stage", "") == stage && r.contains("epoch") && r["epoch"].is_number_integer() &&
           r["epoch"].get<int>() <= done;
  });
  if (dropped > 0) std::fprintf(stderr, "%s: %d records after epoch %d dropped\n", path.c_str(), dropped, done);
}

// Where fine-tuning keeps the state --resume continues from.
std::string finetune_state_dir(const Setup& s) { return s.run_dir + "/finetune-state"; }

}  // namespace

int cmd_pretrain(const Args& a) {
  if (a.help) {
    print_help("pretrain", "Pre-trains S3-Rec with AAP, MIP, MAP and SP (SPEC section 3).", "");
    return 0;
  }
  Setup s = prepare(a, "pretrain");
  const RunConfig& c = s.cfg;
  S3RecModel model(c.model_config(s.data.n_items, s.data.n_attributes));
  model.init_weights(uint64_t(c.seed));
  Optimizer adam(model.params(), c.adam(), c.optimizer_learner());
  PretrainOptions o;
  o.epochs = c.pretrain_epochs;
  o.batch_size = c.pretrain_batch_size;
  o.train_fraction = c.train_fraction;
  o.mask_ratio = float(c.mask_ratio);
  o.weights = c.weights();
  o.seed = uint64_t(c.seed);
  if (dist::is_root()) remove_stale_temporaries(c.checkpoint_dir);  // left by a killed run
  if (c.resume) {
    const auto [ep, path] = latest_checkpoint(c);
    if (ep == 0) throw std::runtime_error("--resume: no checkpoint with optimizer state in " + c.checkpoint_dir);
    check_resumable(path, pretrain_settings(c), model.config());
    load_checkpoint(path, model, &adam);
    o.start_epoch = ep;
    std::fprintf(stderr, "resuming from %s (epoch %d)\n", path.c_str(), ep);
    if (dist::is_root()) trim_log(s.run_dir + "/log.jsonl", "pretrain", ep);
  }
  JsonlWriter log(dist::is_root() ? s.run_dir + "/log.jsonl" : "/dev/null");
  std::optional<ProgressBar> bar;
  int epoch_now = o.start_epoch;
  TrainHooks hooks;
  hooks.on_batch = [&](long done, long total) {
    if (!dist::is_root()) return;
    if (!bar) bar.emplace("pretrain epoch " + std::to_string(epoch_now + 1), total);
    bar->update(done);
  };
  try {
  pretrain(model, adam, s.data, o, hooks, [&](const PretrainEpoch& e) {
    if (bar) bar->finish();
    bar.reset();
    epoch_now = e.epoch;
    std::printf("epoch %d: aap %.4f mip %.4f map %.4f sp %.4f (per sample), %.1fs\n", e.epoch, e.losses.aap / e.samples,
                e.losses.mip / e.samples, e.losses.map / e.samples, e.losses.sp / e.samples, e.seconds);
    std::fflush(stdout);
    log.write({{"stage", "pretrain"}, {"epoch", e.epoch}, {"aap", e.losses.aap}, {"mip", e.losses.mip},
               {"map", e.losses.map}, {"sp", e.losses.sp}, {"joint", e.losses.joint(o.weights)},
               {"samples", e.samples}, {"positions", e.positions}, {"seconds", e.seconds},
               {"steps", e.steps}, {"touched_rows", e.touched_rows}, {"exchanged_bytes", e.exchanged_bytes},
               {"peak_rss_mib", peak_rss_mib()}});
    if ((e.epoch % c.save_step == 0 || e.epoch == o.epochs) && dist::is_root()) {
      const std::string path = checkpoint_name(c, e.epoch);
      auto meta = pretrain_settings(c);
      meta.insert({{"dataset", c.dataset}, {"stage", "pretrain"}, {"epoch", std::to_string(e.epoch)}});
      save_checkpoint(path, model, meta, &adam);
      std::fprintf(stderr, "saved %s\n", path.c_str());
    }
  });
  } catch (const NonFiniteError& e) {
    // keep the state before the failing step for inspection, then fail
    const std::string path = (fs::path(c.checkpoint_dir) / ("S3Rec-" + c.dataset + "-nonfinite.safetensors")).string();
    adam.catch_up_all();
    if (dist::is_root())
      save_checkpoint(path, model, {{"dataset", c.dataset}, {"stage", "pretrain"}, {"error", e.what()}}, &adam);
    throw std::runtime_error(std::string(e.what()) + "; the parameters before that step are in " + path);
  }
  return 0;
}

int cmd_finetune(const Args& a) {
  if (a.help) {
    print_help("finetune",
               "Fine-tunes for next-item prediction with validation every epoch and early stopping; without "
               "--pre_model_path this is SASRec. --json=FILE writes the final metrics.",
               " [--json=FILE]");
    return 0;
  }
  Setup s = prepare(a, "finetune");
  const RunConfig& c = s.cfg;
  S3RecModel model(c.model_config(s.data.n_items, s.data.n_attributes));
  model.init_weights(uint64_t(c.seed));
  if (!c.pre_model_path.empty() && !c.resume) {
    load_checkpoint(c.pre_model_path, model);
    std::fprintf(stderr, "initialised from %s\n", c.pre_model_path.c_str());
  }
  Optimizer adam(model.params(), c.adam(), c.optimizer_learner());
  const std::string state_dir = finetune_state_dir(s);
  const auto settings = finetune_settings(c);
  FinetuneProgress resumed;
  if (dist::is_root()) remove_stale_temporaries(state_dir);
  if (c.resume) {
    const std::string path = latest_finetune_state(state_dir);
    if (path.empty()) throw std::runtime_error("--resume: no fine-tuning state in " + state_dir);
    check_resumable(path, settings, model.config());
    resumed = load_finetune_state(path, model, adam);
    std::fprintf(stderr, "resuming from %s (epoch %d)\n", path.c_str(), resumed.epochs_done);
    if (dist::is_root()) trim_log(s.run_dir + "/log.jsonl", "finetune", resumed.epochs_done);
  } else if (dist::is_root()) {
    clear_finetune_states(state_dir);  // of an earlier run in this run_dir
  }
  FinetuneOptions o;
  o.epochs = c.epochs;
  o.batch_size = c.train_batch_size;
  o.loss = parse_loss_type(c.loss_type);
  o.eval_mode = parse_eval_mode(c.eval_mode);
  o.stopping_step = c.stopping_step;
  o.seed = uint64_t(c.seed);
  o.train_fraction = c.train_fraction;
  if (c.resume) o.resume = &resumed;
  JsonlWriter log(dist::is_root() ? s.run_dir + "/log.jsonl" : "/dev/null");
  std::optional<ProgressBar> bar;
  int epoch_now = resumed.epochs_done;
  TrainHooks hooks;
  hooks.on_batch = [&](long done, long total) {
    if (!dist::is_root()) return;
    if (!bar) bar.emplace("finetune epoch " + std::to_string(epoch_now + 1), total);
    bar->update(done);
  };
  const FinetuneResult r = finetune(model, adam, s.data, o, hooks, [&](const FinetuneEpoch& e) {
    if (bar) bar->finish();
    bar.reset();
    epoch_now = e.epoch;
    std::printf("epoch %d: loss %.4f, valid %s %.4f%s, %.1fs\n", e.epoch, e.loss, selection_metric(o.eval_mode),
                e.score, e.improved ? " *" : "", e.seconds);
    std::fflush(stdout);
    log.write({{"stage", "finetune"}, {"epoch", e.epoch}, {"loss", e.loss}, {"valid", metrics_json(e.valid)},
               {"improved", e.improved}, {"positions", e.positions}, {"train_seconds", e.train_seconds},
               {"seconds", e.seconds}, {"peak_rss_mib", peak_rss_mib()}});
    if (e.epoch % c.save_step == 0 && dist::is_root()) save_finetune_state(state_dir, model, adam, *e.progress, settings);
  });
  const std::string name = c.pre_model_path.empty() ? "SASRec" : "S3Rec";
  const std::string model_file = s.run_dir + "/" + name + "-" + c.dataset + "-finetuned.safetensors";
  // the vocabulary travels with the model, so serving needs no dataset
  auto meta = Vocabulary::from_dataset(s.data).to_metadata();
  meta.insert({{"dataset", c.dataset}, {"stage", "finetune"}, {"best_epoch", std::to_string(r.best_epoch)},
               {"seed", std::to_string(c.seed)}});
  if (!dist::is_root()) return 0;
  save_checkpoint(model_file, model, meta);
  std::printf("best epoch %d of %d; %s evaluation of the best model:\n", r.best_epoch, r.epochs_run,
              eval_mode_name(o.eval_mode));
  print_table(r.valid, r.test);
  const nlohmann::json extra = {{"model", model_file}, {"best_epoch", r.best_epoch}};
  write_results(s.run_dir + "/results.json", r.valid, r.test, extra);
  if (!s.json_path.empty()) write_results(s.json_path, r.valid, r.test);
  log.write({{"stage", "test"}, {"best_epoch", r.best_epoch}, {"valid", metrics_json(r.valid)},
             {"test", metrics_json(r.test)}});
  return 0;
}

int cmd_evaluate(const Args& a) {
  if (a.help) {
    print_help("evaluate", "Evaluates a saved model (--model_path=FILE) on validation and test.", " [--json=FILE]");
    return 0;
  }
  Setup s = prepare(a, "evaluate");
  const RunConfig& c = s.cfg;
  if (c.model_path.empty()) throw ConfigError("--model_path=FILE is required");
  const CheckpointMeta meta = read_checkpoint_meta(c.model_path);
  if (meta.config.n_items != s.data.n_items)
    throw std::runtime_error(c.model_path + ": trained on " + std::to_string(meta.config.n_items) +
                             " items, but the dataset has " + std::to_string(s.data.n_items));
  S3RecModel model(meta.config);
  load_checkpoint(c.model_path, model);
  const EvalMode mode = parse_eval_mode(c.eval_mode);
  const Metrics v = evaluate(model, s.data, EvalSplit::Valid, mode), t = evaluate(model, s.data, EvalSplit::Test, mode);
  std::printf("%s evaluation of %s:\n", eval_mode_name(mode), c.model_path.c_str());
  if (!dist::is_root()) return 0;
  print_table(v, t);
  if (!s.json_path.empty()) write_results(s.json_path, v, t);
  return 0;
}

int cmd_run(const Args& a) {
  if (a.help) {
    print_help("run", "RecBole-style entry: --train_stage=pretrain or finetune.", "");
    return 0;
  }
  const std::string stage = a.get("train_stage", "pretrain");
  if (stage == "pretrain") return cmd_pretrain(a);
  if (stage == "finetune") return cmd_finetune(a);
  throw ConfigError("train_stage must be 'pretrain' or 'finetune', got '" + stage + "'");
}

int cmd_generate(const Args& a) {
  if (a.help) {
    std::printf(
        "usage: s3rec generate --output=DIR [--dataset=synthetic] [--users=2000] [--items=800] [--seed=7]\n"
        "                      [--clusters=16] [--p_follow=0.55] [--p_taste=0.35] [--p_switch=0.08]\n"
        "                      [--popularity_skew=0] [--min_length=5] [--max_length=40]\n"
        "Writes a synthetic dataset (latent tastes, attributes that reveal them, sequential transitions)\n"
        "in the reference format: DIR/NAME.txt, DIR/NAME_item2attributes.json, DIR/NAME_sample.txt.\n");
    return 0;
  }
  SyntheticOptions o;
  std::string out, name = "synthetic";
  for (const auto& [k, v] : a.kv) {
    if (k == "output") out = v;
    else if (k == "dataset") name = v;
    else if (k == "users") o.users = std::stoi(v);
    else if (k == "items") o.items = std::stoi(v);
    else if (k == "clusters") o.clusters = std::stoi(v);
    else if (k == "p_follow") o.p_follow = std::stod(v);
    else if (k == "p_taste") o.p_taste = std::stod(v);
    else if (k == "p_switch") o.p_switch = std::stod(v);
    else if (k == "popularity_skew") o.popularity_skew = std::stod(v);
    else if (k == "min_length") o.min_length = std::stoi(v);
    else if (k == "max_length") o.max_length = std::stoi(v);
    else if (k == "seed") o.seed = std::stoull(v);
    else throw std::invalid_argument("generate: unknown option --" + k);
  }
  if (out.empty()) throw std::invalid_argument("generate: --output=DIR is required");
  Dataset d = make_synthetic(o);
  d.name = name;
  write_reference_format(out, d);
  std::printf("wrote %s/%s.txt: %d users, %d items, %ld actions, %d attributes\n", out.c_str(), name.c_str(),
              d.num_users(), d.n_items, d.num_actions(), d.n_attributes);
  return 0;
}

}  // namespace s3rec::cli
