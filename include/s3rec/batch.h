#pragma once
// Padding-free batches: variable-length sequences stored back to back.
#include <cstdint>
#include <span>
#include <vector>

namespace s3rec {

// B sequences of item ids packed into one array. Sequence b occupies tokens
// [offsets[b], offsets[b+1]). Its i-th token (0-based) of n sits at position
// max_len - n + i, as in the reference's left-padded batches.
struct PackedSeqs {
  std::vector<int> items;
  std::vector<int> offsets{0};

  int num_seqs() const { return int(offsets.size()) - 1; }
  int num_tokens() const { return int(items.size()); }
  int length(int b) const { return offsets[b + 1] - offsets[b]; }
  void add(std::span<const int> seq) {
    items.insert(items.end(), seq.begin(), seq.end());
    offsets.push_back(int(items.size()));
  }
  void clear() { items.clear(); offsets.assign(1, 0); }
};

// One pre-training batch (SPEC section 3). All four PackedSeqs hold the same
// B sequences with identical lengths; pos_items/neg_items align with masked.items.
struct PretrainBatch {
  PackedSeqs masked;            // masked item sequences (mask token = N+1)
  std::vector<int> pos_items;   // [T] original item at every token
  std::vector<int> neg_items;   // [T] sampled negative at masked tokens, 0 elsewhere
  PackedSeqs context;           // sequence with the segment replaced by mask tokens
  PackedSeqs pos_segment;       // mask tokens except the true segment
  PackedSeqs neg_segment;       // mask tokens except the negative segment
};

// One fine-tuning batch (SPEC section 4): at every input token, the next item and a negative.
struct FinetuneBatch {
  PackedSeqs input;
  std::vector<int> pos_items;  // [T]
  std::vector<int> neg_items;  // [T]
};

// The item-table rows a batch reads (its tokens, targets and negatives; 0 excluded),
// sorted and unique: the rows an optimizer with lazily updated rows must bring up to date.
std::vector<int> item_rows(const PretrainBatch& b);
std::vector<int> item_rows(const FinetuneBatch& b);

// Sequences [lo, hi) of a batch, with their per-token arrays (data-parallel shards).
PackedSeqs slice(const PackedSeqs& s, int lo, int hi);
PretrainBatch slice(const PretrainBatch& b, int lo, int hi);
FinetuneBatch slice(const FinetuneBatch& b, int lo, int hi);

}  // namespace s3rec
