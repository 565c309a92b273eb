#pragma once
// The user-facing names of items and attributes, and each item's attributes,
// stored in a fine-tuned model's checkpoint metadata so a served model needs no
// dataset. Item id i (1..N) is the model's row i; tokens are the ids users know.
// Flat arrays throughout (TokenTable, AttributeTable): a 10M-item catalogue's
// vocabulary costs about its characters plus 20 bytes per item.
#include <map>
#include <string>

#include "s3rec/attribute_table.h"
#include "s3rec/dataset.h"
#include "s3rec/safetensors.h"
#include "s3rec/token_table.h"

namespace s3rec {

struct Vocabulary {
  TokenTable item_tokens;          // [N+1], [0] = "[PAD]"
  TokenTable attribute_tokens;     // [A+1], [0] = "[PAD]"
  AttributeTable item_attributes;  // [N+1] rows

  static Vocabulary from_dataset(const Dataset& d);
  // Identity tokens "1".."N" and no attributes: for checkpoints saved without a vocabulary.
  static Vocabulary identity(int n_items, int n_attributes);
  // Metadata keys "item_tokens", "attribute_tokens", "item_attributes" (JSON text).
  std::map<std::string, std::string> to_metadata() const;
  // Reads those keys; returns false when absent; throws std::runtime_error when malformed.
  bool from_metadata(const std::map<std::string, std::string>& meta, const std::string& source);

  // What a checkpoint stores: the JSON metadata above while it takes at most
  // max_json_bytes (safetensors readers refuse headers beyond 100 MB: a few million
  // items), else metadata "vocabulary" = "tensors" with the attribute tokens, and tensors
  // vocabulary.item_token_bytes U8 [C] + vocabulary.item_token_offsets I64 [N+1] (absent
  // when the names are "1".."N"), vocabulary.item_attribute_offsets I64 [N+2] and
  // vocabulary.item_attribute_ids I32 [pairs].
  struct Stored {
    std::map<std::string, std::string> metadata;
    std::map<std::string, StTensor> tensors;
  };
  static constexpr size_t kMaxJsonBytes = size_t(48) << 20;
  Stored to_checkpoint(size_t max_json_bytes = kMaxJsonBytes) const;
  // Either form from a checkpoint; false when it holds none; std::runtime_error naming
  // the file when malformed.
  bool from_checkpoint(const StReader& f);

  int n_items() const { return item_tokens.count(); }
  // id of a token, 0 when unknown
  int item_id(std::string_view token) const { return item_tokens.find(token); }
  int attribute_id(std::string_view token) const { return attribute_tokens.find(token); }
  size_t memory_bytes() const;
};

}  // namespace s3rec
