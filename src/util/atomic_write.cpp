#include "util/atomic_write.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <thread>

namespace s3rec {
namespace {

// Test-only hooks, read once from the environment (both unset in normal use):
//   S3REC_TEST_KILL_AT_WRITE=N   the process SIGKILLs itself at the N-th write point
//   S3REC_TEST_WRITE_DELAY_MS=D  sleeps D ms at every write point (widens the windows in
//                                which an outside kill lands inside a write)
// The write points are each append() and the moment before commit()'s rename.
void write_point() {
  static const long kill_at = [] {
    const char* v = std::getenv("S3REC_TEST_KILL_AT_WRITE");
    return v ? std::atol(v) : 0L;
  }();
  static const long delay_ms = [] {
    const char* v = std::getenv("S3REC_TEST_WRITE_DELAY_MS");
    return v ? std::atol(v) : 0L;
  }();
  static long count = 0;
  if (kill_at <= 0 && delay_ms <= 0) return;
  if (++count == kill_at) ::raise(SIGKILL);
  if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
}

const char kTmpMarker[] = ".tmp.";

}  // namespace

AtomicFile::AtomicFile(const std::string& path) : path_(path), tmp_(path + kTmpMarker + std::to_string(::getpid())) {
  const std::filesystem::path p(path);
  std::error_code ec;
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
  fd_ = ::open(tmp_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd_ < 0) throw std::runtime_error(path + ": cannot write: " + std::strerror(errno));
}

AtomicFile::~AtomicFile() {
  if (fd_ >= 0) {
    ::close(fd_);
    ::unlink(tmp_.c_str());
  }
}

void AtomicFile::fail(const std::string& what) {
  const std::string err = std::strerror(errno);
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  ::unlink(tmp_.c_str());
  throw std::runtime_error(path_ + ": " + what + ": " + err);
}

void AtomicFile::append(const void* data, size_t n) {
  write_point();
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd_, p, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      fail("write failed");
    }
    p += w;
    n -= size_t(w);
  }
}

void AtomicFile::commit() {
  if (::fsync(fd_) != 0) fail("flush failed");
  if (::close(fd_) != 0) {
    fd_ = -1;
    fail("flush failed");
  }
  fd_ = -1;
  write_point();
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    const std::string err = std::strerror(errno);
    ::unlink(tmp_.c_str());
    throw std::runtime_error(path_ + ": rename failed: " + err);
  }
  // the rename itself onto the disk: a power cut after a checkpoint was reported saved
  // must not bring back the previous directory entry
  const std::filesystem::path parent = std::filesystem::path(path_).parent_path();
  const int dir = ::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY);
  if (dir >= 0) {
    const int rc = ::fsync(dir);
    const int err = errno;
    ::close(dir);
    if (rc != 0 && err != EINVAL)  // EINVAL: a file system that cannot sync directories
      throw std::runtime_error(path_ + ": flush of the directory failed: " + std::strerror(err));
  }
}

void write_file_atomic(const std::string& path, const std::string& contents) {
  AtomicFile f(path);
  f.append(contents.data(), contents.size());
  f.commit();
}

int remove_stale_temporaries(const std::string& dir) {
  int removed = 0;
  std::error_code ec;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const size_t at = name.rfind(kTmpMarker);
    if (at == std::string::npos || at + sizeof kTmpMarker - 1 >= name.size()) continue;
    const std::string pid_text = name.substr(at + sizeof kTmpMarker - 1);
    if (pid_text.find_first_not_of("0123456789") != std::string::npos || pid_text.size() > 9) continue;
    const pid_t pid = pid_t(std::stol(pid_text));
    if (pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;  // a writer that may be alive
    std::error_code rm;
    if (std::filesystem::remove(it->path(), rm)) ++removed;
  }
  return removed;
}

}  // namespace s3rec
