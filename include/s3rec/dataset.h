#pragma once
// In-memory dataset (SPEC section 1) and its readers.
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

#include "s3rec/attribute_table.h"

namespace s3rec {

// Bad input: names the file, the 1-based line (0 when not line-specific) and the problem.
class DataError : public std::runtime_error {
 public:
  DataError(std::string file, long line, const std::string& problem);
  const std::string& file() const { return file_; }
  long line() const { return line_; }

 private:
  std::string file_;
  long line_;
};

struct Dataset {
  std::string name;
  int n_items = 0;       // N: item ids are 1..N (0 = padding, N+1 = mask token)
  int n_attributes = 0;  // A: attribute ids are 1..A (0 = padding)
  std::vector<std::vector<int>> user_seqs;         // chronological item ids, one row per user
  std::vector<std::string> user_tokens;            // raw user id of each row
  // [N+1]: raw token of each item id ([0] = "[PAD]"); empty when the tokens are the ids
  // themselves (the reference format), see item_token()
  std::vector<std::string> item_tokens;
  std::vector<std::string> attribute_tokens;       // [A+1]: raw token of each attribute id
  AttributeTable item_attributes;                  // [N+2] rows (the mask token's row is empty)
  std::vector<std::vector<int>> sample_negatives;  // per user: 99 negatives (empty when absent)
  std::string sample_source;                       // file read, or "generated (seed S)"

  int num_users() const { return int(user_seqs.size()); }
  std::string item_token(int item) const;
  long num_actions() const;
};

// What a reader skipped, so it can be reported (nothing is dropped silently).
struct LoadReport {
  long users_skipped_short = 0;  // fewer than 3 items
  std::vector<std::string> warnings;  // first few, with file and line
};

struct LoadOptions {
  std::vector<std::string> item_attribute;  // RecBole field(s) used as attributes
  bool generate_sample_if_missing = true;
  uint64_t sample_seed = 2020;
  int num_negatives = 99;
  // Largest item or attribute id of the reference format: ids are dense, so the largest
  // one is the catalogue's size, and memory and time grow with it.
  int max_id = 100000000;
};

// --data_path=DIR --dataset=NAME: DIR/NAME.txt (reference format), else
// DIR/NAME/NAME.inter or DIR/NAME.inter (RecBole atomic files).
Dataset load_dataset(const std::string& data_path, const std::string& name, const LoadOptions& opt,
                     LoadReport* report = nullptr);
Dataset load_reference_format(const std::string& dir, const std::string& name, const LoadOptions& opt,
                              LoadReport* report = nullptr);
Dataset load_recbole_atomic(const std::string& dir, const std::string& name, const LoadOptions& opt,
                            LoadReport* report = nullptr);

// SPEC section 1: per user, uniform draws without replacement from the items that
// occur in the data, rejecting the user's own items, until n are collected.
std::vector<std::vector<int>> generate_sample_negatives(const Dataset& d, int n, uint64_t seed);
void write_sample_file(const std::string& path, const Dataset& d);  // atomic
// Generates d.sample_negatives; when the data has too few items for that, leaves them
// empty (sampled evaluation unavailable) and says so in the report.
void generate_samples_or_warn(Dataset& d, const LoadOptions& opt, LoadReport* report);

// Leave-one-out split (SPEC section 1). For a sequence of length n >= 3:
//   training part s[0:n-2]; validation input s[0:n-2] -> s[n-2]; test input s[0:n-1] -> s[n-1].
// Inputs are truncated to their last max_len items by the callers.
inline std::span<const int> train_part(const std::vector<int>& s) { return {s.data(), s.size() - 2}; }
inline std::span<const int> last_n(std::span<const int> s, int max_len) {
  return s.size() > size_t(max_len) ? s.subspan(s.size() - max_len) : s;
}

}  // namespace s3rec
