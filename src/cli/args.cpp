#include <stdexcept>

#include "cli/commands.h"

namespace s3rec::cli {

Args parse_args(int argc, char** argv, int first, bool allow_positional) {
  Args a;
  for (int i = first; i < argc; ++i) {
    const std::string s = argv[i];
    if (s == "--help" || s == "-h") {
      a.help = true;
      continue;
    }
    if (s == "-k" && i + 1 < argc) {  // the one short option: recommend -k N
      a.kv.emplace_back("k", argv[++i]);
      continue;
    }
    if (allow_positional && s.rfind("-", 0) != 0) {
      a.positional.push_back(s);
      continue;
    }
    if (s.rfind("--", 0) != 0 || s.size() < 3) throw std::invalid_argument("expected --key=value, got '" + s + "'");
    const size_t eq = s.find('=');
    if (eq != std::string::npos) {
      a.kv.emplace_back(s.substr(2, eq - 2), s.substr(eq + 1));
    } else if (i + 1 < argc && argv[i + 1][0] != '-') {
      a.kv.emplace_back(s.substr(2), argv[++i]);
    } else {
      a.kv.emplace_back(s.substr(2), "true");
    }
  }
  return a;
}

std::string Args::get(const std::string& key, const std::string& fallback) const {
  std::string v = fallback;
  for (const auto& [k, x] : kv)
    if (k == key) v = x;
  return v;
}

bool Args::has(const std::string& key) const {
  for (const auto& [k, x] : kv)
    if (k == key) return true;
  return false;
}

}  // namespace s3rec::cli
