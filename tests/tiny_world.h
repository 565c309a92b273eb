#pragma once
// A small synthetic dataset and model that train in about a second: the fixtures of the
// fine-tuning loop and data-parallel tests.
#include "s3rec/model.h"
#include "s3rec/synthetic.h"

namespace s3rec::testing {

inline Dataset tiny_data() {
  SyntheticOptions so;
  so.users = 90;
  so.items = 150;
  so.clusters = 5;
  so.max_length = 14;
  return make_synthetic(so);
}

// hidden size 16, sequences of at most 10 items, the given dropout on hidden states and attention
inline ModelConfig tiny_model(const Dataset& d, float dropout) {
  ModelConfig c;
  c.hidden_size = 16;
  c.inner_size = 32;
  c.max_seq_length = 10;
  c.hidden_dropout_prob = dropout;
  c.attn_dropout_prob = dropout;
  c.n_items = d.n_items;
  c.n_attributes = d.n_attributes;
  return c;
}

}  // namespace s3rec::testing
