#pragma once
// Backing large, randomly read tables with 2 MiB pages.
#include <cstddef>

namespace s3rec {

// Asks the kernel to back the 2 MiB-aligned interior of [p, p + bytes) with huge pages:
// madvise(MADV_HUGEPAGE), then MADV_COLLAPSE (Linux 6.1+) to do it now for pages already
// touched. A table read at random (a 10M-item model's rows, an index's lists) then needs
// 512 times fewer page-table entries. Best effort: returns the bytes advised, 0 when the
// range is too small or the kernel refuses; never fails the caller.
size_t advise_huge_pages(const void* p, size_t bytes);

}  // namespace s3rec
