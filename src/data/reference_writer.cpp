#include <filesystem>
#include <nlohmann/json.hpp>

#include "s3rec/dataset.h"
#include "s3rec/synthetic.h"
#include "util/atomic_write.h"

namespace s3rec {

void write_reference_format(const std::string& dir, const Dataset& d) {
  namespace fs = std::filesystem;
  std::string text;
  for (int u = 0; u < d.num_users(); ++u) {
    text += d.user_tokens[u];
    for (int it : d.user_seqs[u]) text += ' ' + std::to_string(it);
    text += '\n';
  }
  write_file_atomic((fs::path(dir) / (d.name + ".txt")).string(), text);
  nlohmann::json j = nlohmann::json::object();
  for (int i = 1; i < int(d.item_attributes.size()); ++i)
    if (!d.item_attributes[i].empty()) j[std::to_string(i)] = d.item_attributes[i];
  write_file_atomic((fs::path(dir) / (d.name + "_item2attributes.json")).string(), j.dump());
  if (!d.sample_negatives.empty()) write_sample_file((fs::path(dir) / (d.name + "_sample.txt")).string(), d);
}

}  // namespace s3rec
