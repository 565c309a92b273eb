// The reference implementation's format: NAME.txt, NAME_item2attributes.json, NAME_sample.txt.
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <unordered_map>

#include "data/text_lines.h"
#include "s3rec/dataset.h"

namespace s3rec {
namespace {

constexpr int kMaxWarnings = 5;

void warn(LoadReport* r, const std::string& msg) {
  if (r && int(r->warnings.size()) < kMaxWarnings) r->warnings.push_back(msg);
}

void read_sequences(const std::string& path, Dataset& d, int max_id, LoadReport* report) {
  std::ifstream in(path);
  if (!in) throw DataError(path, 0, "cannot open");
  std::unordered_map<std::string, long> seen;
  std::string line;
  long ln = 0;
  int max_item = 0;
  while (std::getline(in, line)) {
    ++ln;
    const std::string_view l = chomp(line);
    if (is_blank(l)) throw DataError(path, ln, "empty line (expected 'user item item ...')");
    const auto f = split_fields(l);
    long v;
    if (!parse_int(f[0], v)) throw DataError(path, ln, "user id '" + std::string(f[0]) + "' is not an integer");
    const std::string user(f[0]);
    if (auto it = seen.find(user); it != seen.end())
      throw DataError(path, ln, "duplicate user " + user + " (first on line " + std::to_string(it->second) + ")");
    seen.emplace(user, ln);
    std::vector<int> items;
    for (size_t k = 1; k < f.size(); ++k) {
      if (!parse_int(f[k], v) || v < 1)
        throw DataError(path, ln, "item id '" + std::string(f[k]) + "' is not a positive integer");
      if (v > max_id) throw DataError(path, ln, "item id " + std::string(f[k]) + " exceeds " + std::to_string(max_id));
      items.push_back(int(v));
      max_item = std::max(max_item, int(v));
    }
    if (items.size() < 3) {
      if (report) ++report->users_skipped_short;
      warn(report, path + ":" + std::to_string(ln) + ": user " + user + " has " + std::to_string(items.size()) +
                       " items (< 3), skipped");
      continue;
    }
    d.user_tokens.push_back(user);
    d.user_seqs.push_back(std::move(items));
  }
  if (d.user_seqs.empty()) throw DataError(path, 0, "no usable users (every user needs at least 3 items)");
  d.n_items = max_item;
  d.item_tokens.clear();  // the tokens are the ids (Dataset::item_token)
}

// Streams NAME_item2attributes.json ({"item": [attribute, ...], ...}) into (item, attribute)
// pairs without building a document: memory is what the attributes themselves take.
class AttributeSax : public nlohmann::json_sax<nlohmann::json> {
 public:
  AttributeSax(Dataset& d, int max_id) : d_(d), max_id_(max_id) {}
  std::vector<int> items, attributes;  // (item, attribute) pairs, in file order
  std::string error;  // set when parsing stopped on content (not syntax)
  bool parse_failed = false;
  size_t error_byte = 0;
  std::string syntax_message;
  int max_attr = 0;

  bool start_object(std::size_t) override {
    if (depth_ == 0) return ++depth_, true;
    return fail(depth_ == 1 ? "item " + key_ + ": value is not a list of attribute ids"
                            : "item " + key_ + ": attribute {...} is not a positive integer");
  }
  bool key(string_t& k) override {
    long item;
    if (!parse_int(k, item) || item < 1) return fail("key '" + k + "' is not a positive item id");
    key_ = k;
    item_ = item;
    return true;
  }
  bool start_array(std::size_t) override {
    if (depth_ == 1) {
      attrs_.clear();
      return ++depth_, true;
    }
    return fail(depth_ == 0 ? "expected a JSON object {\"item\": [attribute, ...]}"
                            : "item " + key_ + ": attribute [...] is not a positive integer");
  }
  bool end_array() override {
    --depth_;
    if (item_ <= d_.n_items)  // items absent from the data are ignored
      for (int a : attrs_) {
        items.push_back(int(item_));
        attributes.push_back(a);
      }
    return true;
  }
  bool end_object() override { return --depth_, true; }
  bool number_integer(number_integer_t v) override { return attribute(v, std::to_string(v)); }
  bool number_unsigned(number_unsigned_t v) override {
    return attribute(v > number_unsigned_t(1) << 40 ? -1 : number_integer_t(v), std::to_string(v));
  }
  bool number_float(number_float_t, const string_t& s) override { return attribute(-1, s); }
  bool string(string_t& v) override { return attribute(-1, "\"" + v + "\""); }
  bool boolean(bool v) override { return attribute(-1, v ? "true" : "false"); }
  bool null() override { return attribute(-1, "null"); }
  bool binary(binary_t&) override { return attribute(-1, "binary"); }
  bool parse_error(std::size_t position, const std::string&, const nlohmann::detail::exception& e) override {
    parse_failed = true;
    error_byte = position;
    syntax_message = e.what();
    return false;
  }

 private:
  bool fail(const std::string& m) {
    if (error.empty()) error = m;
    return false;
  }
  bool attribute(number_integer_t v, const std::string& text) {
    if (depth_ == 0) return fail("expected a JSON object {\"item\": [attribute, ...]}");
    if (depth_ == 1) return fail("item " + key_ + ": value is not a list of attribute ids");
    if (v < 1) return fail("item " + key_ + ": attribute " + text + " is not a positive integer");
    if (v > max_id_) return fail("item " + key_ + ": attribute " + text + " exceeds " + std::to_string(max_id_));
    attrs_.push_back(int(v));
    max_attr = std::max(max_attr, int(v));
    return true;
  }
  Dataset& d_;
  int max_id_;
  int depth_ = 0;
  std::string key_;
  long item_ = 0;
  std::vector<int> attrs_;
};

long line_of_byte(const std::string& path, size_t byte) {
  std::ifstream in(path, std::ios::binary);
  long line = 1;
  char c;
  for (size_t i = 0; i < byte && in.get(c); ++i) line += c == '\n';
  return line;
}

void read_attributes(const std::string& path, Dataset& d, int max_id, LoadReport* report) {
  d.item_attributes = AttributeTable::from_lists({}, d.n_items + 2);
  if (!std::filesystem::exists(path)) {
    warn(report, path + ": not found, items have no attributes");
    d.attribute_tokens = {"[PAD]"};
    return;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path, 0, "cannot open");
  std::vector<char> buffer(1 << 20);
  in.rdbuf()->pubsetbuf(buffer.data(), std::streamsize(buffer.size()));
  AttributeSax sax(d, max_id);
  const bool ok = nlohmann::json::sax_parse(in, &sax);
  if (!sax.error.empty()) throw DataError(path, 0, sax.error);
  if (sax.parse_failed || !ok)
    throw DataError(path, line_of_byte(path, sax.error_byte), "malformed JSON: " + sax.syntax_message);
  d.item_attributes = AttributeTable::from_pairs(sax.items, sax.attributes, d.n_items + 2);
  const int max_attr = sax.max_attr;
  d.n_attributes = max_attr;
  d.attribute_tokens.resize(size_t(max_attr) + 1);
  d.attribute_tokens[0] = "[PAD]";
  for (int a = 1; a <= max_attr; ++a) d.attribute_tokens[a] = std::to_string(a);
}

void read_samples(const std::string& path, Dataset& d) {
  std::ifstream in(path);
  if (!in) throw DataError(path, 0, "cannot open");
  std::unordered_map<std::string, int> row;
  for (int u = 0; u < d.num_users(); ++u) row.emplace(d.user_tokens[u], u);
  d.sample_negatives.assign(d.user_seqs.size(), {});
  std::vector<char> have(d.user_seqs.size(), 0);
  std::string line;
  long ln = 0;
  size_t width = 0;
  while (std::getline(in, line)) {
    ++ln;
    const std::string_view l = chomp(line);
    if (is_blank(l)) throw DataError(path, ln, "empty line (expected 'user neg neg ...')");
    const auto f = split_fields(l);
    const auto it = row.find(std::string(f[0]));
    if (it == row.end()) continue;  // a user the data skipped (or never had): checked below by count
    if (have[it->second]) throw DataError(path, ln, "duplicate user " + std::string(f[0]));
    have[it->second] = 1;
    if (width == 0) width = f.size() - 1;
    if (f.size() - 1 != width || width == 0)
      throw DataError(path, ln, "expected " + std::to_string(width) + " negatives, found " + std::to_string(f.size() - 1));
    auto& negs = d.sample_negatives[it->second];
    for (size_t k = 1; k < f.size(); ++k) {
      long v;
      if (!parse_int(f[k], v) || v < 1 || v > d.n_items)
        throw DataError(path, ln, "negative '" + std::string(f[k]) + "' is not an item id in 1.." + std::to_string(d.n_items));
      negs.push_back(int(v));
    }
  }
  for (int u = 0; u < d.num_users(); ++u)
    if (!have[u]) throw DataError(path, 0, "no negatives for user " + d.user_tokens[u]);
  d.sample_source = path;
}

}  // namespace

Dataset load_reference_format(const std::string& dir, const std::string& name, const LoadOptions& opt,
                              LoadReport* report) {
  namespace fs = std::filesystem;
  Dataset d;
  d.name = name;
  read_sequences((fs::path(dir) / (name + ".txt")).string(), d, opt.max_id, report);
  read_attributes((fs::path(dir) / (name + "_item2attributes.json")).string(), d, opt.max_id, report);
  const std::string sample = (fs::path(dir) / (name + "_sample.txt")).string();
  if (fs::exists(sample)) {
    read_samples(sample, d);
  } else if (opt.generate_sample_if_missing) {
    generate_samples_or_warn(d, opt, report);
  }
  return d;
}

}  // namespace s3rec
