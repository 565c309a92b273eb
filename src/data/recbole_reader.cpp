// RecBole atomic files: NAME.inter (user_id, item_id, timestamp) and NAME.item
// (item_id plus the item_attribute field(s)). Ids are remapped densely in order
// of first appearance: users and items in .inter file order, attributes in .item
// file order.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <unordered_map>

#include "data/text_lines.h"
#include "s3rec/dataset.h"

namespace s3rec {
namespace {

struct Header {
  std::vector<std::string> names, types;
  int find(const std::string& n) const {
    for (size_t i = 0; i < names.size(); ++i)
      if (names[i] == n) return int(i);
    return -1;
  }
};

Header read_header(const std::string& path, std::ifstream& in) {
  std::string line;
  if (!std::getline(in, line)) throw DataError(path, 1, "empty file (expected a header of name:type fields)");
  Header h;
  for (auto f : split_fields(chomp(line), "\t")) {
    const size_t c = f.find(':');
    if (c == std::string_view::npos || c == 0 || c + 1 == f.size())
      throw DataError(path, 1, "header field '" + std::string(f) + "' is not of the form name:type");
    const std::string type(f.substr(c + 1));
    if (type != "token" && type != "token_seq" && type != "float" && type != "float_seq")
      throw DataError(path, 1, "field '" + std::string(f) + "': type must be token, token_seq, float or float_seq");
    h.names.emplace_back(f.substr(0, c));
    h.types.push_back(type);
  }
  return h;
}

// Splits a data line on tabs, keeping empty fields.
std::vector<std::string_view> tab_fields(std::string_view l) {
  std::vector<std::string_view> out;
  size_t i = 0;
  for (;;) {
    const size_t j = l.find('\t', i);
    out.push_back(l.substr(i, j == std::string_view::npos ? std::string_view::npos : j - i));
    if (j == std::string_view::npos) break;
    i = j + 1;
  }
  return out;
}

int need_field(const Header& h, const std::string& path, const std::string& name) {
  const int i = h.find(name);
  if (i < 0) throw DataError(path, 1, "missing required field '" + name + "'");
  return i;
}

}  // namespace

Dataset load_recbole_atomic(const std::string& dir, const std::string& name, const LoadOptions& opt,
                            LoadReport* report) {
  namespace fs = std::filesystem;
  Dataset d;
  d.name = name;
  const std::string inter = (fs::path(dir) / (name + ".inter")).string();
  std::ifstream in(inter);
  if (!in) throw DataError(inter, 0, "cannot open");
  const Header h = read_header(inter, in);
  const int cu = need_field(h, inter, "user_id"), ci = need_field(h, inter, "item_id"),
            ct = need_field(h, inter, "timestamp");
  std::unordered_map<std::string, int> user_id, item_id;
  struct Event { int user, item; double time; long order; };
  std::vector<Event> events;
  d.item_tokens = {"[PAD]"};
  std::string line;
  long ln = 1;
  while (std::getline(in, line)) {
    ++ln;
    const std::string_view l = chomp(line);
    if (is_blank(l)) throw DataError(inter, ln, "empty line");
    const auto f = tab_fields(l);
    if (f.size() != h.names.size())
      throw DataError(inter, ln, "expected " + std::to_string(h.names.size()) + " tab-separated fields, found " +
                                     std::to_string(f.size()));
    double t;
    try {
      size_t used = 0;
      t = std::stod(std::string(f[ct]), &used);
      if (used != f[ct].size()) throw std::invalid_argument("trailing");
    } catch (const std::exception&) {
      throw DataError(inter, ln, "timestamp '" + std::string(f[ct]) + "' is not a number");
    }
    if (f[cu].empty() || f[ci].empty()) throw DataError(inter, ln, "empty user_id or item_id");
    if (!is_utf8(f[cu]) || !is_utf8(f[ci]))  // tokens are stored in JSON (the model's vocabulary)
      throw DataError(inter, ln, "user_id or item_id is not valid UTF-8");
    auto [uit, unew] = user_id.try_emplace(std::string(f[cu]), int(user_id.size()));
    if (unew) d.user_tokens.emplace_back(f[cu]);
    auto [iit, inew] = item_id.try_emplace(std::string(f[ci]), int(item_id.size()) + 1);
    if (inew) d.item_tokens.emplace_back(f[ci]);
    events.push_back({uit->second, iit->second, t, long(events.size())});
  }
  d.n_items = int(item_id.size());
  // per user, sorted by time, stable for ties
  std::vector<std::vector<std::pair<double, int>>> per(user_id.size());
  for (const Event& e : events) per[e.user].push_back({e.time, e.item});
  std::vector<std::string> kept_tokens;
  for (size_t u = 0; u < per.size(); ++u) {
    std::stable_sort(per[u].begin(), per[u].end(), [](auto& a, auto& b) { return a.first < b.first; });
    if (per[u].size() < 3) {
      if (report) {
        ++report->users_skipped_short;
        if (report->warnings.size() < 5)
          report->warnings.push_back(inter + ": user " + d.user_tokens[u] + " has " + std::to_string(per[u].size()) +
                                     " interactions (< 3), skipped");
      }
      continue;
    }
    std::vector<int> s;
    for (auto& [t, it] : per[u]) s.push_back(it);
    d.user_seqs.push_back(std::move(s));
    kept_tokens.push_back(d.user_tokens[u]);
  }
  d.user_tokens = std::move(kept_tokens);
  if (d.user_seqs.empty()) throw DataError(inter, 0, "no usable users (every user needs at least 3 interactions)");

  // Attributes
  std::vector<std::vector<int>> lists(size_t(d.n_items) + 1);
  d.attribute_tokens = {"[PAD]"};
  const std::string item_file = (fs::path(dir) / (name + ".item")).string();
  if (!opt.item_attribute.empty()) {
    std::ifstream ii(item_file);
    if (!ii) throw DataError(item_file, 0, "cannot open (item_attribute is set, so NAME.item is needed)");
    const Header hi = read_header(item_file, ii);
    const int cid = need_field(hi, item_file, "item_id");
    std::vector<int> cols;
    for (const std::string& a : opt.item_attribute) {
      const int c = need_field(hi, item_file, a);
      if (hi.types[c] != "token" && hi.types[c] != "token_seq")
        throw DataError(item_file, 1, "attribute field '" + a + "' must be token or token_seq, not " + hi.types[c]);
      cols.push_back(c);
    }
    std::unordered_map<std::string, int> attr_id;
    long li = 1;
    while (std::getline(ii, line)) {
      ++li;
      const std::string_view l = chomp(line);
      if (is_blank(l)) throw DataError(item_file, li, "empty line");
      const auto f = tab_fields(l);
      if (f.size() != hi.names.size())
        throw DataError(item_file, li, "expected " + std::to_string(hi.names.size()) + " fields, found " +
                                           std::to_string(f.size()));
      const auto it = item_id.find(std::string(f[cid]));
      if (it == item_id.end()) continue;  // an item nobody interacted with
      std::vector<int>& attrs = lists[size_t(it->second)];
      for (size_t k = 0; k < cols.size(); ++k) {
        const auto values = hi.types[cols[k]] == "token_seq" ? split_fields(f[cols[k]], " ")
                                                             : std::vector<std::string_view>{f[cols[k]]};
        for (auto v : values) {
          if (v.empty()) continue;
          if (!is_utf8(v)) throw DataError(item_file, li, "attribute value is not valid UTF-8");
          // several fields may share a token string: keep them apart by field name
          const std::string key = opt.item_attribute.size() > 1 ? opt.item_attribute[k] + "=" + std::string(v)
                                                                : std::string(v);
          auto [ait, anew] = attr_id.try_emplace(key, int(attr_id.size()) + 1);
          if (anew) d.attribute_tokens.push_back(key);
          attrs.push_back(ait->second);
        }
      }
    }
    d.n_attributes = int(attr_id.size());
  }
  d.item_attributes = AttributeTable::from_lists(lists, d.n_items + 2);
  if (opt.generate_sample_if_missing) {
    generate_samples_or_warn(d, opt, report);
  }
  return d;
}

}  // namespace s3rec
