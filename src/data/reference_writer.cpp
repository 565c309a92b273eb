#include <filesystem>

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
  // {"item": [attribute, ...], ...} written as it is produced (a catalogue of millions of
  // items needs no document in memory)
  AtomicFile json((fs::path(dir) / (d.name + "_item2attributes.json")).string());
  std::string buf = "{";
  bool first = true;
  for (int i = 1; i <= d.n_items && i < int(d.item_attributes.size()); ++i) {
    const auto attrs = d.item_attributes[size_t(i)];
    if (attrs.empty()) continue;
    buf += first ? "\"" : ", \"";
    first = false;
    buf += std::to_string(i) + "\": [";
    for (size_t k = 0; k < attrs.size(); ++k) buf += (k ? ", " : "") + std::to_string(attrs[k]);
    buf += ']';
    if (buf.size() > (1 << 20)) {
      json.append(buf.data(), buf.size());
      buf.clear();
    }
  }
  buf += '}';
  json.append(buf.data(), buf.size());
  json.commit();
  if (!d.sample_negatives.empty()) write_sample_file((fs::path(dir) / (d.name + "_sample.txt")).string(), d);
}

}  // namespace s3rec
