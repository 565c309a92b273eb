#pragma once
// The names of N things (items or attributes) with lookup by name, in a few flat
// arrays: one string of all characters, an offset per name and an open-addressing
// table of ids. About 20 bytes per name beyond its characters, against about 130
// for vectors of strings and a hash map of nodes; names that are exactly "1".."N"
// (the reference format's ids) are not stored at all.
// Entry 0 is "[PAD]", never found by name; ids 1..N are the names' positions.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace s3rec {

class TokenTable {
 public:
  TokenTable() = default;  // "[PAD]" only
  // "[PAD]", then tokens[1..]: tokens[0] is ignored; an empty token becomes its id.
  static TokenTable from_vector(const std::vector<std::string>& tokens);
  // "[PAD]", "1", "2", ..., "n", held implicitly.
  static TokenTable numbered(int n);

  // Appends a name with the next id (ids 1..N); call index() once after the last one.
  void push_back(std::string_view token);
  // Builds the lookup table (and turns a table of "1".."N" into the implicit form).
  void index();

  size_t size() const { return numbered_ ? size_t(numbered_n_) + 1 : offsets_.size() - 1; }
  int count() const { return int(size()) - 1; }  // N
  std::string operator[](size_t id) const;
  // id of a name, 0 when unknown (the first of repeated names wins)
  int find(std::string_view token) const;
  // every name is a canonical non-negative integer (no sign, no leading zero)
  bool integers() const;
  bool is_numbered() const { return numbered_; }
  std::vector<std::string> to_vector() const;  // [size()]
  size_t memory_bytes() const;

 private:
  std::string_view stored(size_t id) const {
    return {chars_.data() + offsets_[id], size_t(offsets_[id + 1] - offsets_[id])};
  }
  bool numbered_ = false;
  int numbered_n_ = 0;
  std::string chars_ = "[PAD]";
  std::vector<uint64_t> offsets_{0, 5};  // [size() + 1]
  std::vector<int32_t> slots_;           // [power of two >= 2N]: id, 0 = empty
};

}  // namespace s3rec
