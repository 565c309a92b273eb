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

// Well-formed UTF-8 (no overlong forms, surrogates or code points above U+10FFFF): raw
// tokens end up in JSON files (vocabularies, model metadata), which hold nothing else.
inline bool is_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len;
    unsigned char lo = 0x80, hi = 0xBF;  // range of the second byte
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) len = 3, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4) len = 4, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else return false;
    if (i + size_t(len) > s.size()) return false;
    for (int k = 1; k < len; ++k) {
      const unsigned char b = static_cast<unsigned char>(s[i + size_t(k)]);
      if (k == 1 ? (b < lo || b > hi) : (b < 0x80 || b > 0xBF)) return false;
    }
    i += size_t(len);
  }
  return true;
}

inline bool is_blank(std::string_view s) { return s.find_first_not_of(" \t\r\n") == std::string_view::npos; }

}  // namespace s3rec
