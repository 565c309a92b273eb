// The tune params file, then what `s3rec tune` does with it before training: draw the
// trials (exhaustive and random) and resolve each into a run configuration. Documented
// rejections: DataError (the file), std::invalid_argument (exhaustive search over a
// continuous parameter) and ConfigError (a value the configuration refuses).
#include "fuzz_input.h"
#include "s3rec/config.h"
#include "s3rec/dataset.h"
#include "s3rec/tune.h"

using namespace s3rec;

namespace {

void resolve(const std::vector<Trial>& trials) {
  for (const Trial& t : trials) {
    try {
      load_run_config({}, t);
    } catch (const ConfigError&) {
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::vector<SearchParam> space;
  try {
    space = parse_search_space_text(std::string(fuzz::as_view(data, size)), "params.txt");
  } catch (const DataError&) {
    return 0;
  }
  for (const auto& p : space)
    if (p.kind == SearchParam::Kind::Choice && p.choices.empty()) fuzz::finding("empty choice accepted");
  std::vector<Trial> all;
  try {
    all = exhaustive_trials(space, 16);
  } catch (const std::invalid_argument&) {
  }
  resolve(all);
  resolve(random_trials(space, 8, 2020));
  return 0;
}
