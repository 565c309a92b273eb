// The serving vocabulary: names of items and attributes in flat arrays, their lookup,
// and their round trip through checkpoint metadata.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "s3rec/checkpoint.h"
#include "s3rec/model.h"
#include "s3rec/recommender.h"
#include "s3rec/token_table.h"
#include "s3rec/vocabulary.h"

namespace s3rec {
namespace {

std::string error_of(const std::map<std::string, std::string>& meta) {
  try {
    Vocabulary v;
    v.from_metadata(meta, "m.safetensors");
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST(TokenTable, FindsEveryNameAndOnlyThem) {
  const TokenTable t = TokenTable::from_vector({"ignored", "b", "a", "sku-17", "", "a"});
  ASSERT_EQ(t.size(), 6u);
  EXPECT_EQ(t.count(), 5);
  EXPECT_FALSE(t.is_numbered());
  EXPECT_EQ(t[0], "[PAD]");
  EXPECT_EQ(t[1], "b");
  EXPECT_EQ(t[4], "4");  // an empty name becomes its id
  EXPECT_EQ(t.find("b"), 1);
  EXPECT_EQ(t.find("a"), 2);  // repeated: the first wins
  EXPECT_EQ(t.find("sku-17"), 3);
  EXPECT_EQ(t.find("4"), 4);
  EXPECT_EQ(t.find("[PAD]"), 0);
  EXPECT_EQ(t.find(""), 0);
  EXPECT_EQ(t.find("sku-1"), 0);
  EXPECT_FALSE(t.integers());
  EXPECT_EQ(t.to_vector(), (std::vector<std::string>{"[PAD]", "b", "a", "sku-17", "4", "a"}));
}

TEST(TokenTable, ManyRandomNamesAreAllFoundAndSmall) {
  std::mt19937 rng(5);
  std::vector<std::string> names{"[PAD]"};
  for (int i = 0; i < 200000; ++i) names.push_back("B0" + std::to_string(rng() % 100000000u) + "x" + std::to_string(i));
  const TokenTable t = TokenTable::from_vector(names);
  for (size_t i = 1; i < names.size(); ++i) ASSERT_EQ(t.find(names[i]), int(i)) << names[i];
  EXPECT_EQ(t.find("B0"), 0);
  EXPECT_EQ(t.find(names.back() + "0"), 0);
  size_t chars = 0;
  for (const auto& n : names) chars += n.size();
  // characters + an 8-byte offset + at most 16 bytes of table per name
  EXPECT_LE(t.memory_bytes(), chars * 2 + names.size() * 24);
}

TEST(TokenTable, NamesOneToNAreHeldImplicitly) {
  std::vector<std::string> names{"[PAD]"};
  for (int i = 1; i <= 1000; ++i) names.push_back(std::to_string(i));
  const TokenTable t = TokenTable::from_vector(names);
  EXPECT_TRUE(t.is_numbered());
  EXPECT_EQ(t.memory_bytes(), 0u);
  EXPECT_EQ(t.to_vector(), names);
  EXPECT_EQ(t.find("1"), 1);
  EXPECT_EQ(t.find("1000"), 1000);
  for (const char* bad : {"0", "1001", "007", "-1", "+1", "1e3", "", "99999999999999999999", "[PAD]", "12a"})
    EXPECT_EQ(t.find(bad), 0) << bad;
  EXPECT_TRUE(t.integers());
  // "1".."N" with one gap is stored, and still found
  names[500] = "5000";
  const TokenTable s = TokenTable::from_vector(names);
  EXPECT_FALSE(s.is_numbered());
  EXPECT_TRUE(s.integers());
  EXPECT_EQ(s.find("5000"), 500);
  EXPECT_EQ(s.find("500"), 0);
  // appending to the implicit form stores it
  TokenTable n = TokenTable::numbered(3);
  n.push_back("x");
  n.index();
  EXPECT_EQ(n.to_vector(), (std::vector<std::string>{"[PAD]", "1", "2", "3", "x"}));
  EXPECT_EQ(n.find("x"), 4);
  EXPECT_EQ(n.find("2"), 2);
  EXPECT_FALSE(n.integers());
}

TEST(Vocabulary, MetadataRoundTrip) {
  Dataset d;
  d.n_items = 4;
  d.n_attributes = 3;
  d.item_tokens = {"[PAD]", "d", "c", "a", "b"};
  d.attribute_tokens = {"[PAD]", "red", "", "blue"};
  d.item_attributes = AttributeTable::from_lists({{}, {3, 1}, {}, {2}, {1, 2, 3}}, 6);  // row 5: the mask token
  const Vocabulary v = Vocabulary::from_dataset(d);
  EXPECT_EQ(v.item_attributes.rows(), 5);
  EXPECT_EQ(v.attribute_id("2"), 2);
  Vocabulary back;
  ASSERT_TRUE(back.from_metadata(v.to_metadata(), "m"));
  EXPECT_EQ(back.item_tokens.to_vector(), (std::vector<std::string>{"[PAD]", "d", "c", "a", "b"}));
  EXPECT_EQ(back.attribute_tokens.to_vector(), (std::vector<std::string>{"[PAD]", "red", "2", "blue"}));
  EXPECT_EQ(back.item_attributes.to_lists(), (std::vector<std::vector<int>>{{}, {1, 3}, {}, {2}, {1, 2, 3}}));
  EXPECT_EQ(back.item_id("a"), 3);
  EXPECT_EQ(back.item_id("e"), 0);
  EXPECT_FALSE(back.from_metadata({}, "m"));  // no vocabulary: not an error

  const Vocabulary id = Vocabulary::identity(1000, 7);
  EXPECT_LT(id.memory_bytes(), 1002 * sizeof(int) + 64);
  ASSERT_TRUE(back.from_metadata(id.to_metadata(), "m"));
  EXPECT_TRUE(back.item_tokens.is_numbered());
  EXPECT_EQ(back.n_items(), 1000);
  EXPECT_EQ(back.item_attributes.rows(), 1001);
}

TEST(Vocabulary, MalformedMetadataIsRefusedWithTheKey) {
  const auto meta = Vocabulary::identity(2, 1).to_metadata();
  const auto with = [&](const std::string& key, const std::string& value) {
    auto m = meta;
    m[key] = value;
    return error_of(m);
  };
  EXPECT_EQ(error_of(meta), "");
  const std::vector<std::tuple<std::string, std::string, std::string>> cases = {
      {"item_tokens", R"(["[PAD]", 1, "2"])", "item_tokens: unexpected number"},
      {"item_tokens", R"([["[PAD]"]])", "item_tokens: arrays nested too deep"},
      {"item_tokens", R"({"a": "b"})", "item_tokens: unexpected object"},
      {"item_tokens", R"(["[PAD]", "1")", "item_tokens: "},
      {"attribute_tokens", "null", "attribute_tokens: unexpected null"},
      {"item_attributes", "[[], [1e300], []]", "item_attributes: expected integer ids"},
      {"item_attributes", "[[], [-1], []]", "item_attributes: negative id"},
      {"item_attributes", "[[], [[1]], []]", "item_attributes: arrays nested too deep"},
      {"item_attributes", "[[], [4294967296], []]", "item_attributes: attribute id out of range"},
      {"item_attributes", "[[], [1], []] x", "item_attributes: "},
      {"item_attributes", "[[], [\"1\"], []]", "item_attributes: unexpected string"},
  };
  for (const auto& [key, value, want] : cases) {
    const std::string e = with(key, value);
    EXPECT_NE(e.find("m.safetensors: bad vocabulary metadata: " + want), std::string::npos) << value << " -> " << e;
  }
  EXPECT_NE(with("item_attributes", "[[], [1]]").find("item_attributes and item_tokens differ in length"),
            std::string::npos);
  EXPECT_NE(with("item_attributes", "[[], [2], []]").find("attribute id 2 out of range"), std::string::npos);
  auto m = meta;
  m.erase("item_attributes");
  EXPECT_NE(error_of(m).find("attribute_tokens or item_attributes missing"), std::string::npos) << error_of(m);
}

// A 5-item model with 3 attributes whose vocabulary is stored as tensors (forced by a
// JSON budget of 0 bytes); `edit` may spoil the file's vocabulary before it is written.
std::string tensor_vocab_model(const std::string& name, const Vocabulary& v,
                               const std::function<void(Vocabulary::Stored&)>& edit = {}) {
  ModelConfig c;
  c.hidden_size = 4;
  c.inner_size = 8;
  c.n_layers = 1;
  c.max_seq_length = 3;
  c.n_items = 5;
  c.n_attributes = 3;
  S3RecModel m(c);
  m.init_weights(3);
  Vocabulary::Stored s = v.to_checkpoint(0);
  if (edit) edit(s);
  const std::string path = (std::filesystem::temp_directory_path() / ("s3rec_vocab_" + name)).string();
  save_checkpoint(path, m, s.metadata, nullptr, s.tensors);
  return path;
}

Vocabulary named_vocab() {
  Dataset d;
  d.n_items = 5;
  d.n_attributes = 3;
  d.item_tokens = {"[PAD]", "sku-a", "sku-b", "", "caf\xc3\xa9", "sku-e"};
  d.attribute_tokens = {"[PAD]", "red", "green", "blue"};
  d.item_attributes = AttributeTable::from_lists({{}, {1}, {2, 3}, {}, {}, {3}}, 7);
  return Vocabulary::from_dataset(d);
}

std::string load_error(const std::string& path) {
  try {
    Recommender rec(path);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST(Vocabulary, LargeVocabulariesAreStoredAsTensors) {
  // the default budget: a few million names leave the header (readers cap it at 100 MB)
  EXPECT_TRUE(Vocabulary::identity(100000, 3).to_checkpoint().tensors.empty());
  const Vocabulary::Stored big = Vocabulary::identity(4000000, 3).to_checkpoint();
  EXPECT_EQ(big.metadata.at("vocabulary"), "tensors");
  EXPECT_EQ(big.metadata.at("item_tokens_numbered"), "4000000");
  EXPECT_EQ(big.tensors.count("vocabulary.item_token_bytes"), 0u);  // "1".."N" need no bytes
  EXPECT_EQ(big.tensors.at("vocabulary.item_attribute_offsets").shape, (std::vector<int64_t>{4000002}));

  const Vocabulary v = named_vocab();
  const std::string path = tensor_vocab_model("named.safetensors", v);
  const StReader f(path);
  EXPECT_EQ(f.metadata().count("item_tokens"), 0u);
  EXPECT_EQ(f.find("vocabulary.item_token_bytes")->dtype, "U8");
  Vocabulary back;
  ASSERT_TRUE(back.from_checkpoint(f));
  EXPECT_EQ(back.item_tokens.to_vector(), v.item_tokens.to_vector());
  EXPECT_EQ(back.attribute_tokens.to_vector(), v.attribute_tokens.to_vector());
  EXPECT_EQ(back.item_attributes.to_lists(), v.item_attributes.to_lists());
  EXPECT_EQ(back.item_id("caf\xc3\xa9"), 4);
  {  // each tensor starts aligned to its element size (wider dtypes are written first)
    std::ifstream in(path, std::ios::binary);
    uint64_t n = 0;
    in.read(reinterpret_cast<char*>(&n), 8);
    std::string header(n, '\0');
    in.read(header.data(), std::streamsize(n));
    const auto h = nlohmann::json::parse(header);
    const std::map<std::string, uint64_t> width = {{"F32", 4}, {"I32", 4}, {"I64", 8}, {"U8", 1}};
    for (const auto& [name, t] : h.items()) {
      if (name == "__metadata__") continue;
      EXPECT_EQ(t["data_offsets"][0].get<uint64_t>() % width.at(t["dtype"].get<std::string>()), 0u) << name;
    }
  }
  // served by its names, attribute filters included
  const Recommender rec(path);
  RecommendOptions o;
  o.attributes = {"blue"};
  const auto r = rec.recommend({"sku-a"}, 5, o);
  EXPECT_EQ(r.items.size(), 2u);  // sku-b and sku-e have blue
  for (const auto& t : r.items) EXPECT_TRUE(t == "sku-b" || t == "sku-e") << t;
  // numbered names: no token tensors, the same vocabulary back
  Vocabulary numbered = Vocabulary::identity(5, 3);
  numbered.item_attributes = AttributeTable::from_lists({{}, {3}, {}, {1, 2}}, 6);
  const std::string np = tensor_vocab_model("numbered.safetensors", numbered);
  ASSERT_TRUE(back.from_checkpoint(StReader(np)));
  EXPECT_TRUE(back.item_tokens.is_numbered());
  EXPECT_EQ(back.item_attributes.to_lists(), numbered.item_attributes.to_lists());
  EXPECT_EQ(load_error(np), "");
}

TEST(Vocabulary, MalformedVocabularyTensorsAreRefused) {
  const Vocabulary v = named_vocab();
  const auto i64 = [](std::vector<int64_t> x) {
    StTensor t;
    t.dtype = "I64";
    t.shape = {int64_t(x.size())};
    t.bytes.resize(x.size() * 8);
    std::memcpy(t.bytes.data(), x.data(), t.bytes.size());
    return t;
  };
  const std::vector<std::pair<std::function<void(Vocabulary::Stored&)>, std::string>> cases = {
      {[](auto& s) { s.tensors.erase("vocabulary.item_token_offsets"); }, "tensor vocabulary.item_token_offsets missing"},
      {[&](auto& s) { s.tensors["vocabulary.item_token_offsets"] = i64({0, 5, 3, 10, 15, 21}); },
       "vocabulary.item_token_offsets decrease at 2"},
      // found by fuzzing (2026-11-28): an offset past the bytes, before a later one decreases,
      // was read (a heap overflow) before the order was checked
      {[&](auto& s) { s.tensors["vocabulary.item_token_offsets"] = i64({0, 30, 10, 15, 18, 21}); },
       "vocabulary.item_token_offsets run past the 21 bytes at 1"},
      {[&](auto& s) { s.tensors["vocabulary.item_token_offsets"] = i64({0, 5, 10}); },
       "vocabulary.item_token_offsets must run from 0 to the number of bytes"},
      {[&](auto& s) { s.tensors["vocabulary.item_attribute_offsets"] = i64({0, 0, 1, 3, 3, 4}); },
       "vocabulary.item_attribute_offsets has 6 entries for 6 items"},
      {[&](auto& s) { s.tensors["vocabulary.item_attribute_offsets"] = i64({0, 0, 3, 1, 3, 3, 4}); },
       "vocabulary.item_attribute_offsets decrease at 3"},
      {[](auto& s) { s.tensors["vocabulary.item_attribute_ids"].dtype = "F32"; }, "tensor vocabulary.item_attribute_ids is F32 [4], expected 1-D I32"},
      {[](auto& s) { s.tensors["vocabulary.item_attribute_ids"].bytes[0] = 9; }, "attribute id 9 out of range"},
      {[](auto& s) { s.metadata["vocabulary"] = "zip"; }, "unknown form 'zip'"},
      {[](auto& s) { s.metadata["item_tokens_numbered"] = "5x"; }, "item_tokens_numbered must be a count of items"},
      {[](auto& s) { s.metadata.erase("attribute_tokens"); }, "attribute_tokens missing"},
  };
  for (const auto& [edit, want] : cases) {
    const std::string path = tensor_vocab_model("bad.safetensors", v, edit);
    const std::string e = load_error(path);
    EXPECT_NE(e.find(path + ": bad vocabulary: " + want), std::string::npos) << want << " -> " << e;
  }
  // a vocabulary of another size than the model
  const std::string path = tensor_vocab_model("six.safetensors", v, [](auto& s) { s.metadata["item_tokens_numbered"] = "6"; });
  EXPECT_NE(load_error(path).find("bad vocabulary: vocabulary.item_attribute_offsets has 7 entries for 7 items"),
            std::string::npos)
      << load_error(path);
}

}  // namespace
}  // namespace s3rec
