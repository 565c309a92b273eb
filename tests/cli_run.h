#pragma once
// Runs the s3rec binary as a user does, for the CLI tests.
#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <sys/wait.h>

namespace s3rec_test {

struct Outcome {
  int code = -1;
  std::string out;  // stdout and stderr together
};

// Runs `s3rec ARGS` through the shell with 1 thread (in directory cwd when given);
// output is not a terminal.
inline Outcome s3rec(const std::string& args, const std::string& cwd = "") {
  const std::string cmd = (cwd.empty() ? "" : "cd '" + cwd + "' && ") + "OMP_NUM_THREADS=1 " +
                          std::string(S3REC_BINARY_DIR) + "/s3rec " + args + " 2>&1 </dev/null";
  Outcome r;
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(p);
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

inline nlohmann::ordered_json read_json(const std::filesystem::path& p) {
  std::ifstream in(p);
  return nlohmann::ordered_json::parse(in);
}

}  // namespace s3rec_test
