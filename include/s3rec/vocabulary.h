#pragma once
// The user-facing names of items and attributes, and each item's attributes,
// stored in a fine-tuned model's checkpoint metadata so a served model needs no
// dataset. Item id i (1..N) is the model's row i; tokens are the ids users know.
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "s3rec/dataset.h"

namespace s3rec {

struct Vocabulary {
  std::vector<std::string> item_tokens;           // [N+1], [0] = "[PAD]"
  std::vector<std::string> attribute_tokens;      // [A+1], [0] = "[PAD]"
  std::vector<std::vector<int>> item_attributes;  // [N+1]

  static Vocabulary from_dataset(const Dataset& d);
  // Identity tokens "1".."N" and no attributes: for checkpoints saved without a vocabulary.
  static Vocabulary identity(int n_items, int n_attributes);
  // Metadata keys "item_tokens", "attribute_tokens", "item_attributes" (JSON text).
  std::map<std::string, std::string> to_metadata() const;
  // Reads those keys; returns false when absent; throws std::runtime_error when malformed.
  bool from_metadata(const std::map<std::string, std::string>& meta, const std::string& source);

  int n_items() const { return int(item_tokens.size()) - 1; }
  // id of a token, 0 when unknown
  int item_id(const std::string& token) const;
  int attribute_id(const std::string& token) const;

 private:
  void index();
  std::unordered_map<std::string, int> item_index_, attribute_index_;
};

}  // namespace s3rec
