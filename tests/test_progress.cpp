// The progress lines of long work (stderr is not a terminal under ctest: plain lines).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "s3rec/progress.h"

using namespace s3rec;

namespace {

// "LABEL: DONE/TOTAL (RATE/s, ETA Ns)" -> RATE; -1 when the line has no rate
double rate_of(const std::string& line) {
  const size_t open = line.find('(');
  if (open == std::string::npos) return -1;
  return std::stod(line.substr(open + 1));
}

}  // namespace

// A bar made when the first unit of work is already done (the console hooks make it at the
// first finished batch) must not count that work as done in no time.
TEST(ProgressBar, RateCountsFromTheFirstUpdate) {
  {  // one update that finishes the work: no rate to tell
    ::testing::internal::CaptureStderr();
    ProgressBar bar("epoch 1", 200);
    bar.update(200);
    const std::string out = ::testing::internal::GetCapturedStderr();
    EXPECT_EQ(out, "epoch 1: 200/200\n");
  }
  {  // 100 more after about 50 ms: about 2000/s (not 200 / 50 ms = 4000/s)
    ::testing::internal::CaptureStderr();
    ProgressBar bar("epoch 2", 200);
    bar.update(100);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    bar.update(200);
    const std::string out = ::testing::internal::GetCapturedStderr();
    ASSERT_EQ(out.rfind("epoch 2: 200/200 (", 0), 0u) << out;
    const double rate = rate_of(out);
    EXPECT_GT(rate, 200.0) << out;  // a slow machine may sleep longer, never shorter
    EXPECT_LE(rate, 2000.0) << out;
  }
}
