#pragma once
// Hyper-parameters of the S3-Rec / SASRec network (SPEC section 2), with the paper's defaults.
#include <string>

namespace s3rec {

enum class Activation { Gelu, Relu, Swish, Tanh, Sigmoid };
Activation parse_activation(const std::string& name);  // throws std::invalid_argument
const char* activation_name(Activation a);

struct ModelConfig {
  int hidden_size = 64;
  int inner_size = 256;
  int n_layers = 2;
  int n_heads = 2;
  float hidden_dropout_prob = 0.5f;
  float attn_dropout_prob = 0.5f;
  Activation hidden_act = Activation::Gelu;
  float layer_norm_eps = 1e-12f;
  float initializer_range = 0.02f;
  int max_seq_length = 50;
  int n_items = 0;       // N: real items are 1..N; 0 is padding, N+1 the mask token
  int n_attributes = 0;  // A: real attributes are 1..A; 0 is padding

  int item_rows() const { return n_items + 2; }
  int attribute_rows() const { return n_attributes + 1; }
  int mask_id() const { return n_items + 1; }
  int head_size() const { return hidden_size / n_heads; }
  void validate() const;  // throws std::invalid_argument naming the bad field
};

}  // namespace s3rec
