// The RecBole atomic-file reader. Input: a first line naming the item_attribute
// field(s) (space-separated, may be empty), then NAME.inter, optionally followed by
// "\n%%\n" and NAME.item. DataError is the documented rejection; anything else is a finding.
#include "data/text_lines.h"
#include "fuzz_input.h"
#include "s3rec/dataset.h"

using namespace s3rec;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = fuzz::as_view(data, size);
  const size_t eol = in.find('\n');
  if (eol == std::string_view::npos) return 0;
  LoadOptions opt;
  opt.num_negatives = 3;
  for (auto f : split_fields(in.substr(0, eol), " ")) opt.item_attribute.emplace_back(f);
  if (opt.item_attribute.size() > 3) return 0;
  const auto parts = fuzz::split_parts(in.substr(eol + 1), "\n%%\n", 2);
  fuzz::write_file(fuzz::scratch_path("d.inter"), parts[0]);
  fuzz::put_file(fuzz::scratch_path("d.item"), parts.size() > 1, parts.size() > 1 ? parts[1] : "");
  LoadReport report;
  try {
    const Dataset d = load_recbole_atomic(fuzz::scratch_dir(), "d", opt, &report);
    if (int(d.item_tokens.size()) != d.n_items + 1) fuzz::finding("item_tokens size");
    if (d.user_tokens.size() != d.user_seqs.size()) fuzz::finding("user_tokens size");
    for (const auto& s : d.user_seqs)
      for (int i : s)
        if (i < 1 || i > d.n_items) fuzz::finding("item id outside 1..n_items");
    for (int i = 0; i < d.item_attributes.rows(); ++i)
      for (int a : d.item_attributes.of(i))
        if (a < 1 || a > d.n_attributes) fuzz::finding("attribute id outside 1..n_attributes");
  } catch (const DataError&) {
  }
  return 0;
}
