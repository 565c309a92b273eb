// `s3rec prepare`: raw logs -> reference-format dataset (see include/s3rec/prepare.h).
#include <cstdio>

#include "cli/commands.h"
#include "s3rec/prepare.h"

namespace s3rec::cli {

namespace {

char parse_sep(const std::string& key, const std::string& v) {
  if (v == "tab" || v == "\\t") return '\t';
  if (v == "comma") return ',';
  if (v == "space") return ' ';
  if (v == "pipe") return '|';
  if (v == "semicolon") return ';';
  if (v.size() == 1) return v[0];
  throw std::invalid_argument("--" + key + " must be one character or tab, comma, space, pipe, semicolon; got '" + v + "'");
}

std::vector<std::string> split_commas(const std::string& v) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : v + ",") {
    if (c == ',') {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  return out;
}

}  // namespace

int cmd_prepare(const Args& a) {
  if (a.help) {
    std::printf(
        "usage: s3rec prepare --input=FILE --dataset=NAME --output=DIR [--items=FILE --item_attribute=F[,F...]]\n"
        "                     [--user_field=user_id] [--item_field=item_id] [--time_field=timestamp]\n"
        "                     [--sep=auto] [--items_sep=auto] [--attr_sep=auto] [--k=5] [--dedup=false] [--seed=2020]\n"
        "Turns raw interactions (CSV, TSV or a RecBole .inter) and an item attribute table (CSV, TSV, .item\n"
        "or JSON) into the reference format: DIR/NAME.txt, NAME_item2attributes.json, NAME_sample.txt, plus\n"
        "NAME_vocab.json (raw tokens by id) and NAME_stats.json (the paper's Table 1).\n"
        "  --time_field=    (empty) keeps the file order; ties in time keep the file order too\n"
        "  --k              users and items with fewer than k interactions are removed, repeatedly,\n"
        "                   until none is left (users need at least 3 in any case)\n"
        "  --dedup          drop repeated user-item pairs (the earliest is kept)\n"
        "  separators: one character or tab, comma, space, pipe, semicolon; auto = ',' for .csv, tab\n"
        "  otherwise; multi-valued attributes split on ' ' for .item files, '|' otherwise.\n"
        "Ids: users by raw id (numeric order when all are integers), items by first appearance in that\n"
        "order, attributes by first appearance over items. Bad rows are counted and the first few listed.\n");
    return 0;
  }
  PrepareOptions o;
  for (const auto& [k, v] : a.kv) {
    if (k == "input") o.input = v;
    else if (k == "items") o.items = v;
    else if (k == "dataset") o.dataset = v;
    else if (k == "output") o.output = v;
    else if (k == "user_field") o.user_field = v;
    else if (k == "item_field") o.item_field = v;
    else if (k == "time_field") o.time_field = v;
    else if (k == "item_attribute") o.item_attribute = split_commas(v);
    else if (k == "sep") o.sep = v == "auto" ? 0 : parse_sep(k, v);
    else if (k == "items_sep") o.items_sep = v == "auto" ? 0 : parse_sep(k, v);
    else if (k == "attr_sep") o.attr_sep = v == "auto" ? 0 : parse_sep(k, v);
    else if (k == "k") o.k = std::stoi(v);
    else if (k == "dedup") o.dedup = v == "true" || v == "1";
    else if (k == "seed") o.seed = std::stoull(v);
    else throw std::invalid_argument("prepare: unknown option --" + k + " (see s3rec prepare --help)");
  }
  if (o.input.empty() || o.dataset.empty() || o.output.empty())
    throw std::invalid_argument("prepare: --input, --dataset and --output are required");
  const Prepared p = prepare_dataset(o);
  for (const auto& problem : p.problems) std::fprintf(stderr, "warning: %s\n", problem.c_str());
  if (p.stats.rows_bad > long(p.problems.size()))
    std::fprintf(stderr, "warning: %ld bad rows in all (the first %zu listed)\n", p.stats.rows_bad, p.problems.size());
  write_prepared(p, o);
  std::printf("%s: %s\nwrote %s/%s.txt, %s_item2attributes.json, %s_sample.txt, %s_vocab.json, %s_stats.json\n",
              o.dataset.c_str(), format_stats(p.stats).c_str(), o.output.c_str(), o.dataset.c_str(), o.dataset.c_str(),
              o.dataset.c_str(), o.dataset.c_str(), o.dataset.c_str());
  return 0;
}

}  // namespace s3rec::cli
