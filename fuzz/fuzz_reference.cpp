// The reference-format reader (NAME.txt and NAME_sample.txt). Input: the sequences file,
// optionally followed by "\n%%\n" and the sample file. DataError is the documented
// rejection; anything else escaping (or a crash, leak, hang) is a finding.
#include "fuzz_input.h"
#include "s3rec/dataset.h"

using namespace s3rec;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto parts = fuzz::split_parts(fuzz::as_view(data, size), "\n%%\n", 2);
  fuzz::write_file(fuzz::scratch_path("d.txt"), parts[0]);
  fuzz::put_file(fuzz::scratch_path("d_sample.txt"), parts.size() > 1, parts.size() > 1 ? parts[1] : "");
  LoadOptions opt;
  opt.num_negatives = 3;  // small, so generated samples happen for small inputs too
  opt.max_id = 100000;    // a catalogue of 1e8 items (the default bound) takes seconds: a hang to libFuzzer
  LoadReport report;
  try {
    const Dataset d = load_reference_format(fuzz::scratch_dir(), "d", opt, &report);
    for (const auto& s : d.user_seqs) {
      if (s.size() < 3) fuzz::finding("a user with fewer than 3 items was kept");
      for (int i : s)
        if (i < 1 || i > d.n_items) fuzz::finding("item id outside 1..n_items");
    }
    for (const auto& negs : d.sample_negatives)
      for (int i : negs)
        if (i < 1 || i > d.n_items) fuzz::finding("negative outside 1..n_items");
  } catch (const DataError&) {
  }
  return 0;
}
