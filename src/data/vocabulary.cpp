#include "s3rec/vocabulary.h"

#include <algorithm>
#include <cstring>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <stdexcept>

namespace s3rec {
namespace {

using json = nlohmann::json;

// Streams one metadata value into flat arrays (a DOM of a 10M-entry array would take
// gigabytes): a JSON array of strings into a TokenTable (entry 0, "[PAD]", skipped), or
// a JSON array of arrays of non-negative integers into an AttributeTable.
class MetadataReader : public nlohmann::json_sax<json> {
 public:
  MetadataReader(TokenTable* tokens, AttributeTable* lists) : tokens_(tokens), lists_(lists) {}

  void read(const std::string& text, const std::string& key) {
    key_ = key;
    json::sax_parse(text, this);
    if (!done_) fail("incomplete value");
  }

  bool null() override { return fail("unexpected null"); }
  bool boolean(bool) override { return fail("unexpected boolean"); }
  bool number_integer(number_integer_t v) override { return v < 0 ? fail("negative id") : id(uint64_t(v)); }
  bool number_unsigned(number_unsigned_t v) override { return id(v); }
  bool number_float(number_float_t, const string_t&) override { return fail("expected integer ids"); }
  bool string(string_t& s) override {
    if (!tokens_ || depth_ != 1) return fail("unexpected string");
    if (seen_++ > 0) tokens_->push_back(s);  // entry 0 is "[PAD]"
    return true;
  }
  bool binary(binary_t&) override { return fail("unexpected binary value"); }
  bool start_object(std::size_t) override { return fail("unexpected object"); }
  bool key(string_t&) override { return fail("unexpected object"); }
  bool end_object() override { return fail("unexpected object"); }
  bool start_array(std::size_t) override {
    if (done_ || depth_ > (lists_ ? 1 : 0)) return fail("arrays nested too deep");
    ++depth_;
    return true;
  }
  bool end_array() override {
    if (--depth_ == 0) {
      done_ = true;
    } else {  // one item's list: sorted, each attribute once
      const auto b = lists_->attrs.begin() + lists_->offsets.back();
      std::sort(b, lists_->attrs.end());
      lists_->attrs.erase(std::unique(b, lists_->attrs.end()), lists_->attrs.end());
      lists_->offsets.push_back(int(lists_->attrs.size()));
    }
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) override {
    return fail(e.what());
  }

 private:
  bool id(uint64_t v) {
    if (!lists_ || depth_ != 2) return fail("unexpected number");
    if (v > uint64_t(INT32_MAX)) return fail("attribute id out of range");
    lists_->attrs.push_back(int(v));
    return true;
  }
  bool fail(const std::string& what) {
    throw std::runtime_error(key_ + ": " + what +
                             (lists_ ? " (item_attributes must hold lists of attribute ids)" : ""));
  }
  TokenTable* tokens_;
  AttributeTable* lists_;
  std::string key_;
  int depth_ = 0;
  size_t seen_ = 0;
  bool done_ = false;
};

}  // namespace

Vocabulary Vocabulary::from_dataset(const Dataset& d) {
  Vocabulary v;
  for (int i = 1; i <= d.n_items; ++i)
    if (size_t(i) < d.item_tokens.size() && !d.item_tokens[size_t(i)].empty())
      v.item_tokens.push_back(d.item_tokens[size_t(i)]);
    else
      v.item_tokens.push_back(std::to_string(i));
  v.item_tokens.index();
  for (int a = 1; a <= d.n_attributes; ++a)
    if (size_t(a) < d.attribute_tokens.size() && !d.attribute_tokens[size_t(a)].empty())
      v.attribute_tokens.push_back(d.attribute_tokens[size_t(a)]);
    else
      v.attribute_tokens.push_back(std::to_string(a));
  v.attribute_tokens.index();
  // rows 0..N of the dataset's table (which also has the mask token's row, or fewer rows)
  for (int i = 0; i <= d.n_items; ++i) {
    if (i < d.item_attributes.rows()) {
      const auto a = d.item_attributes.of(i);
      v.item_attributes.attrs.insert(v.item_attributes.attrs.end(), a.begin(), a.end());
    }
    v.item_attributes.offsets.push_back(int(v.item_attributes.attrs.size()));
  }
  return v;
}

Vocabulary Vocabulary::identity(int n_items, int n_attributes) {
  Vocabulary v;
  v.item_tokens = TokenTable::numbered(n_items);
  v.attribute_tokens = TokenTable::numbered(n_attributes);
  v.item_attributes.offsets.assign(size_t(n_items) + 2, 0);
  return v;
}

std::map<std::string, std::string> Vocabulary::to_metadata() const {
  json lists = json::array();
  for (size_t i = 0; i < item_attributes.size(); ++i) {
    const auto a = item_attributes.of(int(i));
    lists.push_back(std::vector<int>(a.begin(), a.end()));
  }
  return {{"item_tokens", json(item_tokens.to_vector()).dump()},
          {"attribute_tokens", json(attribute_tokens.to_vector()).dump()},
          {"item_attributes", lists.dump()}};
}

bool Vocabulary::from_metadata(const std::map<std::string, std::string>& meta, const std::string& source) {
  const auto it = meta.find("item_tokens");
  if (it == meta.end()) return false;
  Vocabulary v;
  v.item_attributes.offsets.clear();  // one offset per list read, after this first one
  v.item_attributes.offsets.push_back(0);
  try {
    const auto at = meta.find("attribute_tokens"), ia = meta.find("item_attributes");
    if (at == meta.end() || ia == meta.end()) throw std::runtime_error("attribute_tokens or item_attributes missing");
    MetadataReader(&v.item_tokens, nullptr).read(it->second, "item_tokens");
    MetadataReader(&v.attribute_tokens, nullptr).read(at->second, "attribute_tokens");
    MetadataReader(nullptr, &v.item_attributes).read(ia->second, "item_attributes");
  } catch (const std::exception& e) {
    throw std::runtime_error(source + ": bad vocabulary metadata: " + e.what());
  }
  v.item_tokens.index();
  v.attribute_tokens.index();
  if (v.item_attributes.size() != v.item_tokens.size())
    throw std::runtime_error(source + ": vocabulary metadata: item_attributes and item_tokens differ in length");
  for (int a : v.item_attributes.attrs)
    if (a < 0 || a >= int(v.attribute_tokens.size()))
      throw std::runtime_error(source + ": vocabulary metadata: attribute id " + std::to_string(a) + " out of range");
  *this = std::move(v);
  return true;
}

namespace {

template <typename T>
StTensor owned(const std::string& dtype, const std::vector<T>& v) {
  StTensor t;
  t.dtype = dtype;
  t.shape = {int64_t(v.size())};
  t.bytes.resize(v.size() * sizeof(T));
  if (!v.empty()) std::memcpy(t.bytes.data(), v.data(), t.bytes.size());
  return t;
}

// A 1-D tensor of f named `name` with dtype `dtype`, read whole; nullptr-safe checks.
template <typename T>
std::vector<T> read_1d(const StReader& f, const std::string& name, const std::string& dtype) {
  const StTensor* t = f.find(name);
  if (!t) throw std::runtime_error("tensor " + name + " missing");
  if (t->dtype != dtype || t->shape.size() != 1)
    throw std::runtime_error("tensor " + name + " is " + t->dtype + " " + shape_text(t->shape) + ", expected 1-D " + dtype);
  std::vector<T> v(size_t(t->shape[0]));
  if (!v.empty()) f.read_into(name, v.data());
  return v;
}

}  // namespace

Vocabulary::Stored Vocabulary::to_checkpoint(size_t max_json_bytes) const {
  // the JSON's size, at least: quotes, commas and escaped quotes around each name, digits of ids
  size_t json = 0;
  for (size_t i = 0; i < item_tokens.size() && json <= max_json_bytes; ++i) json += item_tokens[i].size() + 5;
  for (size_t a = 0; a < attribute_tokens.size(); ++a) json += attribute_tokens[a].size() + 5;
  json += 3 * item_attributes.size() + 2 * item_attributes.pairs();
  if (json <= max_json_bytes) return {to_metadata(), {}};
  Stored s;
  s.metadata["vocabulary"] = "tensors";
  s.metadata["attribute_tokens"] = nlohmann::json(attribute_tokens.to_vector()).dump();
  if (item_tokens.is_numbered()) {
    s.metadata["item_tokens_numbered"] = std::to_string(n_items());
  } else {
    std::string chars;
    std::vector<int64_t> offsets{0};
    for (size_t i = 1; i < item_tokens.size(); ++i) {
      chars += item_tokens[i];
      offsets.push_back(int64_t(chars.size()));
    }
    s.tensors["vocabulary.item_token_bytes"] = owned("U8", std::vector<uint8_t>(chars.begin(), chars.end()));
    s.tensors["vocabulary.item_token_offsets"] = owned("I64", offsets);
  }
  s.tensors["vocabulary.item_attribute_offsets"] =
      owned("I64", std::vector<int64_t>(item_attributes.offsets.begin(), item_attributes.offsets.end()));
  s.tensors["vocabulary.item_attribute_ids"] = owned("I32", item_attributes.attrs);
  return s;
}

bool Vocabulary::from_checkpoint(const StReader& f) {
  const auto& meta = f.metadata();
  const auto kind = meta.find("vocabulary");
  if (kind == meta.end()) return from_metadata(meta, f.path());
  Vocabulary v;
  try {
    if (kind->second != "tensors") throw std::runtime_error("unknown form '" + kind->second + "'");
    const auto at = meta.find("attribute_tokens");
    if (at == meta.end()) throw std::runtime_error("attribute_tokens missing");
    MetadataReader(&v.attribute_tokens, nullptr).read(at->second, "attribute_tokens");
    v.attribute_tokens.index();
    const auto numbered = meta.find("item_tokens_numbered");
    if (numbered != meta.end()) {
      const std::string& t = numbered->second;
      if (t.empty() || t.size() > 10 || t.find_first_not_of("0123456789") != std::string::npos ||
          std::stoll(t) > INT32_MAX)
        throw std::runtime_error("item_tokens_numbered must be a count of items, got '" + t + "'");
      const long long n = std::stoll(t);
      v.item_tokens = TokenTable::numbered(int(n));
    } else {
      const auto chars = read_1d<uint8_t>(f, "vocabulary.item_token_bytes", "U8");
      const auto offsets = read_1d<int64_t>(f, "vocabulary.item_token_offsets", "I64");
      if (offsets.empty() || offsets.front() != 0 || offsets.back() != int64_t(chars.size()) ||
          offsets.size() - 1 > size_t(INT32_MAX))
        throw std::runtime_error("vocabulary.item_token_offsets must run from 0 to the number of bytes");
      for (size_t i = 1; i < offsets.size(); ++i) {
        if (offsets[i] < offsets[i - 1]) throw std::runtime_error("vocabulary.item_token_offsets decrease at " + std::to_string(i));
        if (offsets[i] > int64_t(chars.size()))  // checked before the name is read, not only at the end
          throw std::runtime_error("vocabulary.item_token_offsets run past the " + std::to_string(chars.size()) +
                                   " bytes at " + std::to_string(i));
        v.item_tokens.push_back(std::string_view(reinterpret_cast<const char*>(chars.data()) + offsets[i - 1],
                                                 size_t(offsets[i] - offsets[i - 1])));
      }
      v.item_tokens.index();
    }
    const auto rows = read_1d<int64_t>(f, "vocabulary.item_attribute_offsets", "I64");
    v.item_attributes.attrs = read_1d<int32_t>(f, "vocabulary.item_attribute_ids", "I32");
    if (rows.size() != v.item_tokens.size() + 1)
      throw std::runtime_error("vocabulary.item_attribute_offsets has " + std::to_string(rows.size()) +
                               " entries for " + std::to_string(v.item_tokens.size()) + " items (with [PAD]), expected one more");
    if (v.item_attributes.attrs.size() > size_t(INT32_MAX))
      throw std::runtime_error("vocabulary.item_attribute_ids holds more than 2^31 ids");
    if (rows.front() != 0 || rows.back() != int64_t(v.item_attributes.attrs.size()))
      throw std::runtime_error("vocabulary.item_attribute_offsets must run from 0 to the number of ids");
    v.item_attributes.offsets.assign(rows.size(), 0);
    for (size_t i = 0; i < rows.size(); ++i) {
      if (i > 0 && rows[i] < rows[i - 1])
        throw std::runtime_error("vocabulary.item_attribute_offsets decrease at " + std::to_string(i));
      v.item_attributes.offsets[i] = int(rows[i]);
    }
    for (int a : v.item_attributes.attrs)
      if (a < 0 || a >= int(v.attribute_tokens.size()))
        throw std::runtime_error("attribute id " + std::to_string(a) + " out of range");
  } catch (const std::exception& e) {
    throw std::runtime_error(f.path() + ": bad vocabulary: " + e.what());
  }
  *this = std::move(v);
  return true;
}

size_t Vocabulary::memory_bytes() const {
  return item_tokens.memory_bytes() + attribute_tokens.memory_bytes() +
         (item_attributes.offsets.capacity() + item_attributes.attrs.capacity()) * sizeof(int);
}

}  // namespace s3rec
