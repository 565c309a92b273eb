#include "s3rec/item_index.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/IndexIVFFlat.h>
#include <faiss/impl/FaissException.h>
#include <faiss/invlists/InvertedLists.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>

#include <malloc.h>

#include <algorithm>
#include <numeric>
#include <queue>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "tensor/item_scores.h"
#include "util/atomic_write.h"
#include "util/huge_pages.h"

namespace s3rec {

namespace {

constexpr char kMagic[] = "S3RECINDEX 1\n";
constexpr long kChunk = 1 << 16;  // rows augmented and added at a time

// Item row e as [e, sqrt(M^2 - |e|^2)] (d + 1 floats at o).
void augment(const float* e, int d, double max_norm2, float* o) {
  double n2 = 0;
  for (int k = 0; k < d; ++k) {
    o[k] = e[k];
    n2 += double(e[k]) * e[k];
  }
  o[d] = float(std::sqrt(std::max(0.0, max_norm2 - n2)));
}

int auto_nlist(int n) { return std::clamp(int(std::lround(4.0 * std::sqrt(double(n)))), 1, std::max(1, n / 39)); }

}  // namespace

struct ItemIndex::Impl {
  std::unique_ptr<faiss::Index> index;
  double max_norm2 = 0;
  // IVF, for search_lists: the centroids' first d components ([nlist x d]) and squared
  // norms (all d + 1); each list's item rows as int8 codes with a scale per row (d apart,
  // list after list from list_start[l]: a quarter of the bytes a query streams from
  // memory) and item indices
  std::vector<float> centroids, centroid_norm2;
  std::vector<int8_t> rows_i8;
  std::vector<float> row_scale;
  std::vector<long> list_start;
  std::vector<const faiss::Index::idx_t*> list_ids;
  std::vector<int> list_size;
  bool storage_released = false;  // faiss's rows freed (release_storage): nothing to save

  void prepare_lists(int d) {
    const auto& ivf = static_cast<const faiss::IndexIVFFlat&>(*index);
    const auto& quantizer = dynamic_cast<const faiss::IndexFlat&>(*ivf.quantizer);
    const float* c = quantizer.get_xb();
    const size_t nlist = ivf.nlist;
    centroids.resize(nlist * size_t(d));
    centroid_norm2.resize(nlist);
    list_start.assign(nlist + 1, 0);
    list_ids.resize(nlist);
    list_size.resize(nlist);
    for (size_t l = 0; l < nlist; ++l) list_start[l + 1] = list_start[l] + long(ivf.invlists->list_size(l));
    rows_i8.resize(size_t(list_start[nlist]) * size_t(d));
    row_scale.resize(size_t(list_start[nlist]));
    for (size_t l = 0; l < nlist; ++l) {
      const float* row = c + l * size_t(d + 1);
      std::copy(row, row + d, centroids.begin() + long(l * size_t(d)));
      double n2 = 0;
      for (int k = 0; k <= d; ++k) n2 += double(row[k]) * row[k];
      centroid_norm2[l] = float(n2);
      // ArrayInvertedLists hands out pointers into its own arrays (no copy, nothing to release)
      const float* codes = reinterpret_cast<const float*>(ivf.invlists->get_codes(l));
      list_ids[l] = ivf.invlists->get_ids(l);
      list_size[l] = int(ivf.invlists->list_size(l));
      for (long j = 0; j < list_size[l]; ++j) {
        const size_t r = size_t(list_start[l] + j);
        row_scale[r] = quantize_i8(codes + size_t(j) * size_t(d + 1), d, rows_i8.data() + r * size_t(d));
      }
    }
  }
};

ItemIndex::ItemIndex() : impl_(std::make_unique<Impl>()) {}
ItemIndex::~ItemIndex() = default;

void validate(const IndexOptions& o) {
  if (o.kind != "exact" && o.kind != "hnsw" && o.kind != "ivf")
    throw std::invalid_argument("--index must be exact, hnsw or ivf, got '" + o.kind + "'");
  if (o.hnsw_m < 4 || o.hnsw_m > 256) throw std::invalid_argument("--hnsw_m must be in 4..256");
  if (o.ef_construction < 8 || o.ef_construction > 4096)
    throw std::invalid_argument("--ef_construction must be in 8..4096");
  if (o.ef_search < 0 || o.ef_search > 1 << 20)
    throw std::invalid_argument("--ef_search must be in 0..1048576 (0: 256)");
  if (o.nlist < 0 || o.nlist > 1 << 24) throw std::invalid_argument("--nlist must be in 0..16777216 (0: automatic)");
  if (o.nprobe < 0 || o.nprobe > 1 << 24) throw std::invalid_argument("--nprobe must be in 0..16777216 (0: automatic)");
  if (o.exact_pool < 0) throw std::invalid_argument("exact_pool must be >= 0");
}

std::string default_index_path(const std::string& model_path, const std::string& kind) {
  return model_path + "." + kind + ".index";
}

std::unique_ptr<ItemIndex> ItemIndex::build(const IndexOptions& o, const float* items, int n, int d) {
  validate(o);
  if (o.kind == "exact") throw std::invalid_argument("the exact kind scores every item and has no index to build");
  if (n < 1) throw std::invalid_argument("cannot index an empty item table");
  std::unique_ptr<ItemIndex> x(new ItemIndex());
  x->opts_ = o;
  x->n_items_ = n;
  x->dim_ = d;
  x->items_ = items;
  if (x->opts_.ef_search == 0) x->opts_.ef_search = 256;
  double m2 = 0;
  for (long i = 0; i < n; ++i) {
    double s = 0;
    for (int k = 0; k < d; ++k) s += double(items[i * d + k]) * items[i * d + k];
    m2 = std::max(m2, s);
  }
  x->impl_->max_norm2 = m2;
  std::vector<float> rows;
  if (o.kind == "hnsw") {
    auto h = std::make_unique<faiss::IndexHNSWFlat>(d + 1, o.hnsw_m);
    h->hnsw.efConstruction = o.ef_construction;
    h->hnsw.efSearch = x->opts_.ef_search;
    x->impl_->index = std::move(h);
  } else {
    const int nlist = o.nlist > 0 ? std::min(o.nlist, n) : auto_nlist(n);
    x->opts_.nlist = nlist;
    if (x->opts_.nprobe == 0) x->opts_.nprobe = std::min(nlist, std::max(64, nlist / 64));
    auto quantizer = new faiss::IndexFlatL2(d + 1);
    auto ivf = std::make_unique<faiss::IndexIVFFlat>(quantizer, d + 1, size_t(nlist), faiss::METRIC_L2);
    ivf->own_fields = true;
    ivf->nprobe = size_t(x->opts_.nprobe);
    // k-means on an evenly strided sample of at most 64 rows per list
    const long sample = std::min<long>(n, long(nlist) * 64);
    std::vector<float> train(size_t(sample) * size_t(d + 1));
    for (long s = 0; s < sample; ++s) augment(items + (s * n / sample) * d, d, m2, train.data() + s * (d + 1));
    ivf->cp.max_points_per_centroid = 64;
    ivf->train(sample, train.data());
    x->impl_->index = std::move(ivf);
  }
  for (long lo = 0; lo < n; lo += kChunk) {
    const long hi = std::min<long>(n, lo + kChunk);
    rows.resize(size_t(hi - lo) * size_t(d + 1));
    for (long i = lo; i < hi; ++i) augment(items + i * d, d, m2, rows.data() + (i - lo) * (d + 1));
    x->impl_->index->add(hi - lo, rows.data());
  }
  if (o.kind == "ivf") x->impl_->prepare_lists(d);
  return x;
}

void ItemIndex::release_storage() {
  if (impl_->storage_released) return;
  faiss::Index& idx = *impl_->index;
  if (auto* h = dynamic_cast<faiss::IndexHNSWFlat*>(&idx)) {
    // search_graph walks hnsw.neighbors and scores with items_
    std::vector<uint8_t>().swap(dynamic_cast<faiss::IndexFlatCodes&>(*h->storage).codes);
  } else {
    // search_lists reads rows_i8, row_scale and list_ids (faiss's ids, kept) and rescores with items_
    auto& lists = dynamic_cast<faiss::ArrayInvertedLists&>(*static_cast<faiss::IndexIVFFlat&>(idx).invlists);
    for (auto& codes : lists.codes) std::vector<uint8_t>().swap(codes);
  }
  impl_->storage_released = true;
#ifdef __GLIBC__
  ::malloc_trim(0);  // the lists were many heap blocks: hand their pages back to the system
#endif
  // what each query reads at random: on 2 MiB pages
  if (auto* h = dynamic_cast<faiss::IndexHNSWFlat*>(&idx))
    advise_huge_pages(h->hnsw.neighbors.data(), h->hnsw.neighbors.size() * sizeof(h->hnsw.neighbors[0]));
  else
    advise_huge_pages(impl_->rows_i8.data(), impl_->rows_i8.size());
}

void ItemIndex::save(const std::string& path, const std::string& model_identity) const {
  if (impl_->storage_released)
    throw std::logic_error(path + ": this index's item rows were released (release_storage) and cannot be saved");
  nlohmann::ordered_json head = {{"kind", opts_.kind},       {"model", model_identity},
                                       {"n_items", n_items_},      {"dim", dim_},
                                       {"max_norm2", impl_->max_norm2}, {"hnsw_m", opts_.hnsw_m},
                                       {"ef_construction", opts_.ef_construction},
                                       {"ef_search", opts_.ef_search}, {"nlist", opts_.nlist},
                                       {"nprobe", opts_.nprobe}};
  faiss::VectorIOWriter w;
  try {
    faiss::write_index(impl_->index.get(), &w);
  } catch (const faiss::FaissException& e) {
    throw std::runtime_error(path + ": writing the index failed: " + e.what());
  }
  head["faiss_bytes"] = w.data.size();
  const std::string line = head.dump() + "\n";
  AtomicFile f(path);
  f.append(kMagic, sizeof kMagic - 1);
  f.append(line.data(), line.size());
  f.append(w.data.data(), w.data.size());
  f.commit();
}

std::unique_ptr<ItemIndex> ItemIndex::load(const std::string& path, const std::string& model_identity,
                                           const float* items, int n, int d, const IndexOptions& o) {
  std::unique_ptr<FILE, int (*)(FILE*)> f(std::fopen(path.c_str(), "rb"), &std::fclose);
  if (!f) throw std::runtime_error(path + ": cannot open the index file");
  char magic[sizeof kMagic - 1];
  if (std::fread(magic, 1, sizeof magic, f.get()) != sizeof magic || !std::equal(magic, magic + sizeof magic, kMagic))
    throw std::runtime_error(path + ": not an s3rec index file (bad magic)");
  std::string line;
  for (int c; (c = std::fgetc(f.get())) != '\n';) {
    if (c == EOF || line.size() > 4096) throw std::runtime_error(path + ": truncated index header");
    line.push_back(char(c));
  }
  nlohmann::json head;
  std::unique_ptr<ItemIndex> x(new ItemIndex());
  long faiss_bytes = -1;  // absent from files written before it was recorded
  try {
    head = nlohmann::json::parse(line);
    x->opts_.kind = head.at("kind").get<std::string>();
    x->opts_.hnsw_m = head.at("hnsw_m").get<int>();
    x->opts_.ef_construction = head.at("ef_construction").get<int>();
    x->opts_.ef_search = head.at("ef_search").get<int>();
    x->opts_.nlist = head.at("nlist").get<int>();
    x->opts_.nprobe = head.at("nprobe").get<int>();
    x->impl_->max_norm2 = head.at("max_norm2").get<double>();
    x->n_items_ = head.at("n_items").get<int>();
    x->dim_ = head.at("dim").get<int>();
    if (head.contains("faiss_bytes")) faiss_bytes = head["faiss_bytes"].get<long>();
    const std::string model = head.at("model").get<std::string>();
    if (model != model_identity)
      throw std::runtime_error("built from another model (checkpoint " + model + ", this model is " +
                               model_identity + "): rebuild it with `s3rec index build`");
  } catch (const nlohmann::json::exception& e) {
    throw std::runtime_error(path + ": bad index header: " + e.what());
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(path + ": " + e.what());
  }
  if (x->n_items_ != n || x->dim_ != d)
    throw std::runtime_error(path + ": index of " + std::to_string(x->n_items_) + " items x " +
                             std::to_string(x->dim_) + ", the model has " + std::to_string(n) + " x " +
                             std::to_string(d));
  if (o.kind != "exact" && o.kind != x->opts_.kind)
    throw std::runtime_error(path + ": a " + x->opts_.kind + " index, " + o.kind + " was asked for");
  // faiss 1.7.3's read_index leaks what it has read so far when the data ends early (found by
  // LeakSanitizer, docs/reliability.md): a truncated file is refused before faiss reads it
  const long start = std::ftell(f.get());
  long end = -1;
  if (std::fseek(f.get(), 0, SEEK_END) == 0) end = std::ftell(f.get());
  if (faiss_bytes >= 0 && end - start != faiss_bytes)
    throw std::runtime_error(path + ": corrupt index: " + std::to_string(end - start) + " bytes of faiss data, its header says " +
                             std::to_string(faiss_bytes) + " (truncated?)");
  if (std::fseek(f.get(), start, SEEK_SET) != 0) throw std::runtime_error(path + ": cannot read the index file");
  try {
    faiss::FileIOReader r(f.get());
    x->impl_->index.reset(faiss::read_index(&r));
  } catch (const faiss::FaissException& e) {
    throw std::runtime_error(path + ": corrupt index: " + e.what());
  }
  const faiss::Index& idx = *x->impl_->index;
  const bool kind_ok = x->opts_.kind == "hnsw" ? dynamic_cast<const faiss::IndexHNSWFlat*>(&idx) != nullptr
                                               : dynamic_cast<const faiss::IndexIVFFlat*>(&idx) != nullptr;
  if (!kind_ok || idx.ntotal != n || idx.d != d + 1)
    throw std::runtime_error(path + ": the index data does not match its header (kind, items or dimension)");
  x->items_ = items;
  if (x->opts_.kind == "ivf") {
    const auto& ivf = static_cast<const faiss::IndexIVFFlat&>(idx);
    if (int(ivf.nlist) != x->opts_.nlist || dynamic_cast<const faiss::IndexFlat*>(ivf.quantizer) == nullptr ||
        dynamic_cast<const faiss::ArrayInvertedLists*>(ivf.invlists) == nullptr)
      throw std::runtime_error(path + ": the index data does not match its header (inverted lists)");
    x->impl_->prepare_lists(d);
  }
  if (o.ef_search > 0) x->opts_.ef_search = o.ef_search;
  if (o.nprobe > 0) x->opts_.nprobe = std::min(o.nprobe, x->opts_.nlist);
  return x;
}

// HNSW search over faiss's graph, written here because faiss 1.7.3 ignores the per-query
// efSearch of SearchParametersHNSW (and the index-wide one is not safe to change while
// other threads search). Distances are -e_i . q on the model's own item rows, which order
// nodes exactly as L2 on the augmented rows the graph was built from. The beam keeps the
// ef nearest nodes seen (filtered or not) to decide when to stop; the answer keeps the k
// best nodes `allowed` accepts.
std::vector<int> ItemIndex::search_graph(const float* q, int k, int ef, const std::function<bool(int)>& allowed) const {
  const auto& h = static_cast<const faiss::IndexHNSWFlat&>(*impl_->index).hnsw;
  const int d = dim_;
  // the walk only needs an order (the answer is rescored exactly by the caller): the IVF
  // scan's vectorised dot product, on one row
  const auto dist = [&](int node) {
    float s;
    strided_dots(q, items_ + size_t(node) * size_t(d), d, 1, d, &s);
    return -s;
  };
  thread_local std::vector<uint8_t> visited;
  thread_local uint8_t stamp = 0;
  if (visited.size() < size_t(n_items_)) {
    visited.assign(size_t(n_items_), 0);
    stamp = 0;
  }
  if (++stamp == 0) {  // wrapped: clear once every 255 searches
    std::fill(visited.begin(), visited.end(), 0);
    stamp = 1;
  }
  // greedy descent through the upper levels
  int cur = h.entry_point;
  float dcur = dist(cur);
  for (int level = h.max_level; level > 0; --level) {
    for (bool moved = true; moved;) {
      moved = false;
      size_t b = 0, e = 0;
      h.neighbor_range(cur, level, &b, &e);
      for (size_t j = b; j < e && h.neighbors[j] >= 0; ++j) {
        const int v = h.neighbors[j];
        const float dv = dist(v);
        if (dv < dcur) {
          cur = v;
          dcur = dv;
          moved = true;
        }
      }
    }
  }
  // beam search on level 0
  using Node = std::pair<float, int>;  // distance, node
  std::priority_queue<Node, std::vector<Node>, std::greater<Node>> frontier;  // nearest first
  std::priority_queue<Node> beam;                                             // farthest first, <= ef
  std::priority_queue<Node> answer;                                           // farthest first, <= k
  const auto offer = [&](int v, float dv) {
    if (!allowed || allowed(v + 1)) {
      if (int(answer.size()) < k) answer.emplace(dv, v);
      else if (!answer.empty() && Node{dv, v} < answer.top()) {
        answer.pop();
        answer.emplace(dv, v);
      }
    }
  };
  visited[size_t(cur)] = stamp;
  frontier.emplace(dcur, cur);
  beam.emplace(dcur, cur);
  offer(cur, dcur);
  while (!frontier.empty()) {
    const auto [du, u] = frontier.top();
    if (int(beam.size()) >= ef && du > beam.top().first) break;
    frontier.pop();
    size_t b = 0, e = 0;
    h.neighbor_range(u, 0, &b, &e);
    for (size_t j = b; j < e && h.neighbors[j] >= 0; ++j) {
      const int v = h.neighbors[j];
      if (visited[size_t(v)] == stamp) continue;
      visited[size_t(v)] = stamp;
      const float dv = dist(v);
      if (int(beam.size()) < ef || dv < beam.top().first) {
        frontier.emplace(dv, v);
        beam.emplace(dv, v);
        if (int(beam.size()) > ef) beam.pop();
      }
      offer(v, dv);
    }
  }
  std::vector<int> out(answer.size());
  for (size_t i = out.size(); !answer.empty(); answer.pop()) out[--i] = answer.top().second + 1;
  return out;
}

std::vector<int> ItemIndex::search(const float* query, int k, const std::function<bool(int)>& allowed,
                                   int effort) const {
  k = std::min(k, n_items_);
  if (opts_.kind == "hnsw") {
    const int ef = int(std::min<long>(long(std::max(opts_.ef_search, k)) * effort, long(n_items_) + k));
    return search_graph(query, k, ef, allowed);
  }
  return search_lists(query, k, int(std::min<long>(long(opts_.nprobe) * effort, opts_.nlist)), allowed);
}

// IVF search over faiss's inverted lists, written here because Debian's faiss is built for
// baseline x86-64, where its list scan is a scalar loop (fvec_L2sqr_ref: 83% of a query's
// time at a million items). The nprobe lists whose centroids are nearest in L2 to [q, 0]
// (|c|^2 - 2 c.q, the same order) are scanned; an item's rank key is e_i . q, the order of
// L2 on its augmented row, computed on the int8 copy of the rows (a scale per row; the scan
// streams its rows from memory: a quarter of the bytes, 64 per item at d = 64). The 2k + 8
// best items `allowed` accepts by that key are rescored with the item table's fp32 rows,
// and the k best of those returned, so the codes' rounding (at most half a step of
// max|e_i| / 127 per component) only matters for an item that would have to climb past
// k + 8 others (recall@10 equal to the bfloat16 copy's to four digits at 1M and 10M items).
std::vector<int> ItemIndex::search_lists(const float* q, int k, int nprobe, const std::function<bool(int)>& allowed) const {
  const Impl& x = *impl_;
  const int d = dim_, nlist = int(x.list_size.size());
  nprobe = std::clamp(nprobe, 1, nlist);
  thread_local std::vector<float> scores;
  thread_local std::vector<int> order;
  scores.resize(size_t(nlist));
  strided_dots(q, x.centroids.data(), d, nlist, d, scores.data());
  for (int l = 0; l < nlist; ++l) scores[size_t(l)] = x.centroid_norm2[size_t(l)] - 2.0f * scores[size_t(l)];
  order.resize(size_t(nlist));
  std::iota(order.begin(), order.end(), 0);
  const auto nearer = [&](int a, int b) { return scores[size_t(a)] < scores[size_t(b)] || (scores[size_t(a)] == scores[size_t(b)] && a < b); };
  std::nth_element(order.begin(), order.begin() + (nprobe - 1), order.end(), nearer);
  std::sort(order.begin(), order.begin() + nprobe, nearer);
  // the answer: a min-heap on (score, then larger id is worse) holding the k best so far
  using Entry = std::pair<float, int>;  // score, item id
  const auto better = [](const Entry& a, const Entry& b) { return a.first > b.first || (a.first == b.first && a.second < b.second); };
  const int pool = 2 * k + 8;
  std::vector<Entry> heap;
  heap.reserve(size_t(pool) + 1);
  thread_local std::vector<float> row_scores;
  for (int p = 0; p < nprobe; ++p) {
    const int l = order[size_t(p)], n = x.list_size[size_t(l)];
    row_scores.resize(size_t(n));
    const size_t first = size_t(x.list_start[size_t(l)]);
    i8_dots(q, x.rows_i8.data() + first * size_t(d), x.row_scale.data() + first, n, d, row_scores.data());
    const faiss::Index::idx_t* ids = x.list_ids[size_t(l)];
    for (int j = 0; j < n; ++j) {
      const Entry e{row_scores[size_t(j)], int(ids[j]) + 1};
      if (int(heap.size()) == pool && !better(e, heap.front())) continue;
      if (allowed && !allowed(e.second)) continue;
      heap.push_back(e);
      std::push_heap(heap.begin(), heap.end(), better);
      if (int(heap.size()) > pool) {
        std::pop_heap(heap.begin(), heap.end(), better);
        heap.pop_back();
      }
    }
  }
  for (Entry& e : heap) e.first = item_score(q, items_ + size_t(e.second - 1) * size_t(d), d);
  std::sort(heap.begin(), heap.end(), better);
  if (int(heap.size()) > k) heap.resize(size_t(k));
  std::vector<int> out(heap.size());
  for (size_t i = 0; i < heap.size(); ++i) out[i] = heap[i].second;
  return out;
}

size_t ItemIndex::memory_bytes() const {
  const faiss::Index& idx = *impl_->index;
  size_t bytes = impl_->storage_released ? 0 : size_t(idx.ntotal) * size_t(idx.d) * sizeof(float);
  if (auto h = dynamic_cast<const faiss::IndexHNSWFlat*>(&idx))
    bytes += h->hnsw.neighbors.size() * sizeof(h->hnsw.neighbors[0]) + h->hnsw.offsets.size() * sizeof(size_t) +
             h->hnsw.levels.size() * sizeof(int);
  if (auto v = dynamic_cast<const faiss::IndexIVFFlat*>(&idx))
    bytes += size_t(v->nlist) * size_t(idx.d) * sizeof(float) + size_t(idx.ntotal) * sizeof(faiss::Index::idx_t) +
             impl_->rows_i8.size() + impl_->row_scale.size() * sizeof(float);
  return bytes;
}

}  // namespace s3rec
