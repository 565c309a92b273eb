#pragma once
// Shared by the harnesses: a private scratch directory for readers that take paths,
// and the splitting of one fuzz input into several files.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace s3rec::fuzz {

// A directory of this process, removed at a normal exit; under $S3REC_FUZZ_TMP when set (a
// crash or timeout leaves it behind: scripts/fuzz_ci.sh points this at a directory of its
// own and removes that), else in /dev/shm when there is one (no disk I/O), else in /tmp.
inline const std::string& scratch_dir() {
  // never destroyed: the exit handler below needs it after static destructors have run
  static const std::string* dir = [] {
    const char* base = std::getenv("S3REC_FUZZ_TMP");
    std::string tmpl = std::string(base && *base ? base : std::filesystem::exists("/dev/shm") ? "/dev/shm" : "/tmp") +
                       "/s3rec-fuzz-XXXXXX";
    if (!mkdtemp(tmpl.data())) {
      std::perror("mkdtemp");
      std::abort();
    }
    std::atexit([] { std::filesystem::remove_all(scratch_dir()); });
    return new std::string(tmpl);
  }();
  return *dir;
}

inline std::string scratch_path(const std::string& name) { return scratch_dir() + "/" + name; }

inline void write_file(const std::string& path, std::string_view bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), std::streamsize(bytes.size()));
}

// Writes the file when `present`, removes it otherwise (no file left over from the last input).
inline void put_file(const std::string& path, bool present, std::string_view bytes) {
  if (present) write_file(path, bytes);
  else std::filesystem::remove(path);
}

// The input cut at each `marker` (at most max_parts pieces; the last keeps any further markers).
inline std::vector<std::string_view> split_parts(std::string_view in, std::string_view marker, size_t max_parts) {
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < max_parts) {
    const size_t at = in.find(marker);
    if (at == std::string_view::npos) break;
    parts.push_back(in.substr(0, at));
    in.remove_prefix(at + marker.size());
  }
  parts.push_back(in);
  return parts;
}

inline std::string_view as_view(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A broken invariant on input that was accepted: report it and abort (libFuzzer saves the input).
[[noreturn]] inline void finding(const std::string& what) {
  std::fprintf(stderr, "FUZZ FINDING: %s\n", what.c_str());
  std::abort();
}

}  // namespace s3rec::fuzz
