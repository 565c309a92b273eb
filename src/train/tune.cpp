#include "s3rec/tune.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "s3rec/config.h"
#include "s3rec/dataset.h"
#include "s3rec/rng.h"

namespace s3rec {

namespace {

std::string trim(const std::string& s) {
  const size_t a = s.find_first_not_of(" \t\r");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t\r") - a + 1);
}

std::string unquote(const std::string& s) {
  if (s.size() >= 2 && (s[0] == '\'' || s[0] == '"') && s.back() == s[0]) return s.substr(1, s.size() - 2);
  return s;
}

// "[a, 'b,c', [1,2]]" -> {a, b,c, [1,2]}: commas split at depth 0 outside quotes
bool split_choices(const std::string& text, std::vector<std::string>& out) {
  const std::string t = trim(text);
  if (t.size() < 2 || t.front() != '[' || t.back() != ']') return false;
  std::string cur;
  int depth = 0;
  char quote = 0;
  for (size_t i = 1; i + 1 < t.size(); ++i) {
    const char c = t[i];
    if (quote) {
      if (c == quote) quote = 0;
      cur += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      cur += c;
    } else if (c == '[') {
      ++depth;
      cur += c;
    } else if (c == ']') {
      --depth;
      cur += c;
    } else if (c == ',' && depth == 0) {
      out.push_back(unquote(trim(cur)));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (quote || depth != 0) return false;
  if (!trim(cur).empty()) out.push_back(unquote(trim(cur)));
  return true;
}

bool parse_numbers(const std::string& text, std::vector<double>& out) {
  std::string t = text;
  for (char& c : t)
    if (c == ',') c = ' ';
  std::istringstream in(t);
  std::string tok;
  while (in >> tok) {
    char* end = nullptr;
    const double v = std::strtod(tok.c_str(), &end);
    if (end != tok.c_str() + tok.size() || !std::isfinite(v)) return false;
    out.push_back(v);
  }
  return true;
}

std::string format_number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace

std::vector<SearchParam> parse_search_space_text(const std::string& text, const std::string& source) {
  const std::vector<std::string> keys = config_keys();
  std::vector<SearchParam> out;
  std::istringstream in(text);
  std::string line;
  long no = 0;
  while (std::getline(in, line)) {
    ++no;
    const size_t hash = line.find('#');
    if (hash != std::string::npos) line = line.substr(0, hash);
    line = trim(line);
    if (line.empty()) continue;
    std::istringstream ls(line);
    SearchParam p;
    std::string kind;
    ls >> p.name >> kind;
    std::string rest;
    std::getline(ls, rest);
    if (std::find(keys.begin(), keys.end(), p.name) == keys.end())
      throw DataError(source, no, "unknown configuration key '" + p.name + "' (see s3rec finetune --help)");
    for (const auto& q : out)
      if (q.name == p.name) throw DataError(source, no, "'" + p.name + "' is given twice");
    if (kind == "choice") {
      p.kind = SearchParam::Kind::Choice;
      if (!split_choices(rest, p.choices) || p.choices.empty())
        throw DataError(source, no, "choice needs a non-empty list like [a, b, c]");
    } else if (kind == "uniform" || kind == "loguniform" || kind == "quniform") {
      std::vector<double> v;
      const size_t want = kind == "quniform" ? 3 : 2;
      if (!parse_numbers(rest, v) || v.size() != want)
        throw DataError(source, no, kind + " needs " + std::to_string(want) + " numbers (" +
                                        (want == 3 ? "lo, hi, q" : "lo, hi") + ")");
      p.lo = v[0];
      p.hi = v[1];
      if (p.lo > p.hi) throw DataError(source, no, "lo must not exceed hi");
      if (kind == "quniform") {
        p.q = v[2];
        if (p.q <= 0) throw DataError(source, no, "q must be positive");
      }
      p.kind = kind == "uniform" ? SearchParam::Kind::Uniform
               : kind == "loguniform" ? SearchParam::Kind::LogUniform
                                      : SearchParam::Kind::QUniform;
    } else {
      throw DataError(source, no, "unknown kind '" + kind + "' (choice, uniform, loguniform, quniform)");
    }
    out.push_back(std::move(p));
  }
  if (out.empty()) throw DataError(source, 0, "no parameters to tune");
  return out;
}

std::vector<SearchParam> parse_search_space(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw DataError(path, 0, "cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse_search_space_text(ss.str(), path);
}

std::vector<Trial> exhaustive_trials(const std::vector<SearchParam>& space, int max_trials) {
  for (const auto& p : space)
    if (p.kind != SearchParam::Kind::Choice)
      throw std::invalid_argument("exhaustive search needs 'choice' parameters; '" + p.name +
                                  "' is continuous (use --algo=random)");
  std::vector<Trial> out;
  std::vector<size_t> idx(space.size(), 0);
  while (int(out.size()) < max_trials) {
    Trial t;
    for (size_t i = 0; i < space.size(); ++i) t.emplace_back(space[i].name, space[i].choices[idx[i]]);
    out.push_back(std::move(t));
    size_t i = space.size();
    while (i > 0) {
      --i;
      if (++idx[i] < space[i].choices.size()) break;
      idx[i] = 0;
      if (i == 0) return out;
    }
    if (space.empty()) break;
  }
  return out;
}

std::vector<Trial> random_trials(const std::vector<SearchParam>& space, int max_trials, uint64_t seed) {
  Rng rng(seed);
  std::vector<Trial> out;
  std::set<Trial> seen;
  for (int attempt = 0; attempt < 20 * max_trials && int(out.size()) < max_trials; ++attempt) {
    Trial t;
    for (const auto& p : space) {
      const double u = rng.uniform();
      switch (p.kind) {
        case SearchParam::Kind::Choice:
          t.emplace_back(p.name, p.choices[size_t(rng.uniform_int(0, long(p.choices.size()) - 1))]);
          break;
        case SearchParam::Kind::Uniform:
          t.emplace_back(p.name, format_number(p.lo + u * (p.hi - p.lo)));
          break;
        case SearchParam::Kind::LogUniform:
          t.emplace_back(p.name, format_number(std::exp(p.lo + u * (p.hi - p.lo))));
          break;
        case SearchParam::Kind::QUniform:
          t.emplace_back(p.name, format_number(std::round((p.lo + u * (p.hi - p.lo)) / p.q) * p.q));
          break;
      }
    }
    if (seen.insert(t).second) out.push_back(std::move(t));
  }
  return out;
}

bool is_finetune_key(const std::string& key) {
  static const std::set<std::string> keys = {"loss_type", "train_batch_size", "epochs", "stopping_step",
                                             "eval_mode", "pre_model_path", "run_dir",
                                             "model_path", "threads", "neg_sampling", "train_neg_sample_args",
                                             "eval_args", "metrics", "topk", "valid_metric"};
  return keys.count(key) > 0;
}

std::string pretrain_signature(const Trial& t) {
  Trial rest;
  for (const auto& kv : t)
    if (!is_finetune_key(kv.first) && kv.first != "pretrain_epochs") rest.push_back(kv);
  std::sort(rest.begin(), rest.end());
  std::string sig;
  for (const auto& [k, v] : rest) sig += k + "=" + v + ";";
  return sig;
}

}  // namespace s3rec
