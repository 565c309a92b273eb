// Readers (both formats, bad input), sampled negatives, and the samplers' invariants.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>

#include "s3rec/dataset.h"
#include "s3rec/sampling.h"
#include "s3rec/synthetic.h"

using namespace s3rec;
namespace fs = std::filesystem;

namespace {

std::string dir_with(const std::string& tag, const std::vector<std::pair<std::string, std::string>>& files) {
  const auto d = fs::temp_directory_path() / ("s3rec_data_" + tag);
  fs::remove_all(d);
  fs::create_directories(d);
  for (const auto& [name, text] : files) std::ofstream(d / name) << text;
  return d.string();
}

std::string error_of(const std::string& dir, const std::string& name, LoadOptions o = {}) {
  try {
    load_dataset(dir, name, o);
  } catch (const DataError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST(DataReference, ReadsSequencesAttributesAndSamples) {
  const auto dir = dir_with("ok", {{"T.txt", "1 1 2 3 4\n2 5 6 7\n3 1 2\n"},
                                   {"T_item2attributes.json", R"({"1": [1, 2], "5": [3], "9": [4]})"},
                                   {"T_sample.txt", "1 5 6\n2 1 2\n3 3 4\n"}});
  LoadReport rep;
  const Dataset d = load_dataset(dir, "T", {}, &rep);
  EXPECT_EQ(d.num_users(), 2);
  EXPECT_EQ(rep.users_skipped_short, 1);
  ASSERT_EQ(rep.warnings.size(), 1u);
  EXPECT_NE(rep.warnings[0].find("T.txt:3"), std::string::npos) << rep.warnings[0];
  EXPECT_EQ(d.n_items, 7);
  EXPECT_EQ(d.n_attributes, 4);
  EXPECT_EQ(d.item_attributes.list(1), (std::vector<int>{1, 2}));
  EXPECT_TRUE(d.item_attributes[2].empty());
  EXPECT_EQ(d.sample_negatives[1], (std::vector<int>{1, 2}));
  EXPECT_EQ(d.num_actions(), 7);
}

TEST(DataReference, BadInputNamesFileLineAndProblem) {
  auto err = [](const std::string& txt, const std::string& json = "{}") {
    return error_of(dir_with("bad", {{"T.txt", txt}, {"T_item2attributes.json", json}}), "T");
  };
  EXPECT_NE(err("1 1 2 3\n\n2 4 5 6\n").find("T.txt:2: empty line"), std::string::npos);
  EXPECT_NE(err("1 1 2 x\n").find("T.txt:1: item id 'x'"), std::string::npos);
  EXPECT_NE(err("u 1 2 3\n").find("T.txt:1: user id 'u'"), std::string::npos);
  EXPECT_NE(err("1 1 2 3\n1 4 5 6\n").find("T.txt:2: duplicate user 1 (first on line 1)"), std::string::npos);
  EXPECT_NE(err("1 1 2\n").find("no usable users"), std::string::npos);
  EXPECT_NE(err("1 1 2 3\n", "{\n\"1\": [1,\n").find("T_item2attributes.json:3: malformed JSON"), std::string::npos);
  EXPECT_NE(error_of(dir_with("none", {}), "T").find("dataset not found"), std::string::npos);
  const auto with_sample = [](const std::string& s) {
    return error_of(dir_with("smp", {{"T.txt", "1 1 2 3\n2 4 5 6\n"}, {"T_sample.txt", s}}), "T");
  };
  EXPECT_NE(with_sample("1 4 5\n2 1 99\n").find("T_sample.txt:2: negative '99'"), std::string::npos);
  EXPECT_NE(with_sample("1 4 5\n").find("no negatives for user 2"), std::string::npos);
}

TEST(DataReference, GeneratesSampleNegativesWhenAbsent) {
  std::string txt;  // 40 users with 3 items each: 120 items in all
  for (int u = 1; u <= 40; ++u)
    txt += std::to_string(u) + " " + std::to_string(3 * u - 2) + " " + std::to_string(3 * u - 1) + " " + std::to_string(3 * u) + "\n";
  const Dataset d = load_dataset(dir_with("gen", {{"T.txt", txt}}), "T", {});
  ASSERT_EQ(d.sample_negatives.size(), size_t(d.num_users()));
  for (int u = 0; u < d.num_users(); ++u) {
    const auto& negs = d.sample_negatives[u];
    EXPECT_EQ(negs.size(), 99u);
    EXPECT_EQ(std::set<int>(negs.begin(), negs.end()).size(), 99u) << "drawn without replacement";
    for (int n : negs) EXPECT_EQ(std::count(d.user_seqs[u].begin(), d.user_seqs[u].end(), n), 0);
  }
  EXPECT_NE(d.sample_source.find("generated"), std::string::npos);
  const Dataset again = load_dataset(dir_with("gen", {{"T.txt", txt}}), "T", {});
  EXPECT_EQ(again.sample_negatives, d.sample_negatives) << "seeded";
}

TEST(DataRecBole, SortsByTimeStablyAndMapsAttributes) {
  const auto dir = dir_with("rb", {{"R.inter", "user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
                                               "u1\tA\t3\t10\nu1\tB\t3\t5\nu1\tC\t3\t10\nu2\tB\t1\t1\nu2\tD\t1\t2\nu2\tA\t1\t3\n"},
                                   {"R.item", "item_id:token\tclass:token_seq\tyear:token\ttag:token_seq\n"
                                              "A\tDrama Comedy\t1990\tDrama 1990\nB\tDrama\t1991\tComedy\n"
                                              "D\tHorror\t1990\t1991\n"}});
  LoadOptions o;
  o.item_attribute = {"class"};
  const Dataset d = load_dataset(dir, "R", o);
  ASSERT_EQ(d.num_users(), 2);
  // ids in order of first appearance: A=1, B=2, C=3, D=4; u1 sorted by time, tie A/C kept in file order
  EXPECT_EQ(d.user_seqs[0], (std::vector<int>{2, 1, 3}));
  EXPECT_EQ(d.user_seqs[1], (std::vector<int>{2, 4, 1}));
  EXPECT_EQ(d.item_tokens[1], "A");
  EXPECT_EQ(d.n_attributes, 3);  // Drama, Comedy, Horror
  EXPECT_TRUE(d.sample_negatives.empty()) << "4 items cannot give 99 negatives";
  EXPECT_EQ(d.item_attributes[1].size(), 2u);
  EXPECT_TRUE(d.item_attributes[3].empty());
  o.item_attribute = {"class", "year"};
  EXPECT_EQ(load_dataset(dir, "R", o).n_attributes, 5);
  // tag shares its values with class and year: with several fields each value is kept apart
  // by its field's name (without it: 5 attributes, and item A would hold 3, not 5)
  o.item_attribute = {"class", "year", "tag"};
  const Dataset t = load_dataset(dir, "R", o);
  EXPECT_EQ(t.n_attributes, 9);
  EXPECT_EQ(t.attribute_tokens, (std::vector<std::string>{"[PAD]", "class=Drama", "class=Comedy", "year=1990",
                                                          "tag=Drama", "tag=1990", "year=1991", "tag=Comedy",
                                                          "class=Horror", "tag=1991"}));
  EXPECT_EQ(t.item_attributes.list(1), (std::vector<int>{1, 2, 3, 4, 5}));  // A
  EXPECT_EQ(t.item_attributes.list(2), (std::vector<int>{1, 6, 7}));        // B: class=Drama is A's class=Drama
  EXPECT_EQ(t.item_attributes.list(4), (std::vector<int>{3, 8, 9}));        // D: year=1990 is A's
}

TEST(DataRecBole, BadHeadersAndFields) {
  auto err = [](const std::string& inter, const std::string& item = "", std::vector<std::string> attr = {}) {
    LoadOptions o;
    o.item_attribute = attr;
    std::vector<std::pair<std::string, std::string>> files{{"R.inter", inter}};
    if (!item.empty()) files.emplace_back("R.item", item);
    return error_of(dir_with("rbbad", files), "R", o);
  };
  EXPECT_NE(err("user_id\titem_id:token\ttimestamp:float\n").find("R.inter:1: header field 'user_id'"), std::string::npos);
  EXPECT_NE(err("user_id:token\ttimestamp:float\n").find("missing required field 'item_id'"), std::string::npos);
  EXPECT_NE(err("user_id:token\titem_id:token\ttimestamp:float\nu\ti\tnoon\n").find("R.inter:2: timestamp 'noon'"),
            std::string::npos);
  EXPECT_NE(err("user_id:token\titem_id:token\ttimestamp:float\nu\ti\n").find("R.inter:2: expected 3"), std::string::npos);
  const std::string ok = "user_id:token\titem_id:token\ttimestamp:float\nu\ta\t1\nu\tb\t2\nu\tc\t3\n";
  EXPECT_NE(err(ok, "item_id:token\tclass:token_seq\na\tx\n", {"genre"}).find("missing required field 'genre'"),
            std::string::npos);
}

namespace {

// Four users whose training parts s[0:n-2] hold 5, 10, 2 and 1 items.
Dataset four_users() {
  Dataset d;
  d.name = "four";
  d.n_items = 30;
  d.user_seqs = {{1, 2, 3, 4, 5, 6, 7},
                 {8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19},
                 {20, 21, 22, 23},
                 {24, 25, 26}};
  d.item_attributes = AttributeTable::from_lists({}, d.n_items + 2);
  return d;
}

// pos_items of the whole canonical order: each sample's items, samples one after another
std::vector<int> all_pretrain_items(const PretrainSampler& s, std::vector<int>* segment_items = nullptr) {
  Rng rng(1);
  PretrainBatch b;
  s.make_batch(0, s.num_samples(), rng, b);
  if (segment_items) *segment_items = b.neg_segment.items;
  return b.pos_items;
}

}  // namespace

// train_fraction f keeps the first ceil(f x n) items of each user's training part of n
// items (docs/user-guide.md), here worked out by hand: 5 -> 3, 10 -> 5, 2 -> 1, 1 -> 1 at
// f = 0.5 and 5 -> 2, 10 -> 3, 2 -> 1, 1 -> 1 at f = 0.3.
TEST(Sampling, TrainFractionReducesThePretrainingData) {
  const Dataset d = four_users();
  EXPECT_EQ(PretrainSampler(d, 50, 0.2f, 1.0).num_samples(), 18u);  // 5 + 10 + 2 + 1 prefixes
  const PretrainSampler half(d, 50, 0.2f, 0.5);
  EXPECT_EQ(half.num_samples(), 10u);  // 3 + 5 + 1 + 1
  EXPECT_EQ(PretrainSampler(d, 50, 0.2f, 0.3).num_samples(), 7u);  // 2 + 3 + 1 + 1
  std::vector<int> segments;
  EXPECT_EQ(all_pretrain_items(half, &segments),
            (std::vector<int>{1, 1, 2, 1, 2, 3, 8, 8, 9, 8, 9, 10, 8, 9, 10, 11, 8, 9, 10, 11, 12, 20, 24}));
  // negative segments come from the kept items only
  const std::set<int> kept{1, 2, 3, 8, 9, 10, 11, 12, 20, 24};
  const int M = d.n_items + 1;
  for (int x : segments) {
    if (x != M) {
      EXPECT_TRUE(kept.count(x)) << x;
    }
  }
  // the reduced part is then cut to its last max_len = 2 items: {2, 3} and {11, 12}
  EXPECT_EQ(all_pretrain_items(PretrainSampler(d, 2, 0.2f, 0.5)), (std::vector<int>{2, 2, 3, 11, 11, 12, 20, 24}));
  EXPECT_THROW(PretrainSampler(d, 50, 0.2f, 0.0), std::invalid_argument);
  // 0.28 x 25 is 7.000000000000001 in double: a training part of 25 items keeps 7, not 8
  Dataset one = d;
  one.user_seqs = {{}};
  for (int i = 1; i <= 27; ++i) one.user_seqs[0].push_back(i);
  EXPECT_EQ(PretrainSampler(one, 50, 0.2f, 0.28).num_samples(), 7u);
  EXPECT_EQ(all_pretrain_items(PretrainSampler(one, 50, 0.2f, 0.28)).back(), 7);
}

// Fine-tuning's inputs and targets from the same reduced parts: input s[0:len-1], targets
// s[1:len]; a user whose reduced part holds one item has no input and is left out.
TEST(Sampling, TrainFractionReducesTheFinetuningData) {
  const Dataset d = four_users();
  const auto batch = [&](double f, size_t users) {
    FinetuneSampler s(d, 50, f);
    EXPECT_EQ(s.num_users(), users) << f;
    Rng rng(1);
    FinetuneBatch b;
    s.make_batch(0, s.num_users(), rng, b);
    return b;
  };
  FinetuneBatch b = batch(1.0, 3);  // users 0-2 (user 3's part is 1 item)
  EXPECT_EQ(b.input.items, (std::vector<int>{1, 2, 3, 4, 8, 9, 10, 11, 12, 13, 14, 15, 16, 20}));
  b = batch(0.5, 2);
  EXPECT_EQ(b.input.items, (std::vector<int>{1, 2, 8, 9, 10, 11}));
  EXPECT_EQ(b.input.offsets, (std::vector<int>{0, 2, 6}));
  EXPECT_EQ(b.pos_items, (std::vector<int>{2, 3, 9, 10, 11, 12}));
  b = batch(0.3, 2);
  EXPECT_EQ(b.input.items, (std::vector<int>{1, 8, 9}));
  EXPECT_EQ(b.pos_items, (std::vector<int>{2, 9, 10}));
  EXPECT_THROW(FinetuneSampler(d, 50, 1.5), std::invalid_argument);
}

TEST(Sampling, PretrainSamplesFollowTheSpec) {
  SyntheticOptions so;
  so.users = 60;
  so.items = 300;
  const Dataset d = make_synthetic(so);
  PretrainSampler s(d, 10, 0.2f);
  long expect = 0;
  for (const auto& q : d.user_seqs) expect += std::min<long>(10, long(q.size()) - 2);
  EXPECT_EQ(long(s.num_samples()), expect);
  Rng rng(1);
  s.shuffle(rng);
  PretrainBatch b;
  s.make_batch(0, s.num_samples(), rng, b);
  const int M = d.n_items + 1;
  long masked = 0, maskable = 0;
  for (int i = 0; i < b.masked.num_seqs(); ++i) {
    const int o = b.masked.offsets[i], L = b.masked.length(i);
    EXPECT_LE(L, 10);
    std::vector<int> seq(b.pos_items.begin() + o, b.pos_items.begin() + o + L);
    EXPECT_EQ(b.masked.items[o + L - 1], M) << "the last position is always masked";
    for (int t = 0; t < L; ++t) {
      const bool m = b.masked.items[o + t] == M;
      if (t < L - 1) {
        masked += m;
        ++maskable;
      }
      if (m) {
        EXPECT_EQ(std::count(seq.begin(), seq.end(), b.neg_items[o + t]), 0) << "negative not in the sequence";
      } else {
        EXPECT_EQ(b.neg_items[o + t], 0);
      }
    }
    int k = 0;  // the segment: context masks exactly the positions the positive segment keeps
    for (int t = 0; t < L && L >= 2; ++t) {
      const bool in_seg = b.pos_segment.items[o + t] != M;
      k += in_seg;
      EXPECT_EQ(b.context.items[o + t] == M, in_seg);
      if (in_seg) {
        EXPECT_EQ(b.pos_segment.items[o + t], seq[t]);
      }
      EXPECT_EQ(b.neg_segment.items[o + t] != M, in_seg);
    }
    if (L >= 2) {
      EXPECT_TRUE(k >= 1 && k <= L / 2);
    } else {
      EXPECT_EQ(b.context.items[o], seq[0]);
    }
  }
  EXPECT_NEAR(double(masked) / double(maskable), 0.2, 0.03);
}

TEST(Sampling, FinetuneTargetsAreNextItemsAndNegativesUnseen) {
  SyntheticOptions so;
  so.users = 40;
  so.items = 300;
  const Dataset d = make_synthetic(so);
  FinetuneSampler s(d, 50);
  Rng rng(2);
  FinetuneBatch b;
  s.make_batch(0, s.num_users(), rng, b);
  ASSERT_EQ(b.input.num_seqs(), d.num_users());  // no user with 3 items in this data
  for (int i = 0; i < b.input.num_seqs(); ++i) {
    const auto& seq = d.user_seqs[i];
    ASSERT_EQ(size_t(b.input.length(i)), seq.size() - 3);
    for (int t = 0; t < b.input.length(i); ++t) {
      const int o = b.input.offsets[i] + t;
      EXPECT_EQ(b.input.items[o], seq[t]);
      EXPECT_EQ(b.pos_items[o], seq[t + 1]);
      EXPECT_EQ(std::count(seq.begin(), seq.end(), b.neg_items[o]), 0);
    }
  }
}
