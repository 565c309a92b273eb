#pragma once
// Serving API: load a fine-tuned model once, then recommend next items for
// histories. Items are addressed by the tokens users know (the dataset's raw ids).
// recommend() and recommend_batch() are const and thread-safe.
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "s3rec/attribute_table.h"
#include "s3rec/item_index.h"
#include "s3rec/model.h"
#include "s3rec/vocabulary.h"

namespace s3rec {

// A request the model cannot answer (unknown item, k out of range, ...): the
// message says what is wrong; servers answer it with HTTP 400.
class RequestError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

struct RecommendOptions {
  bool exclude_history = true;              // never recommend an item of the history
  std::vector<std::string> candidates;      // when non-empty: rank only these items
  std::vector<std::string> attributes;      // when non-empty: only items having one of these attributes
};

struct Recommendation {
  std::vector<std::string> items;  // best first
  std::vector<float> scores;       // e_item . F_last (higher is better)
};

class Recommender {
 public:
  // Loads model and vocabulary from a checkpoint (throws std::runtime_error naming the
  // file); `vocabulary` replaces the checkpoint's own (or the identity when it has none).
  // index.kind "exact" scores every item for every request. "hnsw" and "ivf" search a faiss
  // index: `index_path` (default MODEL.KIND.index) is loaded when it exists (refused with an
  // error if it was built from another model), otherwise the index is built in memory.
  explicit Recommender(const std::string& model_path, const Vocabulary* vocabulary = nullptr,
                       const IndexOptions& index = {}, const std::string& index_path = "");
  ~Recommender();

  // history: oldest first; only the last max_seq_length items are used.
  // Throws RequestError for unknown items, an empty history, k < 1 or k > n_items.
  Recommendation recommend(const std::vector<std::string>& history, int k, const RecommendOptions& o = {}) const;
  std::vector<Recommendation> recommend_batch(const std::vector<std::vector<std::string>>& histories, int k,
                                              const RecommendOptions& o = {}) const;

  // The same on internal ids (1..N), for callers that hold them already.
  std::vector<std::vector<std::pair<int, float>>> recommend_ids(const std::vector<std::vector<int>>& histories, int k,
                                                                const RecommendOptions& o = {}) const;

  const ModelConfig& config() const { return model_->config(); }
  const Vocabulary& vocabulary() const { return vocab_; }
  const std::string& model_path() const { return path_; }
  const std::string& checkpoint_identity() const { return identity_; }  // size and FNV-1a hash of the file
  const float* item_embeddings() const;  // [N+1 x d], row i = item id i
  const ItemIndex* index() const { return index_.get(); }             // nullptr for the exact kind
  const std::string& index_kind() const { return index_kind_; }
  double index_seconds() const { return index_seconds_; }   // time to load or build the index
  bool index_built() const { return index_built_; }         // built at start-up (no file)

 private:
  std::vector<int> item_ids(const std::vector<std::string>& tokens, const char* what) const;
  std::string path_, identity_, index_kind_ = "exact";
  std::unique_ptr<S3RecModel> model_;
  Vocabulary vocab_;
  std::unique_ptr<ItemIndex> index_;
  long exact_pool_ = 0;
  double index_seconds_ = 0;
  bool index_built_ = false;
  AttributeTable attribute_items_;  // the inverse of the vocabulary's item attributes: row a = items having a
};

}  // namespace s3rec
