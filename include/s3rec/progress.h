#pragma once
// Progress of long work: an updating bar with rate and ETA on a terminal,
// plain log lines (at most every 10 s) otherwise; and a JSON-lines metrics log.
#include <chrono>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>

namespace s3rec {

class ProgressBar {
 public:
  ProgressBar(std::string label, long total);
  void update(long done);
  void finish();

 private:
  std::string label_;
  long total_;
  bool tty_;
  std::chrono::steady_clock::time_point start_, last_;
  long first_done_ = -1;  // the rate counts from the first update
  bool finished_ = false;
};

// The process's peak resident memory so far (VmHWM), in MiB; 0 where /proc is unavailable.
double peak_rss_mib();

class JsonlWriter {
 public:
  explicit JsonlWriter(const std::string& path);  // appends; throws when it cannot open
  void write(const nlohmann::json& record);       // one line, flushed; throws naming the file on failure

 private:
  std::ofstream out_;
  std::string path_;
};

// Rewrites the JSON-lines file at path (atomically) with only the records keep() accepts,
// dropping lines that do not parse; a missing file is left missing. Returns the lines dropped.
int keep_jsonl_records(const std::string& path, const std::function<bool(const nlohmann::json&)>& keep);

}  // namespace s3rec
