// Writes the binary seeds of fuzz/corpus/checkpoint (small model checkpoints, with and
// without optimizer state, and a file of every dtype): make_seeds DIR.
#include <cstdio>
#include <fstream>
#include <sstream>

#include "fuzz_input.h"
#include "s3rec/safetensors.h"
#include "tiny_model.h"

using namespace s3rec;

namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds DIR\n");
    return 2;
  }
  const std::string dir = argv[1];
  const std::string m = fuzz::scratch_path("m.safetensors");
  for (int named = 0; named < 2; ++named) {
    fuzz::save_tiny_model(m, named);
    fuzz::write_file(dir + (named ? "/model_named" : "/model_numeric"), slurp(m));
  }
  fuzz::save_tiny_model(m, true, false, true);
  fuzz::write_file(dir + "/model_vocab_tensors", slurp(m));
  fuzz::save_tiny_model(m, true, true);
  fuzz::write_file(dir + "/model_with_optimizer", slurp(m) + "#OPTIM#\n" + slurp(optimizer_path(m)));
  StFile f;
  const float x[2] = {1.5f, -2.0f};
  f.tensors["f32"] = StTensor::f32({2}, x);
  for (const auto& [dtype, size] : {std::pair{"I32", 4}, std::pair{"I64", 8}, std::pair{"F64", 8}, std::pair{"U8", 1}}) {
    StTensor t;
    t.dtype = dtype;
    t.shape = {1, 2};
    t.bytes.assign(size_t(2 * size), 1);
    f.tensors[std::string("t_") + dtype] = t;
  }
  f.metadata["format"] = "other";
  write_safetensors(m, f);
  fuzz::write_file(dir + "/dtypes", slurp(m));
  return 0;
}
