// The HTTP API as a function (method, path, body) -> reply, over two small models: one
// with named items and attributes, one with numeric item ids. Input: a first line
// "METHOD PATH", then the body. Api::handle must never throw; every reply must be 200 or
// a 4xx, with a JSON body (an object with "error" for a 4xx).
#include <nlohmann/json.hpp>

#include "fuzz_input.h"
#include "serve/http_api.h"
#include "tiny_model.h"

using namespace s3rec;

namespace {

const serve::Api* api[2];

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  static std::unique_ptr<Recommender> rec[2];
  serve::Limits limits;
  limits.max_body_bytes = 4096;
  limits.max_history = 20;
  limits.max_batch = 4;
  for (int named = 0; named < 2; ++named) {
    const std::string path = fuzz::scratch_path(named ? "named.safetensors" : "numeric.safetensors");
    fuzz::save_tiny_model(path, named);
    rec[named] = std::make_unique<Recommender>(path);
    api[named] = new serve::Api(*rec[named], limits);
  }
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view in = fuzz::as_view(data, size);
  const size_t eol = in.find('\n');
  const std::string_view head = in.substr(0, eol);
  const size_t space = head.find(' ');
  if (space == std::string_view::npos) return 0;
  const std::string method(head.substr(0, space)), path(head.substr(space + 1)),
      body(eol == std::string_view::npos ? std::string_view() : in.substr(eol + 1));
  for (const serve::Api* a : api) {
    const serve::Reply r = a->handle(method, path, body);
    if (r.status != 200 && (r.status < 400 || r.status > 499)) fuzz::finding("status " + std::to_string(r.status));
    const auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (j.is_discarded()) fuzz::finding("reply is not JSON: " + r.body);
    if (r.status != 200 && !(j.is_object() && j.contains("error"))) fuzz::finding("4xx without 'error': " + r.body);
  }
  return 0;
}
