// `s3rec prepare`: input forms and their errors, the k-core fixed point, tie order,
// id and vocabulary maps, and a round trip of generated data through CSV files.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "s3rec/prepare.h"
#include "s3rec/synthetic.h"

using namespace s3rec;
namespace fs = std::filesystem;

namespace {

fs::path dir() {
  const fs::path d = fs::temp_directory_path() / "s3rec_prepare_test";
  fs::create_directories(d);
  return d;
}

std::string write(const std::string& name, const std::string& text) {
  const fs::path p = dir() / name;
  std::ofstream(p) << text;
  return p.string();
}

std::vector<Interaction> rows(std::initializer_list<std::pair<const char*, const char*>> pairs) {
  std::vector<Interaction> v;
  long n = 0;
  for (const auto& [u, i] : pairs) v.push_back({u, i, double(n), n++});
  return v;
}

}  // namespace

TEST(Prepare, KCoreRepeatsUntilNothingChanges) {
  // k = 2. Item z has one interaction: removing it leaves user c with one, whose removal
  // leaves item y with one, whose removal leaves user b with one: three rounds cascade.
  auto r = rows({{"a", "x"}, {"a", "w"}, {"d", "x"}, {"d", "w"},  // a stable 2-core
                 {"b", "x"}, {"b", "y"}, {"c", "y"}, {"c", "z"}});
  const int rounds = kcore_filter(r, 2);
  std::vector<std::string> left;
  for (const auto& x : r) left.push_back(x.user + x.item);
  EXPECT_EQ(left, (std::vector<std::string>{"ax", "aw", "dx", "dw"}));
  EXPECT_EQ(rounds, 4);
  // a fixed point: filtering again changes nothing
  EXPECT_EQ(kcore_filter(r, 2), 0);
  EXPECT_EQ(r.size(), 4u);
  // k = 1 keeps everything
  auto all = rows({{"a", "x"}, {"b", "y"}});
  EXPECT_EQ(kcore_filter(all, 1), 0);
  EXPECT_EQ(all.size(), 2u);
}

TEST(Prepare, SortsByTimeStablyAndNumbersAsDocumented) {
  // users 10, 9, 100 (numeric order 9, 10, 100); ties at t=5 keep file order
  const std::string in = write("ties.csv",
                               "user_id,item_id,timestamp\n"
                               "10,b,5\n10,a,5\n10,c,1\n"
                               "9,c,2\n9,d,1\n9,a,3\n"
                               "100,a,7\n100,d,7\n100,b,7\n100,a,8\n");
  PrepareOptions o;
  o.input = in;
  o.dataset = "ties";
  o.k = 1;
  Prepared p = prepare_dataset(o);
  const Dataset& d = p.data;
  EXPECT_EQ(d.user_tokens, (std::vector<std::string>{"9", "10", "100"}));
  // user 9 read first: d(1) c(2) a(3); then 10: c b a; then 100: a d b a
  EXPECT_EQ(d.item_tokens, (std::vector<std::string>{"[PAD]", "d", "c", "a", "b"}));
  EXPECT_EQ(d.user_seqs[0], (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(d.user_seqs[1], (std::vector<int>{2, 4, 3}));     // c@1, then b and a tied at 5 in file order
  EXPECT_EQ(d.user_seqs[2], (std::vector<int>{3, 1, 4, 3}));  // repeats kept without --dedup
  o.dedup = true;
  p = prepare_dataset(o);
  EXPECT_EQ(p.stats.duplicates_dropped, 1);
  EXPECT_EQ(p.data.user_seqs[2], (std::vector<int>{3, 1, 4}));  // the earliest a is kept
  // non-numeric user tokens sort as strings
  o.input = write("names.tsv", "user_id\titem_id\ttimestamp\nbob\tx\t1\nbob\ty\t2\nbob\tz\t3\n"
                               "al\tz\t1\nal\tx\t2\nal\ty\t3\n");
  o.dedup = false;
  p = prepare_dataset(o);
  EXPECT_EQ(p.data.user_tokens, (std::vector<std::string>{"al", "bob"}));
}

TEST(Prepare, AttributeTablesInEveryForm) {
  const std::string in = write("a.inter",
                               "user_id:token\titem_id:token\ttimestamp:float\n"
                               "1\t10\t1\n1\t20\t2\n1\t30\t3\n");
  PrepareOptions o;
  o.input = in;
  o.dataset = "a";
  o.k = 1;
  // RecBole .item, token_seq split on spaces
  o.items = write("a.item", "item_id:token\tclass:token_seq\n10\tAction Comedy\n20\tDrama\n30\tComedy\n");
  o.item_attribute = {"class"};
  Prepared p = prepare_dataset(o);
  EXPECT_EQ(p.data.attribute_tokens, (std::vector<std::string>{"[PAD]", "Action", "Comedy", "Drama"}));
  EXPECT_EQ(p.data.item_attributes.list(1), (std::vector<int>{1, 2}));
  EXPECT_EQ(p.data.item_attributes.list(3), (std::vector<int>{2}));
  EXPECT_NEAR(p.stats.avg_attributes_per_item, 4.0 / 3.0, 1e-12);
  // CSV with quotes, two fields: tokens become field=value
  o.items = write("a_items.csv", "item_id,genre,brand\n10,\"rock|pop\",acme\n20,jazz,\"a, b\"\n");
  o.item_attribute = {"genre", "brand"};
  p = prepare_dataset(o);
  EXPECT_EQ(p.data.attribute_tokens,
            (std::vector<std::string>{"[PAD]", "genre=rock", "genre=pop", "brand=acme", "genre=jazz", "brand=a, b"}));
  EXPECT_EQ(p.stats.items_without_attributes, 1);  // item 30
  // JSON, reference style {"item": [attrs]}
  o.items = write("a_attrs.json", R"({"10": [5, 6], "30": [6]})");
  o.item_attribute = {};
  p = prepare_dataset(o);
  EXPECT_EQ(p.data.attribute_tokens, (std::vector<std::string>{"[PAD]", "5", "6"}));
  EXPECT_EQ(p.data.item_attributes.list(3), (std::vector<int>{2}));
  // JSON records
  o.items = write("a_records.json", R"([{"item_id": "20", "tags": ["x", "y"]}, {"item_id": 10, "tags": "x"}])");
  o.item_attribute = {"tags"};
  p = prepare_dataset(o);
  EXPECT_EQ(p.data.item_attributes.list(2), (std::vector<int>{1, 2}));
  EXPECT_EQ(p.data.item_attributes.list(1), (std::vector<int>{1}));
}

TEST(Prepare, BadInputIsCountedOrNamed) {
  PrepareOptions o;
  o.dataset = "bad";
  o.k = 1;
  o.input = write("bad.csv",
                  "user_id,item_id,timestamp\n"
                  "1,a,1\n"
                  "1,b\n"         // line 3: too few fields
                  "1,c,soon\n"    // line 4: timestamp
                  "\n"            // blank: ignored
                  ",d,5\n"        // line 6: empty user
                  "1,\"e,2\n"     // line 7: unterminated quote
                  "1,f,2\n1,g,3\n");
  Prepared p = prepare_dataset(o);
  EXPECT_EQ(p.stats.rows_bad, 4);
  EXPECT_EQ(p.stats.rows_read, 7);
  ASSERT_GE(p.problems.size(), 4u);
  EXPECT_NE(p.problems[0].find("bad.csv:3:"), std::string::npos) << p.problems[0];
  EXPECT_NE(p.problems[1].find("bad.csv:4: timestamp 'soon'"), std::string::npos) << p.problems[1];
  EXPECT_NE(p.problems[2].find("bad.csv:6: empty user"), std::string::npos) << p.problems[2];
  EXPECT_NE(p.problems[3].find("bad.csv:7: unterminated quote"), std::string::npos) << p.problems[3];
  EXPECT_EQ(p.data.user_seqs[0].size(), 3u);

  o.input = write("nocol.csv", "user,item,timestamp\n1,a,1\n");
  try {
    prepare_dataset(o);
    FAIL() << "expected a DataError";
  } catch (const DataError& e) {
    EXPECT_EQ(e.line(), 1);
    EXPECT_NE(std::string(e.what()).find("no column 'user_id'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("columns: user, item, timestamp"), std::string::npos) << e.what();
  }
  o.input = write("empty.csv", "");
  EXPECT_THROW(prepare_dataset(o), DataError);
  o.input = write("few.csv", "user_id,item_id,timestamp\n1,a,1\n1,b,2\n");  // 2 items: below leave-one-out
  EXPECT_THROW(prepare_dataset(o), DataError);
  o.input = (dir() / "missing.csv").string();
  EXPECT_THROW(prepare_dataset(o), DataError);
  o.input = write("ok.csv", "user_id,item_id,timestamp\n1,a,1\n1,b,2\n1,c,3\n");
  o.items = write("broken.json", "{\"a\": [1,");
  EXPECT_THROW(prepare_dataset(o), DataError);
}

TEST(Prepare, RoundTripOfGeneratedData) {
  SyntheticOptions so;
  so.users = 80;
  so.items = 150;
  so.clusters = 5;
  so.max_length = 12;
  const Dataset g = make_synthetic(so);
  // rows in a scrambled order, time = position in the user's sequence
  std::string csv = "user_id,item_id,timestamp\n";
  for (int pass = 0; pass < 2; ++pass)
    for (int u = g.num_users() - 1; u >= 0; --u)
      for (size_t t = size_t(pass); t < g.user_seqs[size_t(u)].size(); t += 2)
        csv += "u" + std::to_string(u) + ",item" + std::to_string(g.user_seqs[size_t(u)][t]) + "," + std::to_string(t) + "\n";
  std::string items = "item_id,tags\n";
  for (int i = 1; i <= g.n_items; ++i) {
    items += "item" + std::to_string(i) + ",";
    for (size_t a = 0; a < g.item_attributes[size_t(i)].size(); ++a)
      items += (a ? "|" : "") + std::to_string(g.item_attributes[size_t(i)][a]);
    items += "\n";
  }
  PrepareOptions o;
  o.input = write("gen.csv", csv);
  o.items = write("gen_items.csv", items);
  o.item_attribute = {"tags"};
  o.dataset = "gen";
  o.output = (dir() / "gen_out").string();
  o.k = 1;
  const Prepared p = prepare_dataset(o);
  write_prepared(p, o);
  LoadOptions lo;
  lo.generate_sample_if_missing = false;
  const Dataset back = load_reference_format(o.output, "gen", lo);
  ASSERT_EQ(back.num_users(), g.num_users());
  EXPECT_EQ(back.sample_negatives.size(), size_t(g.num_users()));
  std::ifstream vin(fs::path(o.output) / "gen_vocab.json");
  const auto vocab = nlohmann::json::parse(vin);
  for (int u = 0; u < back.num_users(); ++u) {
    // user token "uK" -> original row K; every item maps back through the vocabulary
    const std::string ut = vocab["users"][size_t(u)];
    const int orig = std::stoi(ut.substr(1));
    std::vector<int> seq;  // original item ids
    for (int id : back.user_seqs[size_t(u)])
      seq.push_back(std::stoi(vocab["items"][size_t(id - 1)].get<std::string>().substr(4)));
    EXPECT_EQ(seq, g.user_seqs[size_t(orig)]) << "user " << ut;
    for (size_t t = 0; t < seq.size(); ++t) {
      std::vector<int> attrs;
      for (int a : back.item_attributes[size_t(back.user_seqs[size_t(u)][t])])
        attrs.push_back(std::stoi(vocab["attributes"][size_t(a - 1)].get<std::string>()));
      std::vector<int> want = g.item_attributes.list(seq[t]);
      std::sort(attrs.begin(), attrs.end());
      std::sort(want.begin(), want.end());
      EXPECT_EQ(attrs, want);
    }
  }
  std::ifstream sin(fs::path(o.output) / "gen_stats.json");
  const auto stats = nlohmann::json::parse(sin);
  EXPECT_EQ(stats["actions"], g.num_actions());
  EXPECT_EQ(stats["users"], g.num_users());
}
