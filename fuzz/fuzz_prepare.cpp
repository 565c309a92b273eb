// `s3rec prepare`: the CSV/TSV/.inter interactions reader, the attribute table reader
// (CSV, TSV, .item or JSON), the filtering and the writing of the dataset. Input: a first
// line of options, then the interactions file, optionally followed by "\n%%\n" and the
// attribute table. Options (space-separated): the input's extension (csv, tsv, inter), the
// table's (ijson, icsv, itsv, iitem), k=N (1..5), dedup, notime, attr=a,b, sep=C, attr_sep=C.
// DataError is the documented rejection; anything else is a finding.
#include "data/text_lines.h"
#include "fuzz_input.h"
#include "s3rec/prepare.h"

using namespace s3rec;

namespace {

// Options from the first line; false when it asks for something out of range.
bool parse_options(std::string_view line, PrepareOptions& o, std::string& in_ext, std::string& items_ext) {
  for (auto w : split_fields(line, " ")) {
    const std::string_view key = w.substr(0, w.find('=')),
                           val = w.find('=') == std::string_view::npos ? "" : w.substr(w.find('=') + 1);
    if (w == "csv" || w == "tsv" || w == "inter") in_ext = w;
    else if (w == "ijson" || w == "icsv" || w == "itsv" || w == "iitem") items_ext = w.substr(1);
    else if (w == "dedup") o.dedup = true;
    else if (w == "notime") o.time_field.clear();
    else if (key == "k" && val.size() == 1 && val[0] >= '1' && val[0] <= '5') o.k = val[0] - '0';
    else if (key == "attr") for (auto a : split_fields(val, ",")) o.item_attribute.emplace_back(a);
    else if (key == "sep" && val.size() == 1) o.sep = val[0];
    else if (key == "attr_sep" && val.size() == 1) o.attr_sep = o.items_sep = val[0];
    else return false;
  }
  return o.item_attribute.size() <= 3;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in = fuzz::as_view(data, size);
  const size_t eol = in.find('\n');
  if (eol == std::string_view::npos) return 0;
  PrepareOptions o;
  std::string in_ext = "csv", items_ext = "csv";
  if (!parse_options(in.substr(0, eol), o, in_ext, items_ext)) return 0;
  const auto parts = fuzz::split_parts(in.substr(eol + 1), "\n%%\n", 2);
  o.input = fuzz::scratch_path("log." + in_ext);
  fuzz::write_file(o.input, parts[0]);
  if (parts.size() > 1) {
    o.items = fuzz::scratch_path("items." + items_ext);
    fuzz::write_file(o.items, parts[1]);
  }
  o.dataset = "d";
  o.output = fuzz::scratch_path("out");
  try {
    const Prepared p = prepare_dataset(o);
    const Dataset& d = p.data;
    if (int(d.item_tokens.size()) != d.n_items + 1) fuzz::finding("item_tokens size");
    for (const auto& s : d.user_seqs) {
      if (s.size() < 3) fuzz::finding("a user with fewer than 3 items was kept");
      for (int i : s)
        if (i < 1 || i > d.n_items) fuzz::finding("item id outside 1..n_items");
    }
    write_prepared(p, o);
    format_stats(p.stats);
  } catch (const DataError&) {
  }
  return 0;
}
