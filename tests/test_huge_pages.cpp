// advise_huge_pages: a hint on the aligned interior of a range, contents untouched.
#include <gtest/gtest.h>

#include <cstdint>
#include <numeric>
#include <vector>

#include "util/huge_pages.h"

namespace s3rec {
namespace {

TEST(HugePages, AdvisesTheAlignedInteriorAndKeepsTheContents) {
  constexpr size_t kHuge = size_t(2) << 20;
  std::vector<uint32_t> table(5 * kHuge / sizeof(uint32_t) + 123);
  std::iota(table.begin(), table.end(), 7u);  // touched before the advice, as a loaded model is
  const size_t advised = advise_huge_pages(table.data(), table.size() * sizeof(uint32_t));
  EXPECT_EQ(advised % kHuge, 0u);
  EXPECT_LE(advised, table.size() * sizeof(uint32_t));
#ifdef __linux__
  EXPECT_GE(advised, 3 * kHuge);  // 10 MiB hold at least 3 whole aligned huge pages
#endif
  for (size_t i = 0; i < table.size(); ++i) ASSERT_EQ(table[i], uint32_t(i + 7)) << i;
  EXPECT_EQ(advise_huge_pages(table.data(), kHuge - 1), 0u);  // no whole huge page inside
  EXPECT_EQ(advise_huge_pages(nullptr, 0), 0u);
}

}  // namespace
}  // namespace s3rec
