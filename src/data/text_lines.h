#pragma once
// Line-oriented parsing helpers for the dataset readers.
#include <charconv>
#include <string>
#include <string_view>
#include <vector>

namespace s3rec {

// Splits on any run of the separator characters; no empty fields.
inline std::vector<std::string_view> split_fields(std::string_view line, std::string_view seps = " \t") {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && seps.find(line[i]) != std::string_view::npos) ++i;
    size_t j = i;
    while (j < line.size() && seps.find(line[j]) == std::string_view::npos) ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

// Strict base-10 integer: the whole field must be digits (optional leading '-').
inline bool parse_int(std::string_view s, long& v) {
  if (s.empty()) return false;
  const auto r = std::from_chars(s.data(), s.data() + s.size(), v);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

inline std::string_view chomp(std::string_view s) {
  while (!s.empty() && (s.back() == '\r' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

inline bool is_blank(std::string_view s) { return s.find_first_not_of(" \t\r\n") == std::string_view::npos; }

}  // namespace s3rec
