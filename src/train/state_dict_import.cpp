#include "s3rec/state_dict_import.h"

#include <set>
#include <stdexcept>

#include "s3rec/checkpoint.h"
#include "s3rec/model.h"
#include "s3rec/safetensors.h"

namespace s3rec {
namespace {

// The tensor `name`, which must be a matrix or vector (rank dims); its shape.
const std::vector<int64_t>& required(const StReader& f, const std::string& source, const std::string& name,
                                     size_t dims) {
  const StTensor* t = f.find(name);
  if (!t)
    throw std::runtime_error(source + ": tensor " + name +
                             " is missing: not a state_dict of S3-Rec's model (S3RecModel of the reference code)");
  if (t->shape.size() != dims)
    throw std::runtime_error(source + ": tensor " + name + " has shape " + shape_text(t->shape) + ", expected " +
                             std::to_string(dims) + " dimensions");
  return t->shape;
}

}  // namespace

ModelConfig import_state_dict(const std::string& tensors_path, const std::string& source, const ModelConfig& given,
                              const std::string& out_path) {
  const StReader f(tensors_path);
  ModelConfig c = given;
  const auto& items = required(f, source, "item_embeddings.weight", 2);
  const auto& attrs = required(f, source, "attribute_embeddings.weight", 2);
  const auto& pos = required(f, source, "position_embeddings.weight", 2);
  c.hidden_size = int(items[1]);
  c.n_items = int(items[0]) - 2;
  c.n_attributes = int(attrs[0]) - 1;
  c.max_seq_length = int(pos[0]);
  c.n_layers = 0;
  while (f.find("item_encoder.layer." + std::to_string(c.n_layers) + ".attention.query.weight")) ++c.n_layers;
  if (c.n_layers == 0) required(f, source, "item_encoder.layer.0.attention.query.weight", 2);
  c.inner_size = int(required(f, source, "item_encoder.layer.0.intermediate.dense_1.weight", 2)[0]);
  try {
    c.validate();
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(source + ": the tensors describe an unusable model: " + e.what());
  }
  S3RecModel model(c);
  ParamStore& P = model.params();
  read_params(f, source, P);
  std::set<std::string> expected;
  for (const ParamInfo& p : P.infos()) expected.insert(p.name);
  for (const auto& [name, t] : f.tensors())
    if (!expected.count(name))
      throw std::runtime_error(source + ": unexpected tensor " + name + " " + shape_text(t.shape) +
                               ": not a parameter of S3-Rec's model with " + std::to_string(c.n_layers) + " layers");
  save_checkpoint(out_path, model, {{"stage", "pretrain"}, {"converted_from", source}});
  return c;
}

}  // namespace s3rec
