#include <stdexcept>
#include <string>

#include "s3rec/model_config.h"

namespace s3rec {

Activation parse_activation(const std::string& name) {
  if (name == "gelu") return Activation::Gelu;
  if (name == "relu") return Activation::Relu;
  if (name == "swish") return Activation::Swish;
  if (name == "tanh") return Activation::Tanh;
  if (name == "sigmoid") return Activation::Sigmoid;
  throw std::invalid_argument("hidden_act must be one of gelu, relu, swish, tanh, sigmoid; got '" + name + "'");
}

const char* activation_name(Activation a) {
  switch (a) {
    case Activation::Gelu: return "gelu";
    case Activation::Relu: return "relu";
    case Activation::Swish: return "swish";
    case Activation::Tanh: return "tanh";
    case Activation::Sigmoid: return "sigmoid";
  }
  return "?";
}

void ModelConfig::validate() const {
  auto fail = [](const std::string& m) { throw std::invalid_argument("model config: " + m); };
  if (hidden_size <= 0) fail("hidden_size must be positive");
  if (inner_size <= 0) fail("inner_size must be positive");
  if (n_layers <= 0) fail("n_layers must be positive");
  if (n_heads <= 0 || hidden_size % n_heads != 0) fail("n_heads must be positive and divide hidden_size");
  if (!(hidden_dropout_prob >= 0.0f && hidden_dropout_prob < 1.0f)) fail("hidden_dropout_prob must be in [0, 1)");
  if (!(attn_dropout_prob >= 0.0f && attn_dropout_prob < 1.0f)) fail("attn_dropout_prob must be in [0, 1)");
  if (!(layer_norm_eps > 0.0f)) fail("layer_norm_eps must be positive");
  if (!(initializer_range > 0.0f)) fail("initializer_range must be positive");
  if (max_seq_length <= 0) fail("max_seq_length (MAX_ITEM_LIST_LENGTH) must be positive");
  if (n_items <= 0) fail("n_items must be positive");
  if (n_attributes < 0) fail("n_attributes must be >= 0");
}

}  // namespace s3rec
