// The NAME_item2attributes.json reader (a streaming SAX parser), with a fixed sequences
// file of 20 items. DataError is the documented rejection; anything else is a finding.
#include "fuzz_input.h"
#include "s3rec/dataset.h"

using namespace s3rec;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  fuzz::write_file(fuzz::scratch_path("d.txt"), "1 1 2 3 4 5\n2 6 7 8 9 10\n3 11 12 13 14 15\n4 16 17 18 19 20\n");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fuzz::write_file(fuzz::scratch_path("d_item2attributes.json"), fuzz::as_view(data, size));
  LoadOptions opt;
  opt.generate_sample_if_missing = false;
  opt.max_id = 100000;  // 1e8 attributes (the default bound) take gigabytes of tokens
  try {
    const Dataset d = load_reference_format(fuzz::scratch_dir(), "d", opt);
    if (d.n_items != 20) fuzz::finding("n_items changed by the attributes file");
    if (int(d.attribute_tokens.size()) != d.n_attributes + 1) fuzz::finding("attribute_tokens size");
    if (d.item_attributes.rows() != d.n_items + 2) fuzz::finding("attribute table rows");
    for (int i = 0; i < d.n_items + 2; ++i)
      for (int a : d.item_attributes.of(i))
        if (a < 1 || a > d.n_attributes) fuzz::finding("attribute id outside 1..n_attributes");
  } catch (const DataError&) {
  }
  return 0;
}
