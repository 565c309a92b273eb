#pragma once
// A checkpoint of a very small model (5 items, 2 attributes, width 4): the HTTP harness
// serves it, and make_seeds writes it as the seed of the checkpoint harness.
#include <string>

#include "s3rec/checkpoint.h"
#include "s3rec/model.h"
#include "s3rec/optimizer.h"
#include "s3rec/vocabulary.h"

namespace s3rec::fuzz {

inline ModelConfig tiny_config() {
  ModelConfig c;
  c.hidden_size = 4;
  c.inner_size = 8;
  c.n_layers = 1;
  c.n_heads = 2;
  c.max_seq_length = 3;
  c.n_items = 5;
  c.n_attributes = 2;
  return c;
}

// named=true: item tokens "a".."e" and attributes "x", "y"; false: the identity vocabulary
// ("1".."5", answered as JSON numbers). With optimizer state when `with_optimizer`.
// With `vocab_tensors`, the vocabulary goes in as vocabulary.* tensors (the form of
// catalogues of millions of items).
inline void save_tiny_model(const std::string& path, bool named, bool with_optimizer = false,
                            bool vocab_tensors = false) {
  S3RecModel m(tiny_config());
  m.init_weights(7);
  Vocabulary v = Vocabulary::identity(5, 2);
  if (named) {
    v.item_tokens = TokenTable::from_vector({"[PAD]", "a", "b", "c", "d", "e"});
    v.attribute_tokens = TokenTable::from_vector({"[PAD]", "x", "y"});
    v.item_attributes = AttributeTable::from_lists({{}, {1}, {2}, {1, 2}, {}, {2}}, 6);
  }
  const Vocabulary::Stored s = v.to_checkpoint(vocab_tensors ? 0 : Vocabulary::kMaxJsonBytes);
  if (!with_optimizer) return save_checkpoint(path, m, s.metadata, nullptr, s.tensors);
  Optimizer opt(m.params(), AdamConfig{});
  save_checkpoint(path, m, s.metadata, &opt, s.tensors);
}

}  // namespace s3rec::fuzz
