#pragma once
// Serving API: load a fine-tuned model once, then recommend next items for
// histories. Items are addressed by the tokens users know (the dataset's raw ids).
// recommend() and recommend_batch() are const and thread-safe.
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

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
  explicit Recommender(const std::string& model_path, const Vocabulary* vocabulary = nullptr);
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

 private:
  std::vector<int> item_ids(const std::vector<std::string>& tokens, const char* what) const;
  std::string path_, identity_;
  std::unique_ptr<S3RecModel> model_;
  Vocabulary vocab_;
};

}  // namespace s3rec
