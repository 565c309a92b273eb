// Regression tests for what fuzzing found (docs/reliability.md, "Fuzzing"): each input is
// the fuzzer's reproducer, minimised and inlined; fuzz/corpus keeps the originals.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include <fstream>

#include "s3rec/checkpoint.h"
#include "s3rec/config.h"
#include "s3rec/dataset.h"
#include "s3rec/prepare.h"
#include "s3rec/recommender.h"
#include "s3rec/safetensors.h"
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
  if (status != 200) {
    EXPECT_TRUE(j.contains("error")) << r.body;
  }
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

// A safetensors file: the 8-byte length, the header as given, then `data`.
std::string st_file(const std::string& name, const json& header, const std::string& data = "") {
  const std::string h = header.dump();
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[size_t(i)] = char((uint64_t(h.size()) >> (8 * i)) & 0xFF);
  return temp_file(name, bytes + h + data);
}

json tiny_config_json() {
  return {{"hidden_size", 4}, {"inner_size", 8},        {"n_layers", 1},         {"n_heads", 2},
          {"hidden_act", "gelu"}, {"hidden_dropout_prob", 0.0}, {"attn_dropout_prob", 0.0},
          {"layer_norm_eps", 1e-12}, {"initializer_range", 0.02}, {"max_seq_length", 3},
          {"n_items", 5},         {"n_attributes", 2}};
}

// The message of the std::runtime_error that loading `path` as a served model throws.
std::string load_error(const std::string& path) {
  try {
    Recommender rec(path);
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  return "";
}

// A checkpoint with only metadata, whose model_config is the tiny one with `key` = `value`.
std::string config_only(const std::string& name, const std::string& key, const json& value) {
  json c = tiny_config_json();
  c[key] = value;
  return st_file(name, {{"__metadata__", {{"format", "s3rec-1"}, {"model_config", c.dump()}}}});
}

}  // namespace

// fuzz_checkpoint (crafted from reading the loader, then replayed through the harness): a
// shape whose element count overflows int64 (signed overflow, then accepted as 0 elements),
// and dimensions given as floats (undefined conversion in nlohmann's get<int64_t>).
TEST(FuzzFindings, SafetensorsShapesAreCheckedWithoutOverflow) {
  const int64_t big = int64_t(1) << 40;
  const std::string overflow =
      st_file("overflow.safetensors", {{"a", {{"dtype", "F32"}, {"shape", {big, big, big}}, {"data_offsets", {0, 0}}}}});
  try {
    read_safetensors(overflow);
    ADD_FAILURE() << "accepted";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find(overflow + ": tensor 'a': shape too large"), std::string::npos) << e.what();
  }
  const std::string floats =
      st_file("float_shape.safetensors", {{"a", {{"dtype", "F32"}, {"shape", {1e300}}, {"data_offsets", {0, 4}}}}}, "abcd");
  EXPECT_THROW(read_safetensors(floats), std::runtime_error);
  const std::string larger = st_file("larger.safetensors",
                                     {{"a", {{"dtype", "F32"}, {"shape", {1000, 1000}}, {"data_offsets", {0, 4}}}}}, "abcd");
  EXPECT_THROW(read_safetensors(larger), std::runtime_error);
  const std::string empty = st_file("empty.safetensors",
                                    {{"a", {{"dtype", "F32"}, {"shape", {big, 0}}, {"data_offsets", {0, 0}}}}});
  EXPECT_EQ(read_safetensors(empty).tensors.at("a").numel(), 0) << "a tensor with a zero dimension is fine";
}

// fuzz_checkpoint (crafted, as above): a model_config in the metadata was trusted. n_items =
// 2e9 allocated 32 GB before any tensor was checked; 2^31-1 overflowed n_items + 2; a
// float overflowed its int; n_heads = 0 escaped as std::invalid_argument without the file.
TEST(FuzzFindings, CheckpointModelConfigIsCheckedBeforeAllocating) {
  const std::string huge = config_only("huge.safetensors", "n_items", 1000000000);
  EXPECT_NE(load_error(huge).find(huge + ": model_config needs tensor item_embeddings.weight of shape [1000000002, 4]"),
            std::string::npos)
      << load_error(huge);
  const std::string intmax = config_only("intmax.safetensors", "n_items", 2147483647);
  EXPECT_NE(load_error(intmax).find("n_items must be an integer in 1..1073741824"), std::string::npos);
  const std::string floaty = config_only("float.safetensors", "hidden_size", 1.5e10);
  EXPECT_NE(load_error(floaty).find("hidden_size must be an integer"), std::string::npos);
  const std::string heads = config_only("heads.safetensors", "n_heads", 0);
  EXPECT_NE(load_error(heads).find(heads + ": bad model_config metadata"), std::string::npos) << load_error(heads);
  const std::string layers = small_model("layers.safetensors", Vocabulary::identity(5, 2));
  json c = tiny_config_json();
  c["n_layers"] = 1000000;  // the file has one layer
  StFile f = read_safetensors(layers);
  f.metadata["model_config"] = c.dump();
  write_safetensors(layers, f);
  EXPECT_NE(load_error(layers).find("needs tensor item_encoder.layer.1.intermediate.dense_1.weight"), std::string::npos)
      << load_error(layers);
}

// fuzz_checkpoint (crafted): attribute ids in the vocabulary metadata given as floats.
TEST(FuzzFindings, VocabularyMetadataHoldsIntegers) {
  const std::string path = small_model("vocab.safetensors", Vocabulary::identity(5, 2));
  StFile f = read_safetensors(path);
  f.metadata["item_attributes"] = "[[], [1e300], [], [], [], []]";
  write_safetensors(path, f);
  EXPECT_NE(load_error(path).find(path + ": bad vocabulary metadata"), std::string::npos) << load_error(path);
}

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

// fuzz_http_api: an error message quoting bytes that are not UTF-8 (the request path, or
// the JSON parser's message about the body) made json::dump throw type_error 316 out of
// Api::handle.
TEST(FuzzFindings, HttpApiRepliesToBytesThatAreNotUtf8) {
  const Recommender rec(small_model("identity.safetensors", Vocabulary::identity(5, 2)));
  const serve::Api api(rec, {});
  expect_json_reply(api.handle("PUT", "/v1/\xf1\xf1ommend/batch", "{}"), 404);
  expect_json_reply(api.handle("POST", "/v1/recommend", "{\"items\xe4: [\"c\"], , \"k\": 1}"), 400);
  expect_json_reply(api.handle("POST", "/v1/recommend", "{\"items\": [1], \"k\": 1}"), 200);
}

// fuzz_http_api (found by CI's 10 s run): a number beyond double's range (18446e44073709551616,
// 1e400) made the JSON parser throw out_of_range 406, not parse_error, out of Api::handle.
TEST(FuzzFindings, HttpApiRefusesNumbersBeyondDouble) {
  const Recommender rec(small_model("identity.safetensors", Vocabulary::identity(5, 2)));
  const serve::Api api(rec, {});
  for (const char* body : {"18446e44073709551616 \"}", "{\"items\": [1], \"k\": 1e400}", "[-1e999]"}) {
    const serve::Reply r = api.handle("POST", "/v1/recommend", body);
    expect_json_reply(r, 400);
    EXPECT_NE(r.body.find("malformed JSON"), std::string::npos) << r.body;
  }
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

// fuzz_prepare: a user or item token (or an attribute value) that is not UTF-8 made
// write_prepared throw json type_error 316 while writing NAME_vocab.json. Such rows are now
// bad rows, counted and reported with their line like any other.
TEST(FuzzFindings, PrepareCountsTokensThatAreNotUtf8AsBadRows) {
  PrepareOptions o;
  o.input = temp_file("log.csv", "user_id,item_id,timestamp\nu1,i7,100\nu1,i8,101\nu1,\x8f\xce,102\nu1,i0,103\n"
                                 "u2,i7,100\nu2,i8,101\nu2,i0,102\n");
  o.items = temp_file("items.csv", "item_id,genre\ni7,a|b\ni8,caf\xe9\n");
  o.item_attribute = {"genre"};
  o.k = 1;
  o.dataset = "u";
  o.output = temp_path("prepared");
  const Prepared p = prepare_dataset(o);
  EXPECT_EQ(p.stats.rows_bad, 2);
  ASSERT_GE(p.problems.size(), 2u);  // then a warning: 3 items are too few for sampled negatives
  EXPECT_NE(p.problems[0].find("log.csv:4: item is not valid UTF-8"), std::string::npos) << p.problems[0];
  EXPECT_NE(p.problems[1].find("items.csv:3: attribute value is not valid UTF-8"), std::string::npos) << p.problems[1];
  EXPECT_EQ(p.data.n_items, 3);
  EXPECT_NO_THROW(write_prepared(p, o));
}

// fuzz_prepare (CI, 2026-11-28): a number beyond double in a JSON attribute table (1e400) made
// the parser throw out_of_range 406, which prepare caught only as parse_error: the run died in
// std::terminate. It is now a DataError naming the file, like any other malformed JSON.
TEST(FuzzFindings, PrepareRefusesJsonNumbersBeyondDouble) {
  PrepareOptions o;
  o.input = temp_file("log.csv", "user_id,item_id,timestamp\nu1,i7,100\nu1,i8,101\nu1,i0,102\n");
  o.k = 1;
  o.dataset = "u";
  o.output = temp_path("prepared");
  for (const char* text : {"{\"i7\": [1e400]}", "{\"i7\": [-1e999, 2]}", "{\"i7\": 18446e44073709551616}"}) {
    o.items = temp_file("big_number.json", text);
    try {
      prepare_dataset(o);
      ADD_FAILURE() << "accepted " << text;
    } catch (const DataError& e) {
      EXPECT_NE(std::string(e.what()).find("big_number.json"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("malformed JSON"), std::string::npos) << e.what();
    }
  }
}

// The same class in the RecBole reader (found by reading it after the prepare finding): its
// raw tokens become the vocabulary a fine-tuned model stores as JSON.
TEST(FuzzFindings, RecboleRefusesTokensThatAreNotUtf8) {
  const fs::path dir = temp_path("recbole");
  fs::create_directories(dir);
  std::ofstream(dir / "R.inter") << "user_id:token\titem_id:token\ttimestamp:float\nu\ta\t1\nu\t\xff\t2\nu\tc\t3\n";
  try {
    load_recbole_atomic(dir.string(), "R", {});
    ADD_FAILURE() << "accepted";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("R.inter:3: user_id or item_id is not valid UTF-8"), std::string::npos)
        << e.what();
  }
}

// fuzz_reference: "4 19796757 6 13" declares a catalogue of 19.8 million items (ids are
// dense, the largest is N); loading it takes seconds under the sanitizers (a libFuzzer
// timeout). Not a defect, but the bound on ids is now LoadOptions::max_id (default 1e8 as
// before), so the harnesses can keep catalogues small; the error names the file and line.
TEST(FuzzFindings, ReferenceFormatIdsAreBoundedByMaxId) {
  const fs::path dir = temp_path("reference");
  fs::create_directories(dir);
  std::ofstream(dir / "T.txt") << "1 1 2 3\n2 4 5 200\n";
  std::ofstream(dir / "T_item2attributes.json") << R"({"1": [7], "2": [300]})";
  LoadOptions o;
  o.generate_sample_if_missing = false;
  EXPECT_EQ(load_reference_format(dir.string(), "T", o).n_attributes, 300);
  o.max_id = 250;
  try {
    load_reference_format(dir.string(), "T", o);
    ADD_FAILURE() << "accepted";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("item 2: attribute 300 exceeds 250"), std::string::npos) << e.what();
  }
  o.max_id = 100;
  try {
    load_reference_format(dir.string(), "T", o);
    ADD_FAILURE() << "accepted";
  } catch (const DataError& e) {
    EXPECT_NE(std::string(e.what()).find("T.txt:2: item id 200 exceeds 100"), std::string::npos) << e.what();
  }
}
