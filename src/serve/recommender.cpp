#include "s3rec/recommender.h"

#include <algorithm>
#include <cstdint>
#include <fstream>

#include "s3rec/checkpoint.h"
#include "tensor/gemm.h"

namespace s3rec {

namespace {

// "SIZE-HASH": the file's byte count and 64-bit FNV-1a hash, to tell checkpoints apart.
std::string file_identity(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  uint64_t h = 1469598103934665603ull, size = 0;
  char buf[1 << 16];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    const std::streamsize n = in.gcount();
    for (std::streamsize i = 0; i < n; ++i) h = (h ^ uint8_t(buf[i])) * 1099511628211ull;
    size += uint64_t(n);
  }
  char out[48];
  std::snprintf(out, sizeof out, "%llu-%016llx", static_cast<unsigned long long>(size),
                static_cast<unsigned long long>(h));
  return out;
}

}  // namespace

Recommender::Recommender(const std::string& model_path, const Vocabulary* vocabulary) : path_(model_path) {
  const CheckpointMeta meta = read_checkpoint_meta(model_path);
  model_ = std::make_unique<S3RecModel>(meta.config);
  load_checkpoint(model_path, *model_);
  const ModelConfig& c = model_->config();
  if (vocabulary)
    vocab_ = *vocabulary;
  else if (!vocab_.from_metadata(meta.extra, model_path))
    vocab_ = Vocabulary::identity(c.n_items, c.n_attributes);
  if (vocab_.n_items() != c.n_items)
    throw std::runtime_error(model_path + ": the vocabulary has " + std::to_string(vocab_.n_items()) +
                             " items, the model " + std::to_string(c.n_items));
  identity_ = file_identity(model_path);
}

Recommender::~Recommender() = default;

std::vector<int> Recommender::item_ids(const std::vector<std::string>& tokens, const char* what) const {
  std::vector<int> ids;
  ids.reserve(tokens.size());
  for (const std::string& t : tokens) {
    const int id = vocab_.item_id(t);
    if (id == 0) throw RequestError(std::string("unknown item '") + t + "' in " + what);
    ids.push_back(id);
  }
  return ids;
}

std::vector<std::vector<std::pair<int, float>>> Recommender::recommend_ids(
    const std::vector<std::vector<int>>& histories, int k, const RecommendOptions& o) const {
  const ModelConfig& c = model_->config();
  const int N = c.n_items, d = c.hidden_size;
  if (k < 1 || k > N) throw RequestError("k must be in 1.." + std::to_string(N) + ", got " + std::to_string(k));
  // allowed[i]: item i may be recommended (before history exclusion)
  std::vector<char> allowed(size_t(N) + 1, 1);
  allowed[0] = 0;
  if (!o.candidates.empty()) {
    std::fill(allowed.begin(), allowed.end(), 0);
    for (int i : item_ids(o.candidates, "candidates")) allowed[i] = 1;
  }
  if (!o.attributes.empty()) {
    std::vector<char> want(vocab_.attribute_tokens.size(), 0);
    for (const std::string& t : o.attributes) {
      const int a = vocab_.attribute_id(t);
      if (a == 0) throw RequestError("unknown attribute '" + t + "'");
      want[a] = 1;
    }
    for (int i = 1; i <= N; ++i) {
      bool any = false;
      for (int a : vocab_.item_attributes[i]) any = any || want[a];
      allowed[i] = allowed[i] && any;
    }
  }
  PackedSeqs seqs;
  for (const auto& h : histories) {
    if (h.empty()) throw RequestError("empty history");
    for (int i : h)
      if (i < 1 || i > N) throw RequestError("item id " + std::to_string(i) + " out of range 1.." + std::to_string(N));
    seqs.add(last_n(std::span<const int>(h), c.max_seq_length));
  }
  const int B = seqs.num_seqs();
  std::vector<float> hidden(size_t(B) * d), scores(size_t(B) * N);
  model_->encode_last(seqs, /*causal=*/true, hidden.data());
  // scores[B x N] = hidden[B x d] . E[1..N]^T; a few rows go through gemv, since sgemm
  // would copy (pack) the whole [N x d] table for every call
  const float* E = model_->params().value(model_->item_embeddings_id()) + d;
  if (B < 8)
    for (int b = 0; b < B; ++b) gemv(N, d, 1.0f, E, d, hidden.data() + size_t(b) * d, 0.0f, scores.data() + size_t(b) * N);
  else
    gemm(false, true, B, N, d, 1.0f, hidden.data(), d, E, d, 0.0f, scores.data(), N);

  std::vector<std::vector<std::pair<int, float>>> out(static_cast<size_t>(B));
  std::vector<int> cand;
  std::vector<char> excluded(size_t(N) + 1, 0);
  for (int b = 0; b < B; ++b) {
    if (o.exclude_history)
      for (int i : histories[b]) excluded[i] = 1;
    cand.clear();
    for (int i = 1; i <= N; ++i)
      if (allowed[i] && !excluded[i]) cand.push_back(i);
    if (o.exclude_history)
      for (int i : histories[b]) excluded[i] = 0;
    const float* row = scores.data() + size_t(b) * N;  // row[i - 1] scores item id i
    const auto better = [row](int x, int y) {
      return row[x - 1] > row[y - 1] || (row[x - 1] == row[y - 1] && x < y);
    };
    const size_t kk = std::min(cand.size(), size_t(k));
    std::partial_sort(cand.begin(), cand.begin() + long(kk), cand.end(), better);
    out[b].reserve(kk);
    for (size_t r = 0; r < kk; ++r) out[b].emplace_back(cand[r], row[cand[r] - 1]);
  }
  return out;
}

std::vector<Recommendation> Recommender::recommend_batch(const std::vector<std::vector<std::string>>& histories, int k,
                                                         const RecommendOptions& o) const {
  std::vector<std::vector<int>> ids;
  ids.reserve(histories.size());
  for (const auto& h : histories) ids.push_back(item_ids(h, "history"));
  const auto ranked = recommend_ids(ids, k, o);
  std::vector<Recommendation> out(ranked.size());
  for (size_t b = 0; b < ranked.size(); ++b)
    for (const auto& [id, score] : ranked[b]) {
      out[b].items.push_back(vocab_.item_tokens[id]);
      out[b].scores.push_back(score);
    }
  return out;
}

Recommendation Recommender::recommend(const std::vector<std::string>& history, int k, const RecommendOptions& o) const {
  return recommend_batch({history}, k, o).front();
}

}  // namespace s3rec
