#include "s3rec/attribute_table.h"

#include <algorithm>
#include <stdexcept>

namespace s3rec {

AttributeTable AttributeTable::from_lists(const std::vector<std::vector<int>>& lists, int rows) {
  if (rows < int(lists.size())) throw std::invalid_argument("AttributeTable: fewer rows than lists");
  AttributeTable t;
  t.offsets.assign(1, 0);
  t.offsets.reserve(size_t(rows) + 1);
  std::vector<int> a;
  for (int i = 0; i < rows; ++i) {
    if (i < int(lists.size())) {
      a = lists[size_t(i)];
      std::sort(a.begin(), a.end());
      a.erase(std::unique(a.begin(), a.end()), a.end());  // multi-hot: each attribute once
      t.attrs.insert(t.attrs.end(), a.begin(), a.end());
    }
    t.offsets.push_back(int(t.attrs.size()));
  }
  return t;
}

AttributeTable AttributeTable::from_pairs(const std::vector<int>& items, const std::vector<int>& attrs, int rows) {
  if (items.size() != attrs.size()) throw std::invalid_argument("AttributeTable: items and attrs differ in length");
  AttributeTable t;
  t.offsets.assign(size_t(rows) + 1, 0);
  for (int i : items) {
    if (i < 0 || i >= rows) throw std::out_of_range("AttributeTable: item out of range");
    ++t.offsets[size_t(i) + 1];
  }
  for (int r = 0; r < rows; ++r) t.offsets[size_t(r) + 1] += t.offsets[size_t(r)];
  t.attrs.resize(items.size());
  std::vector<int> fill(t.offsets.begin(), t.offsets.end() - 1);  // counting sort by item, stable
  for (size_t k = 0; k < items.size(); ++k) t.attrs[size_t(fill[size_t(items[k])]++)] = attrs[k];
  // sort and drop repeats within each item, compacting in place
  int out = 0;
  for (int r = 0; r < rows; ++r) {
    const auto b = t.attrs.begin() + t.offsets[size_t(r)], e = t.attrs.begin() + t.offsets[size_t(r) + 1];
    std::sort(b, e);
    const auto u = std::unique(b, e);
    t.offsets[size_t(r)] = out;
    out = int(std::copy(b, u, t.attrs.begin() + out) - t.attrs.begin());
  }
  t.offsets[size_t(rows)] = out;
  t.attrs.resize(size_t(out));
  t.attrs.shrink_to_fit();
  return t;
}

std::vector<std::vector<int>> AttributeTable::to_lists() const {
  std::vector<std::vector<int>> out(size());
  for (size_t i = 0; i < size(); ++i) out[i].assign(of(int(i)).begin(), of(int(i)).end());
  return out;
}

}  // namespace s3rec
