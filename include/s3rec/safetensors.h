#pragma once
// The safetensors file format: 8-byte little-endian header length, a JSON
// header {name: {dtype, shape, data_offsets}, "__metadata__": {...}}, then data.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace s3rec {

struct StTensor {
  std::string dtype;  // "F32", "I64", "I32", "U8"
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
  const uint8_t* view = nullptr;  // borrowed data instead of bytes (for writing without a copy)
  int64_t numel() const;
  size_t nbytes() const { return view ? size_t(numel()) * 4 : bytes.size(); }
  const uint8_t* data() const { return view ? view : bytes.data(); }
  std::vector<float> as_f32() const;    // F32 only
  std::vector<int64_t> as_i64() const;  // I64 or I32
  void copy_f32(float* out) const;      // F32 only, numel() floats
  static StTensor f32(std::vector<int64_t> shape, const float* data);
  // Points at data, which must outlive the tensor (no copy).
  static StTensor f32_view(std::vector<int64_t> shape, const float* data);
};

struct StFile {
  std::map<std::string, StTensor> tensors;
  std::map<std::string, std::string> metadata;
};

// Throws std::runtime_error "PATH: problem" on a missing, truncated or corrupt file.
StFile read_safetensors(const std::string& path);

// Reads the header (all the checks of read_safetensors), then tensors one by one
// straight into the caller's memory: loading a model needs no second copy of it.
class StReader {
 public:
  explicit StReader(const std::string& path);
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string& path() const { return path_; }
  // dtype and shape of each tensor (bytes empty); nullptr when absent
  const StTensor* find(const std::string& name) const;
  const std::map<std::string, StTensor>& tensors() const { return tensors_; }
  void read_into(const std::string& name, void* dst) const;  // its nbytes() bytes

 private:
  std::string path_;
  std::map<std::string, std::string> metadata_;
  std::map<std::string, StTensor> tensors_;
  std::map<std::string, uint64_t> offsets_;  // from the start of the file
};
// "[2, 3]"
std::string shape_text(const std::vector<int64_t>& shape);

// Atomic (temporary file, fsync, rename); tensor data is streamed from where it lies.
void write_safetensors(const std::string& path, const StFile& f);

}  // namespace s3rec
