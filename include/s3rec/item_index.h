#pragma once
// Approximate maximum-inner-product search over a model's item table, with faiss.
// Both kinds index the rows [e_i, sqrt(M^2 - |e_i|^2)] (M: the largest item norm): the
// row nearest in L2 to [q, 0] is the item with the largest e_i . q, so faiss's L2
// graph (HNSW) and inverted lists (IVF) answer maximum-inner-product queries.
// An index file records the identity of the model it was built from and is refused
// for any other model.
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace s3rec {

struct IndexOptions {
  std::string kind = "exact";  // exact (score every item) | hnsw | ivf
  int hnsw_m = 32;             // HNSW: links per node
  int ef_construction = 40;    // HNSW: candidates kept while inserting (faiss default)
  int ef_search = 0;           // HNSW: candidates kept while searching, at least the fetch size; 0 = 256
  int nlist = 0;               // IVF: lists; 0 = 4 sqrt(N), at most N / 39
  int nprobe = 0;              // IVF: lists scanned per query; 0 = max(64, nlist / 64)
  long exact_pool = 20000;     // a query whose filters leave at most this many items scores them exactly
};

// Throws std::invalid_argument naming the option when a value is out of range.
void validate(const IndexOptions& o);

// Where `s3rec index build` puts the index of MODEL: MODEL.KIND.index
std::string default_index_path(const std::string& model_path, const std::string& kind);

class ItemIndex {
 public:
  ~ItemIndex();
  // items: the N rows of item ids 1..N, each of dimension d (row-major [N x d]). The index
  // keeps the pointer (HNSW scores with these rows): the table must outlive the index.
  static std::unique_ptr<ItemIndex> build(const IndexOptions& o, const float* items, int n_items, int d);
  // Reads an index written by save(); throws std::runtime_error naming the file when it is
  // not an index, was built from another model (identity), or does not match n_items x d.
  // The file's search settings (ef_search, nprobe) are replaced by o's when those are non-zero.
  static std::unique_ptr<ItemIndex> load(const std::string& path, const std::string& model_identity,
                                         const float* items, int n_items, int d, const IndexOptions& o);
  // Atomic: written to a temporary file, then renamed over `path`.
  void save(const std::string& path, const std::string& model_identity) const;

  // Up to k item ids (1..N), best first by the index's approximate order, among the items
  // `allowed` accepts (empty function: every item). May return fewer than k when the
  // search explored too few allowed items; the caller decides how to widen.
  std::vector<int> search(const float* query, int k, const std::function<bool(int)>& allowed, int effort = 1) const;

  // Frees faiss's own copy of the item rows, which search() never reads (it scores with
  // the model's rows and, for IVF, an int8 copy of the lists): N x (d + 1) floats, 2.6 GB
  // at 10M items. For an index that is only searched from here on: save() refuses after it.
  // Also asks for 2 MiB pages under what search() reads (the int8 lists, the graph).
  void release_storage();

  const IndexOptions& options() const { return opts_; }
  int n_items() const { return n_items_; }
  size_t memory_bytes() const;

 private:
  struct Impl;
  ItemIndex();
  std::vector<int> search_graph(const float* q, int k, int ef, const std::function<bool(int)>& allowed) const;
  std::vector<int> search_lists(const float* q, int k, int nprobe, const std::function<bool(int)>& allowed) const;
  std::unique_ptr<Impl> impl_;
  IndexOptions opts_;
  const float* items_ = nullptr;
  int n_items_ = 0, dim_ = 0;
};

}  // namespace s3rec
