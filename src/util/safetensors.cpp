#include "s3rec/safetensors.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "util/atomic_write.h"

namespace s3rec {
namespace {

size_t dtype_size(const std::string& t) {
  if (t == "U8") return 1;
  if (t == "F32" || t == "I32") return 4;
  if (t == "I64" || t == "F64") return 8;
  return 0;
}

[[noreturn]] void fail(const std::string& path, const std::string& msg) { throw std::runtime_error(path + ": " + msg); }

}  // namespace

int64_t StTensor::numel() const {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

std::vector<float> StTensor::as_f32() const {
  if (dtype != "F32") throw std::runtime_error("tensor dtype " + dtype + " is not F32");
  std::vector<float> v(bytes.size() / 4);
  std::memcpy(v.data(), bytes.data(), v.size() * 4);
  return v;
}

std::vector<int64_t> StTensor::as_i64() const {
  std::vector<int64_t> v(static_cast<size_t>(numel()));
  if (dtype == "I64") {
    std::memcpy(v.data(), bytes.data(), v.size() * 8);
  } else if (dtype == "I32") {
    for (size_t i = 0; i < v.size(); ++i) {
      int32_t x;
      std::memcpy(&x, bytes.data() + 4 * i, 4);
      v[i] = x;
    }
  } else {
    throw std::runtime_error("tensor dtype " + dtype + " is not an integer type");
  }
  return v;
}

void StTensor::copy_f32(float* out) const {
  if (dtype != "F32") throw std::runtime_error("tensor dtype " + dtype + " is not F32");
  std::memcpy(out, data(), nbytes());
}

StTensor StTensor::f32_view(std::vector<int64_t> shape, const float* data) {
  StTensor t;
  t.dtype = "F32";
  t.shape = std::move(shape);
  t.view = reinterpret_cast<const uint8_t*>(data);
  return t;
}

StTensor StTensor::f32(std::vector<int64_t> shape, const float* data) {
  StTensor t;
  t.dtype = "F32";
  t.shape = std::move(shape);
  t.bytes.resize(size_t(t.numel()) * 4);
  std::memcpy(t.bytes.data(), data, t.bytes.size());
  return t;
}

StReader::StReader(const std::string& path) : path_(path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) fail(path, "cannot open");
  const int64_t size = in.tellg();
  in.seekg(0);
  if (size < 8) fail(path, "truncated (no header length)");
  uint64_t hlen = 0;
  uint8_t lenbuf[8];
  in.read(reinterpret_cast<char*>(lenbuf), 8);
  for (int i = 7; i >= 0; --i) hlen = (hlen << 8) | lenbuf[i];
  if (hlen > uint64_t(size - 8)) fail(path, "header length " + std::to_string(hlen) + " exceeds the file");
  if (hlen > (100u << 20))  // safetensors' own limit, which its readers enforce
    fail(path, "header of " + std::to_string(hlen) + " bytes exceeds the format's limit of 100 MiB");
  std::string header(hlen, '\0');
  in.read(header.data(), std::streamsize(hlen));
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(header);
  } catch (const std::exception& e) {
    fail(path, std::string("corrupt header: ") + e.what());
  }
  if (!j.is_object()) fail(path, "corrupt header: not a JSON object");
  const uint64_t data_size = uint64_t(size) - 8 - hlen;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() == "__metadata__") {
      if (!it.value().is_object()) fail(path, "__metadata__ is not an object");
      for (auto m = it.value().begin(); m != it.value().end(); ++m) {
        if (!m.value().is_string()) fail(path, "metadata value of '" + m.key() + "' is not a string");
        metadata_[m.key()] = m.value().get<std::string>();
      }
      continue;
    }
    const auto& v = it.value();
    StTensor t;
    try {
      for (const char* field : {"shape", "data_offsets"}) {  // integers: a float would convert with UB
        const auto& a = v.at(field);
        if (!a.is_array() || !std::all_of(a.begin(), a.end(), [](const auto& x) { return x.is_number_integer(); }))
          fail(path, "tensor '" + it.key() + "': " + field + " must be a list of integers");
      }
      t.dtype = v.at("dtype").get<std::string>();
      t.shape = v.at("shape").get<std::vector<int64_t>>();
      const auto off = v.at("data_offsets").get<std::vector<uint64_t>>();
      if (off.size() != 2) fail(path, "tensor '" + it.key() + "': data_offsets must have two entries");
      const size_t es = dtype_size(t.dtype);
      if (es == 0) fail(path, "tensor '" + it.key() + "': unsupported dtype " + t.dtype);
      // the element count without overflow (here and in numel(), whatever the order)
      uint64_t n = 1;
      bool empty = false;
      for (int64_t s : t.shape) {
        if (s < 0) fail(path, "tensor '" + it.key() + "': negative dimension");
        if (s == 0) empty = true;
        else if (n > (uint64_t(1) << 62) / uint64_t(s)) fail(path, "tensor '" + it.key() + "': shape too large");
        else n *= uint64_t(s);
      }
      if (empty) n = 0;
      if (n > data_size / es)
        fail(path, "tensor '" + it.key() + "': shape " + v.at("shape").dump() + " needs more bytes than the file holds");
      if (off[0] > off[1] || off[1] > data_size) fail(path, "tensor '" + it.key() + "': offsets outside the data (truncated file?)");
      if (off[1] - off[0] != n * es)
        fail(path, "tensor '" + it.key() + "': size does not match its shape and dtype");
      ranges.push_back({off[0], off[1]});
      offsets_[it.key()] = 8 + hlen + off[0];
    } catch (const nlohmann::json::exception& e) {
      fail(path, "tensor '" + it.key() + "': bad header entry: " + e.what());
    }
    tensors_.emplace(it.key(), std::move(t));
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i)
    if (ranges[i].first < ranges[i - 1].second) fail(path, "overlapping tensors");
}

const StTensor* StReader::find(const std::string& name) const {
  const auto it = tensors_.find(name);
  return it == tensors_.end() ? nullptr : &it->second;
}

void StReader::read_into(const std::string& name, void* dst) const {
  const auto it = tensors_.find(name);
  if (it == tensors_.end()) fail(path_, "tensor '" + name + "' is missing");
  const size_t n = size_t(it->second.numel()) * dtype_size(it->second.dtype);
  std::ifstream in(path_, std::ios::binary);
  in.seekg(std::streamoff(offsets_.at(name)));
  in.read(static_cast<char*>(dst), std::streamsize(n));
  if (!in) fail(path_, "tensor '" + name + "': truncated data");
}

StFile read_safetensors(const std::string& path) {
  const StReader r(path);
  StFile f;
  f.metadata = r.metadata();
  for (const auto& [name, info] : r.tensors()) {
    StTensor t = info;
    t.bytes.resize(size_t(t.numel()) * dtype_size(t.dtype));
    r.read_into(name, t.bytes.data());
    f.tensors.emplace(name, std::move(t));
  }
  return f;
}

void write_safetensors(const std::string& path, const StFile& f) {
  nlohmann::json j = nlohmann::json::object();
  if (!f.metadata.empty()) j["__metadata__"] = f.metadata;
  // wider elements first (then by name), so that every tensor starts aligned to its element
  std::vector<const std::pair<const std::string, StTensor>*> order;
  for (const auto& e : f.tensors) order.push_back(&e);
  std::stable_sort(order.begin(), order.end(),
                   [](const auto* a, const auto* b) { return dtype_size(a->second.dtype) > dtype_size(b->second.dtype); });
  uint64_t off = 0;
  for (const auto* e : order) {
    const StTensor& t = e->second;
    j[e->first] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {off, off + t.nbytes()}}};
    off += t.nbytes();
  }
  std::string header = j.dump();
  while (header.size() % 8) header += ' ';
  if (header.size() > (100u << 20))  // never write what no reader accepts
    throw std::runtime_error(path + ": header of " + std::to_string(header.size()) +
                             " bytes (metadata) exceeds the format's limit of 100 MiB");
  char len[8];
  for (int i = 0; i < 8; ++i) len[i] = char((uint64_t(header.size()) >> (8 * i)) & 0xFF);
  AtomicFile out(path);
  out.append(len, 8);
  out.append(header.data(), header.size());
  for (const auto* e : order) out.append(e->second.data(), e->second.nbytes());
  out.commit();
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

}  // namespace s3rec
