#pragma once
// `s3rec prepare`: raw interaction logs (CSV, TSV or RecBole .inter) plus optional item
// attribute tables (CSV, TSV, .item or JSON) -> a dataset in the reference format.
//
// Steps, in order: read (unparsable rows are counted and reported with line numbers),
// optionally drop repeated user-item pairs (the earliest is kept), k-core filtering of
// users and items until nothing changes, grouping by user and stable sorting by time,
// then dense ids in this documented order:
//   users: by raw token (numeric order when every user token is an integer, else byte order)
//   items: by first appearance when the users are read in that order, each chronologically
//   attributes: by first appearance over items 1..N, fields in the order given
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "s3rec/dataset.h"

namespace s3rec {

struct PrepareOptions {
  std::string input;        // interactions file
  std::string items;        // optional attribute table
  std::string dataset;      // NAME of the output files
  std::string output;       // directory
  std::string user_field = "user_id", item_field = "item_id", time_field = "timestamp";  // "" = file order
  std::vector<std::string> item_attribute;  // attribute column(s) of the items table
  char sep = 0;             // field separator; 0 = ',' for .csv, tab otherwise
  char items_sep = 0;       // same for the items table
  char attr_sep = 0;        // separator of multi-valued attributes; 0 = ' ' for .item, '|' otherwise
  int k = 5;                // k-core threshold for users and items (1 = no filtering)
  bool dedup = false;       // drop repeated user-item pairs
  uint64_t seed = 2020;     // sampled negatives
  int max_reported = 5;     // problems listed individually
};

struct PrepareStats {
  long rows_read = 0, rows_bad = 0, duplicates_dropped = 0;
  long users_removed = 0, items_removed = 0, actions_removed = 0;
  int kcore_rounds = 0;
  long users = 0, items = 0, actions = 0, attributes = 0;
  double avg_actions_per_user = 0, avg_actions_per_item = 0, sparsity = 0, avg_attributes_per_item = 0;
  long items_without_attributes = 0;
};

struct Prepared {
  Dataset data;                           // ids as documented above; user_tokens/item_tokens are raw
  PrepareStats stats;
  std::vector<std::string> problems;      // the first few bad rows, "FILE:LINE: problem"
};

struct Interaction {
  std::string user, item;
  double time = 0;
  long order = 0;  // row number, the tie-breaker
};

// Keeps the interactions whose user and item both have >= k of them, repeating until
// nothing changes. Returns the number of rounds that removed something.
int kcore_filter(std::vector<Interaction>& rows, int k);

Prepared prepare_dataset(const PrepareOptions& o);
// raw item token -> its attribute value tokens, in field order
using RawAttributes = std::unordered_map<std::string, std::vector<std::string>>;
// The steps after reading (ordering, dedup, k-core, ids, attributes, statistics, negatives)
// on interactions already in memory, into p (p.stats' row counts are the caller's).
// prepare_dataset is reading plus this; Python's Dataset.from_interactions calls it directly.
void prepare_interactions(std::vector<Interaction> rows, const RawAttributes& attrs, const PrepareOptions& o,
                          Prepared& p);
// NAME.txt, NAME_item2attributes.json, NAME_sample.txt (when there are enough items),
// NAME_vocab.json (raw tokens of users, items, attributes by id) and NAME_stats.json.
void write_prepared(const Prepared& p, const PrepareOptions& o);
std::string format_stats(const PrepareStats& s);  // the paper's Table 1 as text

}  // namespace s3rec
