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

  int n_items() const { return item_tokens.count(); }
  // id of a token, 0 when unknown
  int item_id(std::string_view token) const { return item_tokens.find(token); }
  int attribute_id(std::string_view token) const { return attribute_tokens.find(token); }
  size_t memory_bytes() const;
};

}  // namespace s3rec
