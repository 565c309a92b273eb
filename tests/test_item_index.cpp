// Serving through a faiss index: the exact kind answers exactly what a brute-force ranking
// answers; HNSW and IVF searched exhaustively find the exact top items with the exact
// scores; filters and history exclusion hold through the index (selector path), with k
// answers whenever k items qualify; index files round-trip and a stale, foreign or
// corrupt file is refused with an error naming it.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <limits>
#include <thread>

#include "s3rec/checkpoint.h"
#include "s3rec/recommender.h"
#include "s3rec/rng.h"
#include "tensor/item_scores.h"

using namespace s3rec;
namespace fs = std::filesystem;

namespace {

constexpr int kItems = 3000, kAttrs = 40, kDim = 16;

ModelConfig config() {
  ModelConfig c;
  c.hidden_size = kDim;
  c.inner_size = 32;
  c.n_items = kItems;
  c.n_attributes = kAttrs;
  c.max_seq_length = 8;
  return c;
}

// Item i has attribute 1 + i % 39; attribute 40 belongs to items 7, 8 and 9 only.
Vocabulary vocab() {
  Dataset d;
  d.n_items = kItems;
  d.n_attributes = kAttrs;
  d.item_tokens = {"[PAD]"};
  for (int i = 1; i <= kItems; ++i) d.item_tokens.push_back(std::to_string(i));
  d.attribute_tokens = {"[PAD]"};
  for (int a = 1; a <= kAttrs; ++a) {
    char name[16];
    std::snprintf(name, sizeof name, "a%d", a);
    d.attribute_tokens.emplace_back(name);
  }
  std::vector<std::vector<int>> lists(kItems + 1);
  for (int i = 1; i <= kItems; ++i) lists[size_t(i)] = {1 + i % 39};
  for (int i : {7, 8, 9}) lists[size_t(i)].push_back(40);
  d.item_attributes = AttributeTable::from_lists(lists, kItems + 2);
  return Vocabulary::from_dataset(d);
}

fs::path dir() {
  const fs::path p = fs::temp_directory_path() / "s3rec_item_index_test";
  fs::create_directories(p);
  return p;
}

// A model whose item norms vary (0.5x to 2x), as trained models' do.
std::string model_file(const std::string& name, uint64_t seed) {
  const std::string p = (dir() / name).string();
  S3RecModel m(config());
  m.init_weights(seed);
  float* E = m.params().value(m.item_embeddings_id());
  Rng rng(seed);
  for (int i = 1; i <= kItems; ++i) {
    const float s = 20.0f * (0.5f + 1.5f * float(rng.uniform()));
    for (int j = 0; j < kDim; ++j) E[i * kDim + j] *= s;
  }
  save_checkpoint(p, m, vocab().to_metadata());
  return p;
}

const std::string& model_a() {
  static const std::string p = model_file("a.safetensors", 3);
  return p;
}

std::vector<std::string> history(int u) {
  std::vector<std::string> h;
  for (int t = 0; t < 6; ++t) h.push_back(std::to_string(1 + (u * 7919 + t * 104729) % kItems));
  return h;
}

IndexOptions kind(const std::string& k) {
  IndexOptions o;
  o.kind = k;
  return o;
}

// Brute force with the model's own scores: every allowed item, sorted by (score desc, id asc).
std::vector<std::pair<int, float>> brute(const Recommender& rec, const std::vector<std::string>& h, int k,
                                         const std::function<bool(int)>& allowed) {
  std::vector<int> ids;
  for (const auto& t : h) ids.push_back(rec.vocabulary().item_id(t));
  // the hidden state: recommending every item without exclusion gives each item's score
  RecommendOptions all;
  all.exclude_history = false;
  const auto every = rec.recommend_ids({ids}, kItems, all)[0];
  std::vector<std::pair<int, float>> out;
  for (const auto& [i, s] : every)
    if (allowed(i)) out.emplace_back(i, s);
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.second > b.second || (a.second == b.second && a.first < b.first); });
  if (out.size() > size_t(k)) out.resize(size_t(k));
  return out;
}

}  // namespace

// The IVF scan's kernel: one query against rows at a stride (faiss's lists hold d + 1 floats
// per item), every width around the 16-lane step and row counts around the 4-row step.
TEST(StridedDots, EqualTheDotProductsAtEveryWidthAndStride) {
  Rng rng(5);
  for (int d : {1, 3, 15, 16, 17, 31, 64, 65, 100}) {
    for (long stride : {long(d), long(d) + 1, long(d) + 7}) {
      for (int n : {1, 3, 4, 5, 9}) {
        std::vector<float> q(static_cast<size_t>(d)), R(size_t(n) * size_t(stride), 1e30f), S(size_t(n) + 1, -7.0f);
        for (auto& v : q) v = float(rng.uniform() * 2 - 1);
        for (int j = 0; j < n; ++j)
          for (int k = 0; k < d; ++k) R[size_t(j) * size_t(stride) + size_t(k)] = float(rng.uniform() * 2 - 1);
        strided_dots(q.data(), R.data(), stride, n, d, S.data());
        for (int j = 0; j < n; ++j) {
          double want = 0, scale = 0;
          for (int k = 0; k < d; ++k) {
            want += double(q[size_t(k)]) * R[size_t(j) * size_t(stride) + size_t(k)];
            scale += std::abs(double(q[size_t(k)]) * R[size_t(j) * size_t(stride) + size_t(k)]);
          }
          EXPECT_NEAR(S[size_t(j)], want, 1e-6 * scale + 1e-7) << "d " << d << " stride " << stride << " row " << j;
        }
        EXPECT_EQ(S[size_t(n)], -7.0f) << "wrote past n";  // the padding (1e30) was never read into a score
      }
    }
  }
}

// The IVF scan reads its rows as int8 codes with a scale per row: codes round to nearest
// within -127..127 (the largest component maps to +-127), and the dots equal those of the
// dequantised rows.
TEST(I8Dots, QuantiseToNearestAndEqualTheDotProductsOfTheDequantisedRows) {
  int8_t c[5];
  const float x[5] = {1.27f, -0.6351f, 0.0f, 0.004f, -1.0f};
  const float scale = quantize_i8(x, 5, c);
  EXPECT_FLOAT_EQ(scale, 0.01f);
  EXPECT_EQ(c[0], 127);
  EXPECT_EQ(c[1], -64);  // -63.51
  EXPECT_EQ(c[2], 0);
  EXPECT_EQ(c[3], 0);  // 0.4
  EXPECT_EQ(c[4], -100);
  const float zero[3] = {0, 0, 0};
  EXPECT_EQ(quantize_i8(zero, 3, c), 0.0f);
  EXPECT_EQ(c[0], 0);
  const float odd[3] = {std::numeric_limits<float>::quiet_NaN(), 2.54f, -std::numeric_limits<float>::infinity()};
  EXPECT_FLOAT_EQ(quantize_i8(odd, 3, c), 0.02f);
  EXPECT_EQ(c[0], 0);
  EXPECT_EQ(c[1], 127);
  EXPECT_EQ(c[2], 0);
  Rng rng(6);
  for (int d : {1, 15, 16, 17, 64, 100})
    for (int n : {1, 2, 7}) {
      std::vector<float> q(static_cast<size_t>(d)), S(size_t(n) + 1, -7.0f), scales(static_cast<size_t>(n)), row(static_cast<size_t>(d));
      std::vector<int8_t> R(size_t(n) * size_t(d));
      for (auto& v : q) v = float(rng.uniform() * 2 - 1);
      for (int j = 0; j < n; ++j) {
        for (auto& v : row) v = float((rng.uniform() * 2 - 1) * (j + 1));
        scales[size_t(j)] = quantize_i8(row.data(), d, R.data() + size_t(j) * size_t(d));
        for (int k = 0; k < d; ++k)  // within half a step of the row
          EXPECT_LE(std::abs(scales[size_t(j)] * R[size_t(j) * size_t(d) + size_t(k)] - row[size_t(k)]),
                    0.5001f * scales[size_t(j)]);
      }
      i8_dots(q.data(), R.data(), scales.data(), n, d, S.data());
      for (int j = 0; j < n; ++j) {
        double want = 0, scale_sum = 0;
        for (int k = 0; k < d; ++k) {
          const double e = double(scales[size_t(j)]) * R[size_t(j) * size_t(d) + size_t(k)];
          want += double(q[size_t(k)]) * e;
          scale_sum += std::abs(double(q[size_t(k)]) * e);
        }
        EXPECT_NEAR(S[size_t(j)], want, 1e-6 * scale_sum + 1e-7) << "d " << d << " row " << j;
      }
      EXPECT_EQ(S[size_t(n)], -7.0f) << "wrote past n";
    }
}

TEST(ItemIndex, ExactKindRanksEveryItemByItsScore) {
  const Recommender rec(model_a());
  EXPECT_EQ(rec.index(), nullptr);
  // every item's score recomputed here, one FMA chain per item, against the answer
  S3RecModel m(config());
  load_checkpoint(model_a(), m);
  for (int u = 0; u < 20; ++u) {
    const auto h = history(u);
    std::vector<int> ids;
    for (const auto& t : h) ids.push_back(std::stoi(t));
    PackedSeqs s;
    s.add(ids);
    std::vector<float> f(kDim);
    m.encode_last(s, true, f.data());
    std::vector<std::pair<float, int>> all;
    const float* E = m.params().value(m.item_embeddings_id());
    for (int i = 1; i <= kItems; ++i)
      if (std::find(ids.begin(), ids.end(), i) == ids.end()) all.emplace_back(-item_score(f.data(), E + i * kDim, kDim), i);
    std::sort(all.begin(), all.end());
    const auto r = rec.recommend_ids({ids}, 10)[0];
    ASSERT_EQ(r.size(), 10u);
    for (size_t j = 0; j < 10; ++j) {
      EXPECT_EQ(r[j].first, all[j].second) << "user " << u << " rank " << j;
      EXPECT_EQ(r[j].second, -all[j].first);
    }
  }
}

TEST(ItemIndex, ExhaustiveSearchFindsTheExactAnswers) {
  const Recommender exact(model_a());
  IndexOptions hnsw = kind("hnsw");
  hnsw.ef_search = 4000;  // explores the whole graph
  IndexOptions ivf = kind("ivf");
  ivf.nlist = 20;
  ivf.nprobe = 20;  // scans every list
  for (const IndexOptions& o : {hnsw, ivf}) {
    const Recommender rec(model_a(), nullptr, o, "");
    ASSERT_NE(rec.index(), nullptr);
    EXPECT_TRUE(rec.index_built());
    for (int u = 0; u < 50; ++u) {
      const auto want = exact.recommend(history(u), 10);
      const auto got = rec.recommend(history(u), 10);
      EXPECT_EQ(got.items, want.items) << o.kind << " user " << u;
      EXPECT_EQ(got.scores, want.scores) << o.kind << " user " << u;  // rescored exactly
    }
  }
}

// Random embeddings in 16 dimensions are a hard case (trained ones cluster): the search
// settings here reach recall 0.98 (HNSW) and 0.975 (IVF) on them.
IndexOptions tuned(const std::string& k) {
  IndexOptions o = kind(k);
  o.ef_search = 256;
  o.nprobe = 32;
  return o;
}

TEST(ItemIndex, SearchHasHighRecall) {
  const Recommender exact(model_a());
  for (const std::string k : {"hnsw", "ivf"}) {
    const Recommender rec(model_a(), nullptr, tuned(k), "");
    int hits = 0;
    for (int u = 0; u < 200; ++u) {
      const auto want = exact.recommend(history(u), 10).items;
      for (const auto& t : rec.recommend(history(u), 10).items) hits += std::count(want.begin(), want.end(), t) > 0;
    }
    EXPECT_GE(hits / 2000.0, 0.95) << k;
  }
}

TEST(ItemIndex, FiltersAndExclusionHoldThroughTheIndex) {
  for (const std::string k : {"hnsw", "ivf"}) {
    IndexOptions o = tuned(k);
    o.exact_pool = 0;  // never score a filtered pool exactly: the selector path
    const Recommender rec(model_a(), nullptr, o, "");
    for (int u = 0; u < 30; ++u) {
      const auto h = history(u);
      std::vector<int> ids;
      for (const auto& t : h) ids.push_back(std::stoi(t));
      const auto not_in_history = [&](int i) { return std::find(ids.begin(), ids.end(), i) == ids.end(); };
      // history excluded: none of it comes back, and k answers
      const auto r = rec.recommend(h, 20);
      ASSERT_EQ(r.items.size(), 20u) << k;
      for (const auto& t : r.items) EXPECT_TRUE(not_in_history(std::stoi(t))) << k << " returned history item " << t;
      // attribute a5 (items with i % 39 == 4): only those, never the history, k of them
      RecommendOptions f;
      f.attributes = {"a5"};
      const auto fa = rec.recommend(h, 20, f);
      ASSERT_EQ(fa.items.size(), 20u) << k;
      for (const auto& t : fa.items) {
        EXPECT_EQ(std::stoi(t) % 39, 4) << k << " item " << t;
        EXPECT_TRUE(not_in_history(std::stoi(t)));
      }
      // and they are nearly the best such items (recall against the exact filtered ranking)
      const auto want = brute(rec, h, 20, [&](int i) { return i % 39 == 4 && not_in_history(i); });
      int hits = 0;
      for (const auto& [i, s] : want) hits += std::count(fa.items.begin(), fa.items.end(), std::to_string(i)) > 0;
      EXPECT_GE(hits, 17) << k << " user " << u;
      // attribute a40 has 3 items: all 3 come back, in exact order (the search falls back to a scan)
      RecommendOptions few;
      few.attributes = {"a40"};
      few.exclude_history = false;
      const auto r3 = rec.recommend(h, 10, few);
      const auto w3 = brute(rec, h, 10, [](int i) { return i >= 7 && i <= 9; });
      ASSERT_EQ(r3.items.size(), 3u) << k;
      for (size_t j = 0; j < 3; ++j) EXPECT_EQ(r3.items[j], std::to_string(w3[j].first));
      // a candidate list: scored exactly
      RecommendOptions c;
      c.candidates = {"5", "50", "500", h[0]};
      const auto rc = rec.recommend(h, 10, c);
      size_t expect = 0;
      for (int i : {5, 50, 500}) expect += not_in_history(i);
      EXPECT_EQ(rc.items.size(), expect) << k;
      for (const auto& t : rc.items) EXPECT_TRUE(t == "5" || t == "50" || t == "500") << t;
    }
  }
}

// One Recommender shared by 4 threads (as the HTTP server's workers share it): every kind,
// with and without filters, answers each request exactly what one thread answered. Run
// under ThreadSanitizer by `make check-tsan` (docs/reliability.md).
TEST(ItemIndex, ConcurrentRequestsAnswerWhatSequentialOnesAnswer) {
  RecommendOptions filtered;
  filtered.attributes = {"a5", "a40"};
  for (const std::string k : {"exact", "hnsw", "ivf"}) {
    const Recommender rec(model_a(), nullptr, tuned(k), "");
    std::vector<Recommendation> want;
    for (int u = 0; u < 16; ++u) want.push_back(rec.recommend(history(u), 10, u % 2 ? filtered : RecommendOptions{}));
    std::vector<int> wrong(4, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t)
      threads.emplace_back([&, t] {
        for (int round = 0; round < 3; ++round)
          for (int u = t; u < 16; u += 2) {
            const auto got = rec.recommend(history(u), 10, u % 2 ? filtered : RecommendOptions{});
            wrong[size_t(t)] += got.items != want[size_t(u)].items || got.scores != want[size_t(u)].scores;
          }
      });
    for (auto& th : threads) th.join();
    for (int t = 0; t < 4; ++t) EXPECT_EQ(wrong[size_t(t)], 0) << k << " thread " << t;
  }
}

TEST(ItemIndex, FilesRoundTripAndForeignOrCorruptFilesAreRefused) {
  const std::string b = model_file("b.safetensors", 4);  // same shape, other weights
  for (const std::string k : {"hnsw", "ivf"}) {
    const std::string path = (dir() / ("a." + k + ".index")).string();
    // as `s3rec index build` does: built from the model's rows, saved next to it
    const Recommender plain(model_a());
    const float* E = plain.item_embeddings() + kDim;  // rows of items 1..N
    const auto built = ItemIndex::build(kind(k), E, kItems, kDim);
    built->save(path, plain.checkpoint_identity());
    const Recommender loaded(model_a(), nullptr, kind(k), path);
    EXPECT_FALSE(loaded.index_built());
    for (int u = 0; u < 20; ++u) {
      const float* q = E + size_t(u * 37) * kDim;
      EXPECT_EQ(loaded.index()->search(q, 10, {}), built->search(q, 10, {})) << k << " query " << u;
    }
    // the default location MODEL.KIND.index is found without naming it
    std::filesystem::copy_file(path, default_index_path(model_a(), k), fs::copy_options::overwrite_existing);
    EXPECT_FALSE(Recommender(model_a(), nullptr, kind(k)).index_built());
    fs::remove(default_index_path(model_a(), k));

    const auto refused = [&](const std::string& model, const std::string& file, const IndexOptions& o,
                             const std::string& why) {
      try {
        Recommender r(model, nullptr, o, file);
        ADD_FAILURE() << "accepted " << file << " (" << why << ")";
      } catch (const std::runtime_error& e) {
        const std::string msg = e.what();
        EXPECT_NE(msg.find(file), std::string::npos) << msg;
        EXPECT_NE(msg.find(why), std::string::npos) << msg;
      }
    };
    refused(b, path, kind(k), "another model");  // stale: built from model a
    refused(model_a(), path, kind(k == "hnsw" ? "ivf" : "hnsw"), "was asked for");
    const std::string garbage = (dir() / "garbage.index").string();
    std::ofstream(garbage) << "this is not an index\n";
    refused(model_a(), garbage, kind(k), "not an s3rec index");
    // truncated in the middle of faiss's data
    const std::string cut = (dir() / "cut.index").string();
    {
      std::ifstream in(path, std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      std::ofstream(cut, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    }
    refused(model_a(), cut, kind(k), "corrupt");
  }
}

// A server only searches its index: faiss's own copy of the rows is freed after loading
// (N x (d + 1) floats), the answers do not change, and such an index cannot be saved.
TEST(ItemIndex, ReleasingFaissRowsKeepsTheAnswersAndForbidsSaving) {
  S3RecModel m(config());
  load_checkpoint(model_a(), m);
  const float* E = m.params().value(m.item_embeddings_id()) + kDim;  // rows of items 1..N
  for (const std::string k : {"hnsw", "ivf"}) {
    auto index = ItemIndex::build(tuned(k), E, kItems, kDim);
    std::vector<std::vector<int>> before;
    for (int u = 0; u < 30; ++u) before.push_back(index->search(E + size_t(u * 37) * kDim, 10, {}));
    const size_t bytes = index->memory_bytes();
    index->release_storage();
    EXPECT_EQ(bytes - index->memory_bytes(), size_t(kItems) * (kDim + 1) * sizeof(float)) << k;
    for (int u = 0; u < 30; ++u) EXPECT_EQ(index->search(E + size_t(u * 37) * kDim, 10, {}), before[size_t(u)]) << k;
    EXPECT_THROW(index->save((dir() / "released.index").string(), "x"), std::logic_error) << k;
    EXPECT_FALSE(fs::exists(dir() / "released.index")) << k;
  }
}
