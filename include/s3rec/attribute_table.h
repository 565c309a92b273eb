#pragma once
// The attributes of every item, in CSR form: item i has attrs[offsets[i] .. offsets[i+1]),
// sorted and without repeats. Two arrays, whatever the number of items.
#include <cstddef>
#include <span>
#include <vector>

namespace s3rec {

struct AttributeTable {
  std::vector<int> offsets{0};  // [rows + 1]
  std::vector<int> attrs;

  int rows() const { return int(offsets.size()) - 1; }
  size_t size() const { return offsets.size() - 1; }
  std::span<const int> of(int item) const {
    return {attrs.data() + offsets[size_t(item)], size_t(offsets[size_t(item) + 1] - offsets[size_t(item)])};
  }
  std::span<const int> operator[](size_t item) const { return of(int(item)); }
  size_t pairs() const { return attrs.size(); }
  std::vector<int> list(int item) const { return {of(item).begin(), of(item).end()}; }

  // From per-item lists; rows >= lists.size() (missing items have no attributes).
  static AttributeTable from_lists(const std::vector<std::vector<int>>& lists, int rows);
  // From (item, attribute) pairs in any order: items[k] has attribute attrs[k].
  static AttributeTable from_pairs(const std::vector<int>& items, const std::vector<int>& attrs, int rows);
  // Per-item lists again (for tables that are small: serving vocabularies, tests).
  std::vector<std::vector<int>> to_lists() const;
};

}  // namespace s3rec
