#include "s3rec/prepare.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <unordered_map>
#include <unordered_set>

#include "data/text_lines.h"
#include "util/atomic_write.h"

namespace s3rec {

namespace fs = std::filesystem;

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

char default_sep(const std::string& path, char given) {
  if (given) return given;
  return ends_with(path, ".csv") ? ',' : '\t';
}

// One delimited line into fields. With ',' fields may be double-quoted ("" is a quote).
// Returns false on an unterminated quote.
bool split_line(std::string_view line, char sep, std::vector<std::string>& out) {
  out.clear();
  std::string cur;
  size_t i = 0;
  for (;;) {
    cur.clear();
    if (sep == ',' && i < line.size() && line[i] == '"') {
      ++i;
      for (;;) {
        if (i >= line.size()) return false;
        if (line[i] == '"') {
          if (i + 1 < line.size() && line[i + 1] == '"') {
            cur += '"';
            i += 2;
          } else {
            ++i;
            break;
          }
        } else {
          cur += line[i++];
        }
      }
      while (i < line.size() && line[i] != sep) cur += line[i++];
    } else {
      while (i < line.size() && line[i] != sep) cur += line[i++];
    }
    out.push_back(cur);
    if (i >= line.size()) return true;
    ++i;  // the separator
  }
}

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t\r");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t\r") - a + 1);
}

// Header names without RecBole's ":type" suffix.
std::vector<std::string> header_names(const std::vector<std::string>& fields) {
  std::vector<std::string> names;
  for (const auto& f : fields) {
    std::string n = trim(f);
    const size_t colon = n.rfind(':');
    if (colon != std::string::npos) {
      const std::string type = n.substr(colon + 1);
      if (type == "token" || type == "token_seq" || type == "float" || type == "float_seq") n = n.substr(0, colon);
    }
    names.push_back(n);
  }
  return names;
}

int column(const std::vector<std::string>& names, const std::string& want, const std::string& file,
           const std::string& option) {
  for (size_t i = 0; i < names.size(); ++i)
    if (names[i] == want) return int(i);
  std::string have;
  for (const auto& n : names) have += (have.empty() ? "" : ", ") + n;
  throw DataError(file, 1, "no column '" + want + "' (set it with --" + option + "); columns: " + have);
}

struct TableReader {
  std::ifstream in;
  std::string path;
  char sep;
  long line_no = 0;
  std::vector<std::string> names;
  TableReader(const std::string& p, char s) : in(p), path(p), sep(s) {
    if (!in) throw DataError(p, 0, "cannot open");
    std::string header;
    if (!std::getline(in, header)) throw DataError(p, 1, "empty file (a header line is expected)");
    ++line_no;
    std::vector<std::string> f;
    if (!split_line(chomp(header), sep, f)) throw DataError(p, 1, "unterminated quote in the header");
    names = header_names(f);
  }
  // Next non-blank line split into fields; false at the end. ok=false: unterminated quote.
  bool next(std::vector<std::string>& fields, bool& ok) {
    std::string line;
    while (std::getline(in, line)) {
      ++line_no;
      if (is_blank(line)) continue;
      ok = split_line(chomp(line), sep, fields);
      return true;
    }
    return false;
  }
};

bool parse_time(const std::string& s, double& t) {
  const std::string v = trim(s);
  if (v.empty()) return false;
  char* end = nullptr;
  t = std::strtod(v.c_str(), &end);
  return end == v.c_str() + v.size() && std::isfinite(t);
}

bool all_integers(const std::vector<std::string>& tokens) {
  for (const auto& t : tokens) {
    long v;
    if (!parse_int(t, v)) return false;
  }
  return true;
}

void note(Prepared& p, const PrepareOptions& o, const std::string& file, long line, const std::string& what) {
  ++p.stats.rows_bad;
  if (int(p.problems.size()) < o.max_reported) p.problems.push_back(file + ":" + std::to_string(line) + ": " + what);
}

std::vector<Interaction> read_interactions(const PrepareOptions& o, Prepared& p) {
  TableReader t(o.input, default_sep(o.input, o.sep));
  const int cu = column(t.names, o.user_field, o.input, "user_field");
  const int ci = column(t.names, o.item_field, o.input, "item_field");
  const int ct = o.time_field.empty() ? -1 : column(t.names, o.time_field, o.input, "time_field");
  const size_t need = size_t(std::max({cu, ci, ct})) + 1;
  std::vector<Interaction> rows;
  std::vector<std::string> f;
  bool ok = true;
  while (t.next(f, ok)) {
    ++p.stats.rows_read;
    if (!ok) {
      note(p, o, o.input, t.line_no, "unterminated quote");
      continue;
    }
    if (f.size() < need) {
      note(p, o, o.input, t.line_no,
           "expected at least " + std::to_string(need) + " fields, found " + std::to_string(f.size()));
      continue;
    }
    Interaction r{trim(f[size_t(cu)]), trim(f[size_t(ci)]), 0.0, t.line_no};
    if (r.user.empty() || r.item.empty()) {
      note(p, o, o.input, t.line_no, std::string("empty ") + (r.user.empty() ? "user" : "item"));
      continue;
    }
    if (!is_utf8(r.user) || !is_utf8(r.item)) {  // the vocabulary is JSON
      note(p, o, o.input, t.line_no, std::string(is_utf8(r.user) ? "item" : "user") + " is not valid UTF-8");
      continue;
    }
    if (ct >= 0 && !parse_time(f[size_t(ct)], r.time)) {
      note(p, o, o.input, t.line_no, "timestamp '" + f[size_t(ct)] + "' is not a number");
      continue;
    }
    rows.push_back(std::move(r));
  }
  return rows;
}

RawAttributes read_attributes(const PrepareOptions& o, Prepared& p) {
  RawAttributes out;
  if (o.items.empty()) return out;
  const bool several = o.item_attribute.size() > 1;
  auto add_values = [&](const std::string& item, const std::string& field, const std::string& text, char sep) {
    std::vector<std::string> parts;
    split_line(text, sep, parts);
    for (const auto& v : parts) {
      const std::string x = trim(v);
      if (!x.empty()) out[item].push_back(several ? field + "=" + x : x);
    }
  };
  if (ends_with(o.items, ".json")) {
    std::ifstream in(o.items);
    if (!in) throw DataError(o.items, 0, "cannot open");
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {  // parse_error, and out_of_range for a number like 1e400
      throw DataError(o.items, 0, std::string("malformed JSON: ") + e.what());
    }
    auto value_tokens = [&](const std::string& item, const std::string& field, const nlohmann::json& v) {
      const auto one = [&](const nlohmann::json& x) {
        std::string s = x.is_string() ? x.get<std::string>() : x.dump();
        if (!s.empty()) out[item].push_back(several ? field + "=" + s : s);
      };
      if (v.is_array())
        for (const auto& x : v) one(x);
      else if (!v.is_null())
        one(v);
    };
    if (j.is_object()) {  // {"item": [attr, ...]}, the reference format's item2attributes
      for (const auto& [item, v] : j.items()) {
        out[item];
        value_tokens(item, "", v);
      }
    } else if (j.is_array()) {  // [{"item_id": ..., "genre": [...]}, ...]
      if (o.item_attribute.empty()) throw DataError(o.items, 0, "name the attribute field(s) with --item_attribute");
      long idx = 0;
      for (const auto& rec : j) {
        ++idx;
        if (!rec.is_object() || !rec.contains(o.item_field)) {
          note(p, o, o.items, idx, "record without '" + o.item_field + "'");
          continue;
        }
        const auto& id = rec[o.item_field];
        const std::string item = id.is_string() ? id.get<std::string>() : id.dump();
        out[item];
        for (const auto& field : o.item_attribute)
          if (rec.contains(field)) value_tokens(item, field, rec[field]);
      }
    } else {
      throw DataError(o.items, 0, "expected a JSON object {item: [attributes]} or an array of records");
    }
    return out;
  }
  if (o.item_attribute.empty()) throw DataError(o.items, 1, "name the attribute column(s) with --item_attribute");
  TableReader t(o.items, default_sep(o.items, o.items_sep));
  const char attr_sep = o.attr_sep ? o.attr_sep : (ends_with(o.items, ".item") ? ' ' : '|');
  const int ci = column(t.names, o.item_field, o.items, "item_field");
  std::vector<int> ca;
  for (const auto& a : o.item_attribute) ca.push_back(column(t.names, a, o.items, "item_attribute"));
  size_t need = size_t(ci) + 1;
  for (int c : ca) need = std::max(need, size_t(c) + 1);
  std::vector<std::string> f;
  bool ok = true;
  while (t.next(f, ok)) {
    if (!ok || f.size() < need) {
      note(p, o, o.items, t.line_no, ok ? "too few fields" : "unterminated quote");
      continue;
    }
    if (!std::all_of(ca.begin(), ca.end(), [&](int c) { return is_utf8(f[size_t(c)]); })) {
      note(p, o, o.items, t.line_no, "attribute value is not valid UTF-8");
      continue;
    }
    const std::string item = trim(f[size_t(ci)]);
    out[item];
    for (size_t a = 0; a < ca.size(); ++a) add_values(item, o.item_attribute[a], f[size_t(ca[a])], attr_sep);
  }
  return out;
}

}  // namespace

int kcore_filter(std::vector<Interaction>& rows, int k) {
  int rounds = 0;
  for (;;) {
    std::unordered_map<std::string, long> nu, ni;
    for (const auto& r : rows) {
      ++nu[r.user];
      ++ni[r.item];
    }
    const size_t before = rows.size();
    std::erase_if(rows, [&](const Interaction& r) { return nu[r.user] < k || ni[r.item] < k; });
    if (rows.size() == before) return rounds;
    ++rounds;
  }
}

Prepared prepare_dataset(const PrepareOptions& o) {
  if (o.k < 1) throw std::invalid_argument("--k must be >= 1");
  Prepared p;
  std::vector<Interaction> rows = read_interactions(o, p);
  const RawAttributes raw_attrs = read_attributes(o, p);
  prepare_interactions(std::move(rows), raw_attrs, o, p);
  return p;
}

void prepare_interactions(std::vector<Interaction> rows, const RawAttributes& raw_attrs, const PrepareOptions& o,
                          Prepared& p) {
  if (o.k < 1) throw std::invalid_argument("--k must be >= 1");
  // chronological per user: time, then file order
  std::stable_sort(rows.begin(), rows.end(), [](const Interaction& a, const Interaction& b) {
    return a.user != b.user ? a.user < b.user : a.time < b.time;
  });
  if (o.dedup) {
    std::unordered_set<std::string> seen;
    const size_t before = rows.size();
    std::erase_if(rows, [&](const Interaction& r) { return !seen.insert(r.user + '\x1f' + r.item).second; });
    p.stats.duplicates_dropped = long(before - rows.size());
  }
  std::unordered_set<std::string> users0, items0;
  for (const auto& r : rows) {
    users0.insert(r.user);
    items0.insert(r.item);
  }
  const size_t actions0 = rows.size();
  p.stats.kcore_rounds = kcore_filter(rows, o.k);
  // leave-one-out needs 3 items per user; with k < 3 shorter users are dropped too
  if (o.k < 3) {
    std::unordered_map<std::string, long> nu;
    for (const auto& r : rows) ++nu[r.user];
    std::erase_if(rows, [&](const Interaction& r) { return nu[r.user] < 3; });
  }
  if (rows.empty()) throw DataError(o.input, 0, "no interactions left after filtering (k = " + std::to_string(o.k) + ")");

  // users in documented order
  std::map<std::string, std::vector<const Interaction*>> by_user;
  for (const auto& r : rows) by_user[r.user].push_back(&r);
  std::vector<std::string> users;
  for (const auto& [u, v] : by_user) users.push_back(u);
  if (all_integers(users))
    std::sort(users.begin(), users.end(), [](const std::string& a, const std::string& b) {
      return std::stol(a) < std::stol(b);
    });
  Dataset& d = p.data;
  d.name = o.dataset;
  d.item_tokens = {"[PAD]"};
  std::unordered_map<std::string, int> item_id;
  for (const auto& u : users) {
    std::vector<int> seq;
    for (const Interaction* r : by_user[u]) {
      auto [it, fresh] = item_id.emplace(r->item, int(d.item_tokens.size()));
      if (fresh) d.item_tokens.push_back(r->item);
      seq.push_back(it->second);
    }
    d.user_seqs.push_back(std::move(seq));
    d.user_tokens.push_back(u);
  }
  d.n_items = int(d.item_tokens.size()) - 1;

  d.attribute_tokens = {"[PAD]"};
  std::vector<std::vector<int>> lists(size_t(d.n_items) + 1);
  std::unordered_map<std::string, int> attr_id;
  for (int i = 1; i <= d.n_items; ++i) {
    const auto it = raw_attrs.find(d.item_tokens[size_t(i)]);
    if (it == raw_attrs.end()) continue;
    for (const auto& a : it->second) {
      auto [at, fresh] = attr_id.emplace(a, int(d.attribute_tokens.size()));
      if (fresh) d.attribute_tokens.push_back(a);
      auto& list = lists[size_t(i)];
      if (std::find(list.begin(), list.end(), at->second) == list.end()) list.push_back(at->second);
    }
  }
  d.n_attributes = int(d.attribute_tokens.size()) - 1;
  d.item_attributes = AttributeTable::from_lists(lists, d.n_items + 2);

  PrepareStats& s = p.stats;
  s.users = d.num_users();
  s.items = d.n_items;
  s.actions = d.num_actions();
  s.users_removed = long(users0.size()) - s.users;
  s.items_removed = long(items0.size()) - s.items;
  s.actions_removed = long(actions0) - s.actions;
  s.attributes = d.n_attributes;
  s.avg_actions_per_user = double(s.actions) / double(s.users);
  s.avg_actions_per_item = double(s.actions) / double(s.items);
  s.sparsity = 1.0 - double(s.actions) / (double(s.users) * double(s.items));
  long pairs = 0;
  for (int i = 1; i <= d.n_items; ++i) {
    pairs += long(d.item_attributes[size_t(i)].size());
    s.items_without_attributes += d.item_attributes[size_t(i)].empty();
  }
  s.avg_attributes_per_item = double(pairs) / double(s.items);

  LoadOptions lo;
  lo.sample_seed = o.seed;
  LoadReport rep;
  generate_samples_or_warn(d, lo, &rep);
  for (const auto& w : rep.warnings) p.problems.push_back(w);
}

std::string format_stats(const PrepareStats& s) {
  char buf[1024];
  std::snprintf(buf, sizeof buf,
                "users %ld, items %ld, actions %ld, avg actions/user %.2f, avg actions/item %.2f, sparsity %.2f%%, "
                "attributes %ld, avg attributes/item %.2f\n"
                "read %ld rows (%ld bad), %ld duplicates dropped, k-core removed %ld users, %ld items, %ld actions "
                "in %d rounds; %ld items without attributes",
                s.users, s.items, s.actions, s.avg_actions_per_user, s.avg_actions_per_item, 100.0 * s.sparsity,
                s.attributes, s.avg_attributes_per_item, s.rows_read, s.rows_bad, s.duplicates_dropped,
                s.users_removed, s.items_removed, s.actions_removed, s.kcore_rounds, s.items_without_attributes);
  return buf;
}

void write_prepared(const Prepared& p, const PrepareOptions& o) {
  fs::create_directories(o.output);
  const Dataset& d = p.data;
  const auto path = [&](const std::string& suffix) { return (fs::path(o.output) / (o.dataset + suffix)).string(); };
  std::string text;
  for (int u = 0; u < d.num_users(); ++u) {
    text += std::to_string(u + 1);
    for (int it : d.user_seqs[size_t(u)]) text += ' ' + std::to_string(it);
    text += '\n';
  }
  write_file_atomic(path(".txt"), text);
  nlohmann::json attrs = nlohmann::json::object();
  for (int i = 1; i <= d.n_items; ++i)
    if (!d.item_attributes[size_t(i)].empty()) attrs[std::to_string(i)] = std::vector<int>(
        d.item_attributes[size_t(i)].begin(), d.item_attributes[size_t(i)].end());
  write_file_atomic(path("_item2attributes.json"), attrs.dump());
  if (!d.sample_negatives.empty()) {
    Dataset numbered = d;  // the sample file names users by their new ids
    for (int u = 0; u < numbered.num_users(); ++u) numbered.user_tokens[size_t(u)] = std::to_string(u + 1);
    numbered.item_tokens.clear();  // and items by their ids
    write_sample_file(path("_sample.txt"), numbered);
  }
  nlohmann::ordered_json vocab;
  vocab["users"] = d.user_tokens;
  vocab["items"] = std::vector<std::string>(d.item_tokens.begin() + 1, d.item_tokens.end());
  vocab["attributes"] = std::vector<std::string>(d.attribute_tokens.begin() + 1, d.attribute_tokens.end());
  vocab["note"] = "entry j (0-based) of each list is the raw token of id j+1";
  write_file_atomic(path("_vocab.json"), vocab.dump() + "\n");
  const PrepareStats& s = p.stats;
  nlohmann::ordered_json st = {{"users", s.users}, {"items", s.items}, {"actions", s.actions},
                               {"avg_actions_per_user", s.avg_actions_per_user},
                               {"avg_actions_per_item", s.avg_actions_per_item}, {"sparsity", s.sparsity},
                               {"attributes", s.attributes}, {"avg_attributes_per_item", s.avg_attributes_per_item},
                               {"items_without_attributes", s.items_without_attributes},
                               {"rows_read", s.rows_read}, {"rows_bad", s.rows_bad},
                               {"duplicates_dropped", s.duplicates_dropped}, {"k", o.k},
                               {"kcore_rounds", s.kcore_rounds}, {"users_removed", s.users_removed},
                               {"items_removed", s.items_removed}, {"actions_removed", s.actions_removed}};
  write_file_atomic(path("_stats.json"), st.dump(1) + "\n");
}

}  // namespace s3rec
