// The YAML run configuration. ConfigError is the documented rejection; anything else is
// a finding. An accepted file must round-trip: to_yaml() loads again to the same text.
#include "fuzz_input.h"
#include "s3rec/config.h"

using namespace s3rec;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::scratch_path("run.yaml");
  fuzz::write_file(path, fuzz::as_view(data, size));
  RunConfig c;
  try {
    c = load_run_config({path}, {});
  } catch (const ConfigError&) {
    return 0;
  }
  const std::string text = to_yaml(c);
  const std::string again = fuzz::scratch_path("resolved.yaml");
  fuzz::write_file(again, text);
  try {
    if (to_yaml(load_run_config({again}, {})) != text) fuzz::finding("to_yaml does not round-trip:\n" + text);
  } catch (const ConfigError& e) {
    fuzz::finding(std::string("to_yaml output is refused: ") + e.what() + "\n" + text);
  }
  return 0;
}
