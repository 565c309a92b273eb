#include "s3rec/checkpoint.h"

#include <cmath>
#include <filesystem>
#include <limits>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "s3rec/safetensors.h"

namespace s3rec {
namespace {

nlohmann::json config_json(const ModelConfig& c) {
  return {{"hidden_size", c.hidden_size},
          {"inner_size", c.inner_size},
          {"n_layers", c.n_layers},
          {"n_heads", c.n_heads},
          {"hidden_dropout_prob", c.hidden_dropout_prob},
          {"attn_dropout_prob", c.attn_dropout_prob},
          {"hidden_act", activation_name(c.hidden_act)},
          {"layer_norm_eps", c.layer_norm_eps},
          {"initializer_range", c.initializer_range},
          {"max_seq_length", c.max_seq_length},
          {"n_items", c.n_items},
          {"n_attributes", c.n_attributes}};
}

}  // namespace

std::string model_config_json(const ModelConfig& c) { return config_json(c).dump(); }

namespace {

// An integer field within [lo, hi] (a float, or a value an int cannot hold, is refused).
int int_field(const nlohmann::json& j, const char* key, int lo, int hi) {
  const nlohmann::json& v = j.at(key);
  if (!v.is_number_integer() || v.get<long long>() < lo || v.get<long long>() > hi)
    throw std::invalid_argument(std::string(key) + " must be an integer in " + std::to_string(lo) + ".." +
                                std::to_string(hi) + ", found " + v.dump());
  return int(v.get<long long>());
}

float float_field(const nlohmann::json& j, const char* key) {
  const nlohmann::json& v = j.at(key);
  if (!v.is_number() || !(std::fabs(v.get<double>()) <= std::numeric_limits<float>::max()))
    throw std::invalid_argument(std::string(key) + " must be a finite number, found " + v.dump());
  return v.get<float>();
}

ModelConfig config_from_json(const std::string& path, const std::string& text) {
  constexpr int kMax = 1 << 30;  // keeps n_items + 2 and the like within int
  try {
    const auto j = nlohmann::json::parse(text);
    ModelConfig c;
    c.hidden_size = int_field(j, "hidden_size", 1, kMax);
    c.inner_size = int_field(j, "inner_size", 1, kMax);
    c.n_layers = int_field(j, "n_layers", 1, kMax);
    c.n_heads = int_field(j, "n_heads", 1, kMax);
    c.hidden_dropout_prob = float_field(j, "hidden_dropout_prob");
    c.attn_dropout_prob = float_field(j, "attn_dropout_prob");
    c.hidden_act = parse_activation(j.at("hidden_act").get<std::string>());
    c.layer_norm_eps = float_field(j, "layer_norm_eps");
    c.initializer_range = float_field(j, "initializer_range");
    c.max_seq_length = int_field(j, "max_seq_length", 1, kMax);
    c.n_items = int_field(j, "n_items", 1, kMax);
    c.n_attributes = int_field(j, "n_attributes", 0, kMax);
    c.validate();
    return c;
  } catch (const std::exception& e) {
    throw std::runtime_error(path + ": bad model_config metadata: " + e.what());
  }
}

// The tensors whose shapes follow from the configuration's sizes must be in the file with
// those shapes, before a model of that configuration is allocated: a corrupt model_config
// (n_items = 2e9, say) is refused instead of allocating what it asks for.
void check_sizes(const StReader& f, const ModelConfig& c) {
  auto need = [&](const std::string& name, int64_t rows) {
    const StTensor* t = f.find(name);
    const std::vector<int64_t> want{rows, c.hidden_size};
    if (!t || t->shape != want)
      throw std::runtime_error(f.path() + ": model_config needs tensor " + name + " of shape " + shape_text(want) +
                               (t ? ", the file has " + shape_text(t->shape) : ", the file has none"));
  };
  need("item_embeddings.weight", int64_t(c.n_items) + 2);
  need("attribute_embeddings.weight", int64_t(c.n_attributes) + 1);
  need("position_embeddings.weight", c.max_seq_length);
  for (int l = 0; l < c.n_layers; ++l)
    need("item_encoder.layer." + std::to_string(l) + ".intermediate.dense_1.weight", c.inner_size);
}

}  // namespace

void read_params(const StReader& f, const std::string& source, ParamStore& P) {
  for (size_t id = 0; id < P.infos().size(); ++id) {
    const ParamInfo& p = P.info(int(id));
    const StTensor* t = f.find(p.name);
    if (!t) throw std::runtime_error(source + ": tensor " + p.name + " is missing");
    const std::vector<int64_t> want(p.shape.begin(), p.shape.end());
    if (t->dtype != "F32" || t->shape != want)
      throw std::runtime_error(source + ": tensor " + p.name + " has dtype " + t->dtype + " and shape " +
                               shape_text(t->shape) + ", expected F32 " + shape_text(want));
    f.read_into(p.name, P.value(int(id)));
  }
}

std::string optimizer_path(const std::string& p) { return p + ".optim.safetensors"; }

namespace {

// The model file's contents with parameter values taken from `values` (laid out like
// m.params().values()); the tensors point into it.
StFile model_file(const S3RecModel& m, const float* values, const std::map<std::string, std::string>& extra) {
  StFile f;
  f.metadata = extra;
  f.metadata["format"] = "s3rec-1";
  f.metadata["model_config"] = config_json(m.config()).dump();
  const ParamStore& P = m.params();
  for (size_t id = 0; id < P.infos().size(); ++id) {
    const ParamInfo& p = P.info(int(id));
    f.tensors[p.name] = StTensor::f32_view({p.shape.begin(), p.shape.end()}, values + p.offset);
  }
  return f;
}

}  // namespace

void save_params(const std::string& path, const S3RecModel& m, const std::vector<float>& values,
                 const std::map<std::string, std::string>& extra) {
  if (values.size() != m.params().values().size())
    throw std::logic_error("save_params: " + std::to_string(values.size()) + " values for a model of " +
                           std::to_string(m.params().values().size()));
  write_safetensors(path, model_file(m, values.data(), extra));
}

void save_checkpoint(const std::string& path, const S3RecModel& m, const std::map<std::string, std::string>& extra,
                     const Optimizer* optim, const std::map<std::string, StTensor>& extra_tensors) {
  if (optim && !optim->caught_up())
    throw std::logic_error("save_checkpoint: rows of the item table have pending optimizer steps (catch_up_all first)");
  StFile f = model_file(m, m.params().values().data(), extra);
  for (const auto& [name, t] : extra_tensors)
    if (!f.tensors.emplace(name, t).second) throw std::logic_error("save_checkpoint: tensor " + name + " is a parameter");
  const ParamStore& P = m.params();
  if (optim) {
    // which optimizer file belongs to this model file (checked by load_checkpoint)
    f.metadata["optimizer_steps"] = std::to_string(optim->steps());  // first, so a model file never points at a missing optimizer state
    StFile o;
    o.metadata["steps"] = std::to_string(optim->steps());
    o.metadata["learner"] = learner_name(optim->learner());
    for (size_t id = 0; id < P.infos().size(); ++id) {
      const ParamInfo& p = P.info(int(id));
      o.tensors["exp_avg." + p.name] = StTensor::f32_view({int64_t(p.size)}, optim->exp_avg().data() + p.offset);
      o.tensors["exp_avg_sq." + p.name] = StTensor::f32_view({int64_t(p.size)}, optim->exp_avg_sq().data() + p.offset);
    }
    write_safetensors(optimizer_path(path), o);
  }
  write_safetensors(path, f);
}

CheckpointMeta read_checkpoint_meta(const std::string& path) {
  const StReader f(path);  // the header only
  const auto fmt = f.metadata().find("format");
  if (fmt == f.metadata().end() || fmt->second != "s3rec-1") throw std::runtime_error(path + ": not an s3rec checkpoint");
  const auto mc = f.metadata().find("model_config");
  if (mc == f.metadata().end()) throw std::runtime_error(path + ": model_config metadata missing");
  CheckpointMeta meta;
  meta.config = config_from_json(path, mc->second);
  check_sizes(f, meta.config);
  for (const auto& [k, v] : f.metadata())
    if (k != "format" && k != "model_config") meta.extra[k] = v;
  return meta;
}

void load_checkpoint(const std::string& path, S3RecModel& m, Optimizer* optim) {
  const StReader f(path);
  const auto mc = f.metadata().find("model_config");
  if (mc != f.metadata().end()) {
    const ModelConfig s = config_from_json(path, mc->second), &c = m.config();
    auto check = [&](const char* name, long a, long b) {
      if (a != b)
        throw std::runtime_error(path + ": " + name + " is " + std::to_string(a) + " in the checkpoint but " +
                                 std::to_string(b) + " in this run");
    };
    check("hidden_size", s.hidden_size, c.hidden_size);
    check("inner_size", s.inner_size, c.inner_size);
    check("n_layers", s.n_layers, c.n_layers);
    check("n_heads", s.n_heads, c.n_heads);
    check("n_items", s.n_items, c.n_items);
    check("n_attributes", s.n_attributes, c.n_attributes);
    check("max_seq_length", s.max_seq_length, c.max_seq_length);
  }
  read_params(f, path, m.params());
  const ParamStore& P = m.params();
  if (optim) {
    const std::string op = optimizer_path(path);
    if (!std::filesystem::exists(op)) throw std::runtime_error(op + ": optimizer state missing (cannot resume)");
    const StReader o(op);
    for (size_t id = 0; id < P.infos().size(); ++id) {
      const ParamInfo& p = P.info(int(id));
      for (auto [prefix, dst] : {std::pair{"exp_avg.", &optim->exp_avg()}, std::pair{"exp_avg_sq.", &optim->exp_avg_sq()}}) {
        const StTensor* t = o.find(prefix + p.name);
        if (!t || t->numel() != int64_t(p.size))
          throw std::runtime_error(op + ": " + prefix + p.name + " missing or of the wrong size");
        if (t->dtype != "F32") throw std::runtime_error(op + ": " + prefix + p.name + " is not F32");
        o.read_into(prefix + p.name, dst->data() + p.offset);
      }
    }
    const auto learner = o.metadata().find("learner");
    const std::string saved = learner == o.metadata().end() ? "adam" : learner->second;
    if (saved != learner_name(optim->learner()))
      throw std::runtime_error(op + ": written with learner " + saved + ", this run uses learner " +
                               learner_name(optim->learner()));
    const auto steps = o.metadata().find("steps");
    long t = -1;
    try {
      if (steps != o.metadata().end()) t = std::stol(steps->second);
    } catch (const std::exception&) {
      t = -1;
    }
    if (t < 0) throw std::runtime_error(op + ": missing or bad 'steps' metadata");
    const auto paired = f.metadata().find("optimizer_steps");  // absent in checkpoints of older builds
    if (paired != f.metadata().end() && paired->second != std::to_string(t))
      throw std::runtime_error(op + ": holds the optimizer after " + std::to_string(t) + " steps, but " + path +
                               " was saved after " + paired->second + " (files of different runs?)");
    optim->set_steps(t);
  }
}

}  // namespace s3rec
