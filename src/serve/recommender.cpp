#include "s3rec/recommender.h"

#include <algorithm>
#include <chrono>
#include <functional>
#include <cstdint>
#include <fstream>

#include "s3rec/checkpoint.h"
#include "tensor/item_scores.h"
#include "util/huge_pages.h"

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

Recommender::Recommender(const std::string& model_path, const Vocabulary* vocabulary, const IndexOptions& index,
                         const std::string& index_path)
    : path_(model_path) {
  validate(index);
  const CheckpointMeta meta = read_checkpoint_meta(model_path);
  model_ = std::make_unique<S3RecModel>(meta.config);
  load_checkpoint(model_path, *model_);
  const ModelConfig& c = model_->config();
  if (vocabulary)
    vocab_ = *vocabulary;
  else if (!vocab_.from_checkpoint(StReader(model_path)))
    vocab_ = Vocabulary::identity(c.n_items, c.n_attributes);
  if (vocab_.n_items() != c.n_items)
    throw std::runtime_error(model_path + ": the vocabulary has " + std::to_string(vocab_.n_items()) +
                             " items, the model " + std::to_string(c.n_items));
  identity_ = file_identity(model_path);
  // attribute -> items, for attribute filters
  std::vector<int> attrs, items;
  for (int i = 1; i < int(vocab_.item_attributes.size()); ++i)
    for (int a : vocab_.item_attributes[size_t(i)]) {
      attrs.push_back(a);
      items.push_back(i);
    }
  attribute_items_ = AttributeTable::from_pairs(attrs, items, int(vocab_.attribute_tokens.size()));

  // the item table is read at random (history rows, rescoring) or streamed (exact scoring)
  advise_huge_pages(item_embeddings(), size_t(c.n_items + 2) * size_t(c.hidden_size) * sizeof(float));
  index_kind_ = index.kind;
  exact_pool_ = index.exact_pool;
  if (index.kind == "exact") return;
  const auto t0 = std::chrono::steady_clock::now();
  const float* E = item_embeddings() + c.hidden_size;  // rows 1..N
  const std::string file = index_path.empty() ? default_index_path(model_path, index.kind) : index_path;
  if (std::ifstream(file).good()) {
    index_ = ItemIndex::load(file, identity_, E, c.n_items, c.hidden_size, index);
  } else {
    if (!index_path.empty()) throw std::runtime_error(index_path + ": cannot open the index file");
    index_ = ItemIndex::build(index, E, c.n_items, c.hidden_size);
    index_built_ = true;
  }
  index_->release_storage();  // only searched from here on
  index_seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

Recommender::~Recommender() = default;

const float* Recommender::item_embeddings() const { return model_->params().value(model_->item_embeddings_id()); }

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

namespace {

using Scored = std::pair<int, float>;  // item id, score

// a ranks before b: higher score, then lower id
bool ranks_before(const Scored& a, const Scored& b) {
  return a.second > b.second || (a.second == b.second && a.first < b.first);
}

// The k best of a stream of scored items (a heap whose top is the worst kept).
struct TopK {
  explicit TopK(size_t k) : k(k) {}
  void push(int id, float score) {
    const Scored s{id, score};
    if (heap.size() < k) {
      heap.push_back(s);
      std::push_heap(heap.begin(), heap.end(), ranks_before);
    } else if (k > 0 && ranks_before(s, heap.front())) {
      std::pop_heap(heap.begin(), heap.end(), ranks_before);
      heap.back() = s;
      std::push_heap(heap.begin(), heap.end(), ranks_before);
    }
  }
  // false when `score` cannot enter (cheap test before the filters)
  bool may_enter(float score) const { return heap.size() < k || score >= heap.front().second; }
  std::vector<Scored> sorted() {
    std::sort(heap.begin(), heap.end(), ranks_before);
    return std::move(heap);
  }
  size_t k;
  std::vector<Scored> heap;
};

}  // namespace

std::vector<std::vector<std::pair<int, float>>> Recommender::recommend_ids(
    const std::vector<std::vector<int>>& histories, int k, const RecommendOptions& o) const {
  const ModelConfig& c = model_->config();
  const int N = c.n_items, d = c.hidden_size;
  if (k < 1 || k > N) throw RequestError("k must be in 1.." + std::to_string(N) + ", got " + std::to_string(k));
  // Filters shared by every history: a candidate list, attributes wanted.
  std::vector<int> candidates;
  if (!o.candidates.empty()) {
    candidates = item_ids(o.candidates, "candidates");
    std::sort(candidates.begin(), candidates.end());
    candidates.erase(std::unique(candidates.begin(), candidates.end()), candidates.end());
  }
  std::vector<char> want;  // want[a]: attribute a asked for
  long attr_pool = 0;      // items having a wanted attribute, counted with repeats
  if (!o.attributes.empty()) {
    want.assign(vocab_.attribute_tokens.size(), 0);
    for (const std::string& t : o.attributes) {
      const int a = vocab_.attribute_id(t);
      if (a == 0) throw RequestError("unknown attribute '" + t + "'");
      if (!want[size_t(a)]) attr_pool += long(attribute_items_.of(a).size());
      want[size_t(a)] = 1;
    }
  }
  const auto has_wanted_attribute = [&](int i) {
    for (int a : vocab_.item_attributes[size_t(i)])
      if (want[size_t(a)]) return true;
    return false;
  };

  PackedSeqs seqs;
  for (const auto& h : histories) {
    if (h.empty()) throw RequestError("empty history");
    for (int i : h)
      if (i < 1 || i > N) throw RequestError("item id " + std::to_string(i) + " out of range 1.." + std::to_string(N));
    seqs.add(last_n(std::span<const int>(h), c.max_seq_length));
  }
  const int B = seqs.num_seqs();
  std::vector<float> hidden(size_t(B) * d);
  model_->encode_last(seqs, /*causal=*/true, hidden.data());
  const float* E = item_embeddings();  // row i scores item id i

  // per history: the items it may not return (sorted)
  std::vector<std::vector<int>> banned(static_cast<size_t>(B));
  if (o.exclude_history)
    for (int b = 0; b < B; ++b) {
      banned[size_t(b)] = histories[size_t(b)];
      std::sort(banned[size_t(b)].begin(), banned[size_t(b)].end());
      banned[size_t(b)].erase(std::unique(banned[size_t(b)].begin(), banned[size_t(b)].end()), banned[size_t(b)].end());
    }
  const auto qualifies = [&](int b, int i) {
    if (std::binary_search(banned[size_t(b)].begin(), banned[size_t(b)].end(), i)) return false;
    return want.empty() || has_wanted_attribute(i);
  };
  // Exact scores of a list of items for history b.
  const auto score_pool = [&](int b, const std::vector<int>& pool) {
    TopK top{size_t(k)};
    const float* f = hidden.data() + size_t(b) * d;
    for (int i : pool)
      if (qualifies(b, i)) top.push(i, item_score(f, E + size_t(i) * d, d));
    return top.sorted();
  };
  // Exact scores of every item for the histories in `users`, in blocks of items.
  const auto scan_all = [&](const std::vector<int>& users, std::vector<std::vector<Scored>>& out) {
    constexpr int kBlock = 4096;
    const int nb = int(users.size());
    std::vector<float> F(size_t(nb) * d), S(size_t(nb) * kBlock);
    for (int u = 0; u < nb; ++u)
      std::copy_n(hidden.data() + size_t(users[size_t(u)]) * d, d, F.data() + size_t(u) * d);
    std::vector<TopK> tops(static_cast<size_t>(nb), TopK{static_cast<size_t>(k)});
    for (int lo = 1; lo <= N; lo += kBlock) {
      const int n = std::min(kBlock, N - lo + 1);
      item_scores(F.data(), nb, E + size_t(lo) * d, n, d, S.data(), kBlock);
      for (int u = 0; u < nb; ++u) {
        TopK& top = tops[size_t(u)];
        const float* row = S.data() + size_t(u) * kBlock;
        for (int j = 0; j < n; ++j)
          if (top.may_enter(row[j]) && qualifies(users[size_t(u)], lo + j)) top.push(lo + j, row[j]);
      }
    }
    for (int u = 0; u < nb; ++u) out[size_t(users[size_t(u)])] = tops[size_t(u)].sorted();
  };

  std::vector<std::vector<Scored>> out(static_cast<size_t>(B));
  if (!candidates.empty()) {
    for (int b = 0; b < B; ++b) out[size_t(b)] = score_pool(b, candidates);
    return out;
  }
  if (!want.empty() && (!index_ || attr_pool <= exact_pool_)) {
    // few items carry the wanted attributes (or no index): score exactly those
    std::vector<int> pool;
    pool.reserve(size_t(attr_pool));
    for (size_t a = 0; a < want.size(); ++a)
      if (want[a]) {
        const auto of = attribute_items_.of(int(a));
        pool.insert(pool.end(), of.begin(), of.end());
      }
    std::sort(pool.begin(), pool.end());
    pool.erase(std::unique(pool.begin(), pool.end()), pool.end());
    for (int b = 0; b < B; ++b) out[size_t(b)] = score_pool(b, pool);
    return out;
  }
  if (!index_) {
    std::vector<int> all(static_cast<size_t>(B));
    for (int b = 0; b < B; ++b) all[size_t(b)] = b;
    scan_all(all, out);
    return out;
  }
  // Index search with the filters as a selector; widened while it returns fewer than k of
  // the items that qualify, and replaced by an exact scan when widening cannot help.
  std::vector<int> short_of_k;
  for (int b = 0; b < B; ++b) {
    const float* f = hidden.data() + size_t(b) * d;
    const bool filtered = !banned[size_t(b)].empty() || !want.empty();
    const std::function<bool(int)> allow = filtered ? std::function<bool(int)>([&, b](int i) { return qualifies(b, i); })
                                                    : std::function<bool(int)>();
    // at least min(k, qualifying) results are owed (qualifying is known without attributes)
    const long owed = want.empty() ? std::min<long>(k, N - long(banned[size_t(b)].size())) : k;
    // a filter that keeps a fraction p of the items needs about 1/p times the search effort
    const int base = want.empty() ? 1 : int(std::clamp<long>((long(N) + attr_pool - 1) / std::max(1L, attr_pool), 1, 1024));
    std::vector<int> ids;
    for (int effort = base; effort <= base * 64; effort *= 4) {
      ids = index_->search(f, k, allow, effort);
      if (long(ids.size()) >= owed) break;
    }
    if (long(ids.size()) < owed) {
      short_of_k.push_back(b);
      continue;
    }
    TopK top{size_t(k)};
    for (int i : ids) top.push(i, item_score(f, E + size_t(i) * d, d));
    out[size_t(b)] = top.sorted();
  }
  if (!short_of_k.empty()) scan_all(short_of_k, out);
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
