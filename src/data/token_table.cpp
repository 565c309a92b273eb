#include "s3rec/token_table.h"

#include <functional>

namespace s3rec {
namespace {

bool canonical_integer(std::string_view t) {
  if (t.empty() || t.size() > 18 || (t.size() > 1 && t[0] == '0')) return false;
  for (char c : t)
    if (c < '0' || c > '9') return false;
  return true;
}

size_t hash_of(std::string_view t) { return std::hash<std::string_view>{}(t); }

}  // namespace

TokenTable TokenTable::from_vector(const std::vector<std::string>& tokens) {
  TokenTable t;
  for (size_t i = 1; i < tokens.size(); ++i)
    tokens[i].empty() ? t.push_back(std::to_string(i)) : t.push_back(tokens[i]);
  t.index();
  return t;
}

TokenTable TokenTable::numbered(int n) {
  TokenTable t;
  t.numbered_ = true;
  t.numbered_n_ = n;
  t.chars_.clear();
  t.offsets_.clear();
  return t;
}

void TokenTable::push_back(std::string_view token) {
  if (numbered_) {  // back to the stored form
    const int n = numbered_n_;
    *this = TokenTable();
    for (int i = 1; i <= n; ++i) push_back(std::to_string(i));
  }
  chars_.append(token);
  offsets_.push_back(chars_.size());
  slots_.clear();
}

void TokenTable::index() {
  if (numbered_) return;
  const size_t n = size() - 1;
  bool numbered = true;
  for (size_t i = 1; i <= n && numbered; ++i) numbered = stored(i) == std::to_string(i);
  if (numbered && n <= size_t(INT32_MAX)) {  // drop the stored names (swap frees the buffers)
    numbered_ = true;
    numbered_n_ = int(n);
    std::string().swap(chars_);
    std::vector<uint64_t>().swap(offsets_);
    std::vector<int32_t>().swap(slots_);
    return;
  }
  size_t cap = 8;
  while (cap < 2 * n) cap *= 2;
  std::vector<int32_t>(cap, 0).swap(slots_);
  const size_t mask = cap - 1;
  for (size_t i = 1; i <= n; ++i) {
    const std::string_view t = stored(i);
    for (size_t s = hash_of(t) & mask;; s = (s + 1) & mask) {
      if (slots_[s] == 0) {
        slots_[s] = int32_t(i);
        break;
      }
      if (stored(size_t(slots_[s])) == t) break;  // a repeat: the first keeps the name
    }
  }
}

std::string TokenTable::operator[](size_t id) const {
  if (!numbered_) return std::string(stored(id));
  return id == 0 ? std::string("[PAD]") : std::to_string(id);
}

int TokenTable::find(std::string_view token) const {
  if (numbered_) {
    if (!canonical_integer(token) || token.size() > 10) return 0;
    const long long v = std::stoll(std::string(token));
    return v >= 1 && v <= numbered_n_ ? int(v) : 0;
  }
  if (slots_.empty()) return 0;
  const size_t mask = slots_.size() - 1;
  for (size_t s = hash_of(token) & mask;; s = (s + 1) & mask) {
    if (slots_[s] == 0) return 0;
    if (stored(size_t(slots_[s])) == token) return slots_[s];
  }
}

bool TokenTable::integers() const {
  if (numbered_) return true;
  for (size_t i = 1; i < size(); ++i)
    if (!canonical_integer(stored(i))) return false;
  return true;
}

std::vector<std::string> TokenTable::to_vector() const {
  std::vector<std::string> out;
  out.reserve(size());
  for (size_t i = 0; i < size(); ++i) out.push_back((*this)[i]);
  return out;
}

size_t TokenTable::memory_bytes() const {
  if (numbered_) return 0;
  return chars_.capacity() + offsets_.capacity() * sizeof(uint64_t) + slots_.capacity() * sizeof(int32_t);
}

}  // namespace s3rec
