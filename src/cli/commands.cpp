#include "cli/commands.h"

#include <cstdio>
#include <nlohmann/json.hpp>
#include <functional>
#include <optional>

#include "s3rec/config.h"
#include "s3rec/dataset.h"
#include "s3rec/distributed.h"
#include "s3rec/progress.h"
#include "s3rec/synthetic.h"
#include "s3rec/run.h"
#include "cli/console_hooks.h"
#include "util/atomic_write.h"

namespace s3rec::cli {

ConfigArgs split_config_args(const Args& a) {
  ConfigArgs r;
  for (const auto& [k, v] : a.kv) {
    if (k == "config_files") {
      std::string cur;
      for (char ch : v + ",") {
        if (ch == ',') {
          if (!cur.empty()) r.files.push_back(cur);
          cur.clear();
        } else {
          cur += ch;
        }
      }
    } else if (k == "json") {
      r.json_path = v;
    } else {
      r.over.emplace_back(k, v);
    }
  }
  return r;
}

Dataset load_reported_dataset(const RunConfig& c) {
  LoadReport rep;
  Dataset d = load_run_dataset(c, &rep);
  if (!dist::is_root()) rep.warnings.clear();  // one report, from rank 0
  for (const auto& w : rep.warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  if (rep.users_skipped_short > 0 && dist::is_root())
    std::fprintf(stderr, "warning: %ld users with fewer than 3 items skipped\n", rep.users_skipped_short);
  if (dist::is_root())
    std::fprintf(stderr, "%s: %d users, %d items, %ld actions, %d attributes; negatives: %s%s\n", d.name.c_str(),
                 d.num_users(), d.n_items, d.num_actions(), d.n_attributes,
                 d.sample_source.empty() ? "none" : d.sample_source.c_str(),
                 dist::size() > 1 ? ("; " + std::to_string(dist::size()) + " MPI ranks").c_str() : "");
  return d;
}

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
  const ConfigArgs ca = split_config_args(a);
  s.json_path = ca.json_path;
  s.cfg = load_run_config(ca.files, ca.over);
  s.data = load_reported_dataset(s.cfg);
  s.run_dir = open_run_dir(s.cfg, s.data, stage);
  return s;
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

}  // namespace

int cmd_pretrain(const Args& a) {
  if (a.help) {
    print_help("pretrain", "Pre-trains S3-Rec with AAP, MIP, MAP and SP (SPEC section 3).", "");
    return 0;
  }
  const Setup s = prepare(a, "pretrain");
  ConsoleHooks console;
  run_pretrain(s.cfg, s.data, s.run_dir, console.pretrain());
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
  const Setup s = prepare(a, "finetune");
  ConsoleHooks console;
  const FinetuneRunResult r = run_finetune(s.cfg, s.data, s.run_dir, console.finetune());
  if (!dist::is_root()) return 0;
  std::printf("best epoch %d of %d; %s evaluation of the best model:\n", r.best_epoch, r.epochs_run,
              eval_mode_name(parse_eval_mode(s.cfg.eval_mode)));
  print_table(r.valid, r.test);
  if (!s.json_path.empty()) write_file_atomic(s.json_path, results_json(r.valid, r.test).dump(2) + "\n");
  std::printf("fine-tuned model: %s\n", r.model_path.c_str());
  return 0;
}

int cmd_evaluate(const Args& a) {
  if (a.help) {
    print_help("evaluate", "Evaluates a saved model (--model_path=FILE) on validation and test.", " [--json=FILE]");
    return 0;
  }
  const Setup s = prepare(a, "evaluate");
  const EvaluateRunResult r = run_evaluate(s.cfg, s.data);
  std::printf("%s evaluation of %s:\n", eval_mode_name(parse_eval_mode(s.cfg.eval_mode)), s.cfg.model_path.c_str());
  if (!dist::is_root()) return 0;
  print_table(r.valid, r.test);
  if (!s.json_path.empty()) write_file_atomic(s.json_path, results_json(r.valid, r.test).dump(2) + "\n");
  return 0;
}

int cmd_run(const Args& a) {
  if (a.help) {
    print_help("run",
               "RecBole-style entry: pre-trains or fine-tunes as train_stage says (pretrain | finetune), "
               "from a YAML file or the command line.",
               "");
    return 0;
  }
  // train_stage from wherever it is given (YAML files, then the command line), validated there
  const ConfigArgs ca = split_config_args(a);
  const std::string stage = load_run_config(ca.files, ca.over).train_stage;
  return stage == "finetune" ? cmd_finetune(a) : cmd_pretrain(a);
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
