#include <filesystem>
#include <string>

#include "s3rec/dataset.h"

namespace s3rec {

DataError::DataError(std::string file, long line, const std::string& problem)
    : std::runtime_error(line > 0 ? file + ":" + std::to_string(line) + ": " + problem : file + ": " + problem),
      file_(std::move(file)),
      line_(line) {}

std::string Dataset::item_token(int item) const {
  if (size_t(item) < item_tokens.size()) return item_tokens[size_t(item)];
  return item == 0 ? "[PAD]" : std::to_string(item);
}

long Dataset::num_actions() const {
  long n = 0;
  for (const auto& s : user_seqs) n += long(s.size());
  return n;
}

Dataset load_dataset(const std::string& data_path, const std::string& name, const LoadOptions& opt,
                     LoadReport* report) {
  namespace fs = std::filesystem;
  const fs::path dir(data_path);
  if (fs::exists(dir / (name + ".txt"))) return load_reference_format(data_path, name, opt, report);
  if (fs::exists(dir / name / (name + ".inter"))) return load_recbole_atomic((dir / name).string(), name, opt, report);
  if (fs::exists(dir / (name + ".inter"))) return load_recbole_atomic(data_path, name, opt, report);
  throw DataError((dir / (name + ".txt")).string(), 0,
                  "dataset not found (also tried " + (dir / name / (name + ".inter")).string() + " and " +
                      (dir / (name + ".inter")).string() + ")");
}

}  // namespace s3rec
