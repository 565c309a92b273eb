// The serving vocabulary: names of items and attributes in flat arrays, their lookup,
// and their round trip through checkpoint metadata.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

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

}  // namespace
}  // namespace s3rec
