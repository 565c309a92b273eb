#pragma once
#include <string>

namespace s3rec {

// Writes `contents` to PATH.tmp.<pid>, flushes it to disk and renames it over PATH,
// so PATH is always either the old or the new complete file. Creates parent
// directories. Throws std::runtime_error naming the path on failure.
void write_file_atomic(const std::string& path, const std::string& contents);

}  // namespace s3rec
