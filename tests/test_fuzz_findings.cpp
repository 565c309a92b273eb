// Regression tests for what fuzzing found (docs/reliability.md, "Fuzzing"): each input is
// the fuzzer's reproducer, minimised and inlined; fuzz/corpus keeps the originals.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include <fstream>

#include "s3rec/checkpoint.h"
#include "s3rec/config.h"
#include "s3rec/recommender.h"
#include "serve/http_api.h"

using namespace s3rec;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

std::string temp_path(const std::string& name) {
  const fs::path dir = fs::temp_directory_path() / "s3rec_fuzz_findings";
  fs::create_directories(dir);
  return (dir / name).string();
}

// A 5-item model; its items are answered by the tokens of `vocab`.
std::string small_model(const std::string& name, const Vocabulary& vocab) {
  ModelConfig c;
  c.hidden_size = 4;
  c.inner_size = 8;
  c.n_layers = 1;
  c.max_seq_length = 3;
  c.n_items = 5;
  c.n_attributes = 2;
  S3RecModel m(c);
  m.init_weights(7);
  const std::string path = temp_path(name);
  save_checkpoint(path, m, vocab.to_metadata());
  return path;
}

// A reply must be JSON whatever the request held; 4xx replies carry "error".
void expect_json_reply(const serve::Reply& r, int status) {
  EXPECT_EQ(r.status, status) << r.body;
  const json j = json::parse(r.body, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << r.body;
  if (status != 200) EXPECT_TRUE(j.contains("error")) << r.body;
}

std::string temp_file(const std::string& name, const std::string& text) {
  const std::string path = temp_path(name);
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

// The message of the ConfigError that loading `yaml` throws ("" when it loads).
std::string config_error(const std::string& yaml) {
  const std::string path = temp_file("run.yaml", yaml);
  try {
    load_run_config({path}, {});
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

// fuzz_config: a list holding a list or a mapping, or a key that is not a plain name,
// threw yaml-cpp's TypedBadConversion (not a ConfigError, and without the file name).
TEST(FuzzFindings, ConfigRefusesNestedValuesAndComplexKeys) {
  EXPECT_NE(config_error("item_attribute:\n  - genre\n  - [year, month]\n")
                .find("run.yaml:1: item_attribute: expected a list of plain values"),
            std::string::npos);
  EXPECT_NE(config_error("item_attribute:\n  - {a: 1}\n").find("expected a list of plain values"), std::string::npos);
  EXPECT_NE(config_error("? [hidden_size]\n: 64\n").find("run.yaml:1: a key must be a plain name"), std::string::npos);
  EXPECT_EQ(config_error("item_attribute: [genre, year]\nhidden_size: 32\n"), "");
}

 message quoting bytes that are not UTF-8 (the request path, or
// the JSON parser's message about the body) made json::dump throw type_error 316 out of
// Api::handle.
TEST(FuzzFindings, HttpApiRepliesToBytesThatAreNotUtf8) {
  const Recommender rec(small_model("identity.safetensors", Vocabulary::identity(5, 2)));
  const serve::Api api(rec, {});
  expect_json_reply(api.handle("PUT", "/v1/\xf1\xf1ommend/batch", "{}"), 404);
  expect_json_reply(api.handle("POST", "/v1/recommend", "{\"items\xe4: [\"c\"], , \"k\": 1}"), 400);
  expect_json_reply(api.handle("POST", "/v1/recommend", "{\"items\": [1], \"k\": 1}"), 200);
}

// The same for the answer itself: a vocabulary read from raw data may hold tokens that
// are not UTF-8 (a Latin-1 catalogue); they are answered, with U+FFFD for the bad bytes.
TEST(FuzzFindings, HttpApiAnswersTokensThatAreNotUtf8) {
  Dataset d;
  d.n_items = 5;
  d.n_attributes = 2;
  d.item_tokens = {"[PAD]", "caf\xe9", "b", "c", "d", "e"};
  d.item_attributes = AttributeTable::from_lists({}, 7);
  const Vocabulary v = Vocabulary::from_dataset(d);
  const std::string path = small_model("latin1.safetensors", Vocabulary::identity(5, 2));
  const Recommender rec(path, &v);
  const serve::Api api(rec, {});
  const serve::Reply r = api.handle("POST", "/v1/recommend", "{\"items\": [\"b\"], \"k\": 5}");
  expect_json_reply(r, 200);
  EXPECT_NE(r.body.find("caf\xef\xbf\xbd"), std::string::npos) << r.body;
}
