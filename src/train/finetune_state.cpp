#include "s3rec/finetune_state.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <stdexcept>

#include "s3rec/checkpoint.h"

namespace fs = std::filesystem;

namespace s3rec {
namespace {

std::string model_path(const std::string& dir, int epoch) {
  return (fs::path(dir) / ("epoch-" + std::to_string(epoch) + ".safetensors")).string();
}

std::string best_path(const std::string& model_file) {
  const std::string ext = ".safetensors";
  return model_file.substr(0, model_file.size() - ext.size()) + ".best.safetensors";
}

// exactly as printed, read back by strtod
std::string exact(double x) {
  char b[40];
  std::snprintf(b, sizeof b, "%.17g", x);
  return b;
}

const std::string& need(const CheckpointMeta& m, const std::string& key, const std::string& path) {
  const auto it = m.extra.find(key);
  if (it == m.extra.end()) throw std::runtime_error(path + ": metadata '" + key + "' is missing (not a fine-tuning state?)");
  return it->second;
}

long need_int(const CheckpointMeta& m, const std::string& key, const std::string& path) {
  const std::string& v = need(m, key, path);
  char* end = nullptr;
  const long x = std::strtol(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0' || x < 0) throw std::runtime_error(path + ": metadata '" + key + "' is not a count: " + v);
  return x;
}

// Every state file in dir: (epoch, path), the model files among them marked.
struct StateFile {
  int epoch;
  bool is_model;
  fs::path path;
};

std::vector<StateFile> state_files(const std::string& dir) {
  std::vector<StateFile> out;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return out;
  static const std::regex re(R"(epoch-(\d{1,9})\.(safetensors|safetensors\.optim\.safetensors|best\.safetensors))");
  for (const auto& e : fs::directory_iterator(dir)) {
    std::smatch m;
    const std::string name = e.path().filename().string();
    if (std::regex_match(name, m, re)) out.push_back({std::stoi(m[1]), m[2] == "safetensors", e.path()});
  }
  return out;
}

void remove_states(const std::string& dir, int keep) {
  // model files first: a state without its model file is never taken for complete
  for (const bool models : {true, false})
    for (const StateFile& f : state_files(dir))
      if (f.epoch != keep && f.is_model == models) fs::remove(f.path);
}

}  // namespace

void save_finetune_state(const std::string& dir, const S3RecModel& m, const Optimizer& optim,
                         const FinetuneProgress& p, const std::map<std::string, std::string>& meta) {
  const std::string path = model_path(dir, p.epochs_done);
  save_params(best_path(path), m, p.best_params, {{"stage", "finetune-best"}, {"epoch", std::to_string(p.epochs_done)}});
  auto extra = meta;
  extra["stage"] = "finetune-state";
  extra["epochs_done"] = std::to_string(p.epochs_done);
  extra["any_score"] = p.any_score ? "1" : "0";
  extra["best_score"] = exact(p.best_score);
  extra["bad_epochs"] = std::to_string(p.bad_epochs);
  extra["best_epoch"] = std::to_string(p.best_epoch);
  extra["best_valid"] = nlohmann::json(p.best_valid).dump();
  save_checkpoint(path, m, extra, &optim);  // optimizer file, then the model file
  remove_states(dir, p.epochs_done);
}

std::string latest_finetune_state(const std::string& dir) {
  int best = -1;
  std::string found;
  for (const StateFile& f : state_files(dir)) {
    const std::string p = f.path.string();
    if (f.is_model && f.epoch > best && fs::exists(optimizer_path(p)) && fs::exists(best_path(p))) {
      best = f.epoch;
      found = p;
    }
  }
  return found;
}

FinetuneProgress load_finetune_state(const std::string& path, S3RecModel& m, Optimizer& optim) {
  const CheckpointMeta meta = read_checkpoint_meta(path);
  if (need(meta, "stage", path) != "finetune-state") throw std::runtime_error(path + ": not a fine-tuning state");
  FinetuneProgress p;
  p.epochs_done = int(need_int(meta, "epochs_done", path));
  p.any_score = need(meta, "any_score", path) == "1";
  p.bad_epochs = int(need_int(meta, "bad_epochs", path));
  p.best_epoch = int(need_int(meta, "best_epoch", path));
  const std::string& score = need(meta, "best_score", path);
  char* end = nullptr;
  p.best_score = std::strtod(score.c_str(), &end);
  if (score.empty() || *end != '\0') throw std::runtime_error(path + ": metadata 'best_score' is not a number: " + score);
  try {
    p.best_valid = nlohmann::json::parse(need(meta, "best_valid", path)).get<Metrics>();
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(path + ": metadata 'best_valid' is not a list of metrics: " + e.what());
  }
  const std::string best = best_path(path);
  const CheckpointMeta best_meta = read_checkpoint_meta(best);
  if (need(best_meta, "epoch", best) != std::to_string(p.epochs_done))
    throw std::runtime_error(best + ": saved after epoch " + best_meta.extra.at("epoch") + ", but " + path +
                             " after epoch " + std::to_string(p.epochs_done));
  load_checkpoint(best, m);
  p.best_params = m.params().values();
  load_checkpoint(path, m, &optim);
  return p;
}

void clear_finetune_states(const std::string& dir) { remove_states(dir, -1); }

}  // namespace s3rec
