#include "s3rec/vocabulary.h"

#include <algorithm>
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

size_t Vocabulary::memory_bytes() const {
  return item_tokens.memory_bytes() + attribute_tokens.memory_bytes() +
         (item_attributes.offsets.capacity() + item_attributes.attrs.capacity()) * sizeof(int);
}

}  // namespace s3rec
