#pragma once
// Runs the s3rec binary from a test, as a user would, and reads what it wrote.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

namespace s3rec::testing {

struct Outcome {
  int code = -1;
  std::string out;  // stdout and stderr
};

// `s3rec ARGS` with one thread (runs are then deterministic); the output is kept in out_file.
inline Outcome s3rec_run(const std::string& args, const std::filesystem::path& out_file) {
  const std::string cmd = "OMP_NUM_THREADS=1 " + std::string(S3REC_BINARY_DIR) + "/s3rec " + args + " >" +
                          out_file.string() + " 2>&1 </dev/null";
  const int status = std::system(cmd.c_str());
  std::ifstream in(out_file);
  std::stringstream ss;
  ss << in.rdbuf();
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, ss.str()};
}

inline std::string file_bytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline nlohmann::json read_json(const std::filesystem::path& p) {
  std::ifstream in(p);
  return nlohmann::json::parse(in);
}

}  // namespace s3rec::testing
