#include "s3rec/batch.h"

#include <algorithm>
#include <initializer_list>

namespace s3rec {

PackedSeqs slice(const PackedSeqs& s, int lo, int hi) {
  PackedSeqs out;
  for (int b = lo; b < hi; ++b) out.add({s.items.data() + s.offsets[b], size_t(s.length(b))});
  return out;
}

namespace {
std::vector<int> token_range(const std::vector<int>& v, const PackedSeqs& s, int lo, int hi) {
  return {v.begin() + s.offsets[lo], v.begin() + s.offsets[hi]};
}
}  // namespace

PretrainBatch slice(const PretrainBatch& b, int lo, int hi) {
  PretrainBatch out;
  out.masked = slice(b.masked, lo, hi);
  out.pos_items = token_range(b.pos_items, b.masked, lo, hi);
  out.neg_items = token_range(b.neg_items, b.masked, lo, hi);
  out.context = slice(b.context, lo, hi);
  out.pos_segment = slice(b.pos_segment, lo, hi);
  out.neg_segment = slice(b.neg_segment, lo, hi);
  return out;
}

FinetuneBatch slice(const FinetuneBatch& b, int lo, int hi) {
  FinetuneBatch out;
  out.input = slice(b.input, lo, hi);
  out.pos_items = token_range(b.pos_items, b.input, lo, hi);
  out.neg_items = token_range(b.neg_items, b.input, lo, hi);
  return out;
}

namespace {

std::vector<int> sorted_nonzero(std::initializer_list<const std::vector<int>*> lists) {
  size_t n = 0;
  for (const auto* l : lists) n += l->size();
  std::vector<int> out;
  out.reserve(n);
  for (const auto* l : lists)
    for (int x : *l)
      if (x != 0) out.push_back(x);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

std::vector<int> item_rows(const PretrainBatch& b) {
  return sorted_nonzero({&b.masked.items, &b.pos_items, &b.neg_items, &b.context.items, &b.pos_segment.items,
                         &b.neg_segment.items});
}

std::vector<int> item_rows(const FinetuneBatch& b) {
  return sorted_nonzero({&b.input.items, &b.pos_items, &b.neg_items});
}

}  // namespace s3rec
