#pragma once
// The safetensors file format: 8-byte little-endian header length, a JSON
// header {name: {dtype, shape, data_offsets}, "__metadata__": {...}}, then data.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace s3rec {

struct StTensor {
  std::string dtype;  // "F32", "I64", "I32"
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
  int64_t numel() const;
  std::vector<float> as_f32() const;    // F32 only
  std::vector<int64_t> as_i64() const;  // I64 or I32
  static StTensor f32(std::vector<int64_t> shape, const float* data);
};

struct StFile {
  std::map<std::string, StTensor> tensors;
  std::map<std::string, std::string> metadata;
};

// Throws std::runtime_error "PATH: problem" on a missing, truncated or corrupt file.
StFile read_safetensors(const std::string& path);
// Atomic (temporary file, fsync, rename).
void write_safetensors(const std::string& path, const StFile& f);

}  // namespace s3rec
