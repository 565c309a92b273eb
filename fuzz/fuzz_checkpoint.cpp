// The safetensors loader and what loads models through it: read_safetensors, a
// Recommender (metadata, model configuration, tensors, vocabulary) and, when the input
// holds a second file after "#OPTIM#\n", load_checkpoint with optimizer state (resuming).
// std::runtime_error naming the file is the documented rejection; anything else is a finding.
#include "fuzz_input.h"
#include "s3rec/checkpoint.h"
#include "s3rec/recommender.h"
#include "s3rec/safetensors.h"

using namespace s3rec;

namespace {

template <class F>
void expect_clean(const std::string& path, F&& f) {
  try {
    f();
  } catch (const std::runtime_error& e) {
    if (std::string(e.what()).find(path) == std::string::npos)
      fuzz::finding(std::string("error without the file name: ") + e.what());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto parts = fuzz::split_parts(fuzz::as_view(data, size), "#OPTIM#\n", 2);
  const std::string path = fuzz::scratch_path("m.safetensors");
  fuzz::write_file(path, parts[0]);
  fuzz::put_file(optimizer_path(path), parts.size() > 1, parts.size() > 1 ? parts[1] : "");
  expect_clean(path, [&] { read_safetensors(path); });
  expect_clean(path, [&] {
    const Recommender rec(path);
    try {  // the loaded model answers (or refuses the request: a model of 0 items, say)
      rec.recommend({rec.vocabulary().item_tokens[rec.vocabulary().item_tokens.size() - 1]}, 1);
    } catch (const RequestError&) {
    }
  });
  if (parts.size() > 1)
    expect_clean(path, [&] {
      S3RecModel m(read_checkpoint_meta(path).config);
      Optimizer opt(m.params(), AdamConfig{});
      load_checkpoint(path, m, &opt);
    });
  return 0;
}
