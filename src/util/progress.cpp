#include "s3rec/progress.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include "util/atomic_write.h"

namespace s3rec {

ProgressBar::ProgressBar(std::string label, long total)
    : label_(std::move(label)), total_(total), tty_(::isatty(2) != 0), start_(std::chrono::steady_clock::now()),
      last_(start_) {}

void ProgressBar::update(long done) {
  const auto now = std::chrono::steady_clock::now();
  if (first_done_ < 0) {  // the work before the first update has no known start: count from here
    first_done_ = done;
    start_ = now;
  }
  const double since = std::chrono::duration<double>(now - last_).count();
  if (done < total_ && since < (tty_ ? 0.1 : 10.0)) return;
  last_ = now;
  const double el = std::chrono::duration<double>(now - start_).count();
  const double rate = el > 0 && done > first_done_ ? double(done - first_done_) / el : 0.0;
  char speed[64] = "";  // no rate before two updates
  if (rate > 0) std::snprintf(speed, sizeof speed, "%.0f/s, ETA %.0fs", rate, double(total_ - done) / rate);
  if (tty_) {
    const int width = 30, fill = total_ > 0 ? int(width * done / total_) : width;
    std::string bar(size_t(fill), '#');
    bar.resize(width, '.');
    std::fprintf(stderr, "\r%s [%s] %ld/%ld %s   ", label_.c_str(), bar.c_str(), done, total_, speed);
  } else if (rate > 0) {
    std::fprintf(stderr, "%s: %ld/%ld (%s)\n", label_.c_str(), done, total_, speed);
  } else {
    std::fprintf(stderr, "%s: %ld/%ld\n", label_.c_str(), done, total_);
  }
  std::fflush(stderr);
}

void ProgressBar::finish() {
  if (finished_) return;
  finished_ = true;
  if (tty_) std::fprintf(stderr, "\r\033[K");
}

JsonlWriter::JsonlWriter(const std::string& path) : path_(path) {
  const std::filesystem::path p(path);
  if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path());
  out_.open(path, std::ios::app);
  if (!out_) throw std::runtime_error(path + ": cannot open for writing: " + std::strerror(errno));
}

void JsonlWriter::write(const nlohmann::json& record) {
  errno = 0;
  out_ << record.dump() << '\n';
  out_.flush();
  if (!out_)
    throw std::runtime_error(path_ + ": write failed" + (errno ? std::string(": ") + std::strerror(errno) : ""));
}

int keep_jsonl_records(const std::string& path, const std::function<bool(const nlohmann::json&)>& keep) {
  std::ifstream in(path);
  if (!in) return 0;
  std::string kept, line;
  int dropped = 0;
  while (std::getline(in, line)) {
    const auto j = nlohmann::json::parse(line, nullptr, false);  // a torn last line does not parse
    if (!j.is_discarded() && keep(j))
      kept += line + "\n";
    else
      ++dropped;
  }
  if (dropped > 0) write_file_atomic(path, kept);
  return dropped;
}

double peak_rss_mib() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::strtod(line.c_str() + 6, nullptr) / 1024.0;  // kB
  return 0.0;
}

}  // namespace s3rec
