#include "util/huge_pages.h"

#include <cstdint>

#ifdef __linux__
#include <sys/mman.h>
#endif

namespace s3rec {

size_t advise_huge_pages(const void* p, size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr uintptr_t kHuge = uintptr_t(2) << 20;
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(p) + kHuge - 1) & ~(kHuge - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(p) + bytes) & ~(kHuge - 1);
  if (end <= begin) return 0;
  void* start = reinterpret_cast<void*>(begin);
  const size_t len = size_t(end - begin);
  if (::madvise(start, len, MADV_HUGEPAGE) != 0) return 0;
#ifndef MADV_COLLAPSE
  constexpr int MADV_COLLAPSE = 25;  // Linux 6.1
#endif
  ::madvise(start, len, MADV_COLLAPSE);  // may fail (older kernel, no free huge pages): the hint stays
  return len;
#else
  (void)p;
  (void)bytes;
  return 0;
#endif
}

}  // namespace s3rec
