#pragma once
#include <cstddef>
#include <string>

namespace s3rec {

// Writes `contents` to PATH.tmp.<pid>, flushes it to disk and renames it over PATH,
// so PATH is always either the old or the new complete file. Creates parent
// directories. Throws std::runtime_error naming the path on failure.
void write_file_atomic(const std::string& path, const std::string& contents);

// The same, streamed: append() pieces, then commit(). Destroyed without commit(), the
// temporary file is removed and PATH is untouched.
// Test-only hooks (environment, see atomic_write.cpp): S3REC_TEST_KILL_AT_WRITE=N makes the
// process SIGKILL itself at the N-th write point, S3REC_TEST_WRITE_DELAY_MS=D sleeps there.
class AtomicFile {
 public:
  explicit AtomicFile(const std::string& path);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  void append(const void* data, size_t n);
  void commit();

 private:
  [[noreturn]] void fail(const std::string& what);
  std::string path_, tmp_;
  int fd_ = -1;
};

// Removes the temporary files (NAME.tmp.PID) that writers killed before their rename left
// in dir, those whose process no longer exists; returns how many.
int remove_stale_temporaries(const std::string& dir);

}  // namespace s3rec
