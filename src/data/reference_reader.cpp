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

long json_error_line(const std::string& text, size_t byte) {
  return 1 + long(std::count(text.begin(), text.begin() + long(std::min(byte, text.size())), '\n'));
}

void read_sequences(const std::string& path, Dataset& d, LoadReport* report) {
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
      if (!parse_int(f[k], v) || v < 1 || v > 100000000)
        throw DataError(path, ln, "item id '" + std::string(f[k]) + "' is not a positive integer");
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
  d.item_tokens.resize(size_t(max_item) + 1);
  d.item_tokens[0] = "[PAD]";
  for (int i = 1; i <= max_item; ++i) d.item_tokens[i] = std::to_string(i);
}

void read_attributes(const std::string& path, Dataset& d, LoadReport* report) {
  d.item_attributes.assign(size_t(d.n_items) + 1, {});
  if (!std::filesystem::exists(path)) {
    warn(report, path + ": not found, items have no attributes");
    d.attribute_tokens = {"[PAD]"};
    return;
  }
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string text = ss.str();
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    throw DataError(path, json_error_line(text, e.byte), std::string("malformed JSON: ") + e.what());
  }
  if (!j.is_object()) throw DataError(path, 1, "expected a JSON object {\"item\": [attribute, ...]}");
  int max_attr = 0;
  for (auto it = j.begin(); it != j.end(); ++it) {
    long item;
    if (!parse_int(it.key(), item) || item < 1)
      throw DataError(path, 0, "key '" + it.key() + "' is not a positive item id");
    if (!it.value().is_array()) throw DataError(path, 0, "item " + it.key() + ": value is not a list of attribute ids");
    std::vector<int> attrs;
    for (const auto& a : it.value()) {
      if (!a.is_number_integer() || a.get<long>() < 1)
        throw DataError(path, 0, "item " + it.key() + ": attribute " + a.dump() + " is not a positive integer");
      attrs.push_back(a.get<int>());
      max_attr = std::max(max_attr, a.get<int>());
    }
    if (item <= d.n_items) d.item_attributes[item] = std::move(attrs);  // items absent from the data are ignored
  }
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
  read_sequences((fs::path(dir) / (name + ".txt")).string(), d, report);
  read_attributes((fs::path(dir) / (name + "_item2attributes.json")).string(), d, report);
  const std::string sample = (fs::path(dir) / (name + "_sample.txt")).string();
  if (fs::exists(sample)) {
    read_samples(sample, d);
  } else if (opt.generate_sample_if_missing) {
    generate_samples_or_warn(d, opt, report);
  }
  return d;
}

}  // namespace s3rec
