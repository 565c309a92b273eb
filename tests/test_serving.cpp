// Serving: the Recommender API against a brute-force ranking, the JSON API's answer
// to each class of bad request, and the HTTP server on loopback (concurrent
// requests answer exactly what sequential calls answer).
#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <numeric>
#include <thread>

#include "s3rec/checkpoint.h"
#include "s3rec/recommender.h"
#include "serve/http_api.h"
#include "serve/http_server.h"
#include "serve/compute_pool.h"
#include "serve/server_metrics.h"

using namespace s3rec;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr int kItems = 30, kAttrs = 6;

ModelConfig tiny() {
  ModelConfig c;
  c.hidden_size = 16;
  c.inner_size = 32;
  c.n_items = kItems;
  c.n_attributes = kAttrs;
  c.max_seq_length = 8;
  return c;
}

// Items are named "sku-<id>", attributes "color-<id>"; item i has attribute 1 + i % 6.
Vocabulary tiny_vocab() {
  Dataset d;
  d.n_items = kItems;
  d.n_attributes = kAttrs;
  d.item_tokens = {"[PAD]"};
  for (int i = 1; i <= kItems; ++i) d.item_tokens.push_back("sku-" + std::to_string(i));
  d.attribute_tokens = {"[PAD]"};
  for (int a = 1; a <= kAttrs; ++a) d.attribute_tokens.push_back("color-" + std::to_string(a));
  std::vector<std::vector<int>> lists(kItems + 1);
  for (int i = 1; i <= kItems; ++i) lists[size_t(i)] = {1 + i % kAttrs};
  d.item_attributes = AttributeTable::from_lists(lists, kItems + 2);
  return Vocabulary::from_dataset(d);
}

const std::string& model_file() {
  static const std::string path = [] {
    const fs::path dir = fs::temp_directory_path() / "s3rec_serving_test";
    fs::create_directories(dir);
    const std::string p = (dir / "model.safetensors").string();
    S3RecModel m(tiny());
    m.init_weights(3);
    // larger item embeddings so that scores are well separated
    float* E = m.params().value(m.item_embeddings_id());
    for (int i = 0; i < (kItems + 2) * 16; ++i) E[i] *= 20.0f;
    save_checkpoint(p, m, tiny_vocab().to_metadata());
    return p;
  }();
  return path;
}

std::vector<std::string> skus(std::initializer_list<int> ids) {
  std::vector<std::string> v;
  for (int i : ids) v.push_back("sku-" + std::to_string(i));
  return v;
}

// Brute force: encode the history, score every item row 1..N, sort by (score desc, id asc).
std::vector<int> brute_force(const std::vector<int>& history, bool exclude) {
  S3RecModel m(tiny());
  load_checkpoint(model_file(), m);
  PackedSeqs s;
  const std::vector<int> h(history.end() - std::min<long>(long(history.size()), 8), history.end());
  s.add(h);
  std::vector<float> f(16);
  m.encode_last(s, true, f.data());
  const float* E = m.params().value(m.item_embeddings_id());
  std::vector<std::pair<float, int>> scored;
  for (int i = 1; i <= kItems; ++i) {
    if (exclude && std::count(history.begin(), history.end(), i)) continue;
    float x = 0;
    for (int j = 0; j < 16; ++j) x += E[i * 16 + j] * f[j];
    scored.emplace_back(-x, i);
  }
  std::sort(scored.begin(), scored.end());
  std::vector<int> ids;
  for (auto& [x, i] : scored) ids.push_back(i);
  return ids;
}

int id_of(const std::string& sku) { return std::stoi(sku.substr(4)); }

}  // namespace

TEST(Recommender, RanksLikeBruteForceAndExcludesHistory) {
  const Recommender rec(model_file());
  EXPECT_EQ(rec.config().n_items, kItems);
  const std::vector<int> history = {4, 9, 4, 17, 2, 30, 11, 5, 8, 21};  // longer than max_seq_length
  std::vector<std::string> tokens;
  for (int i : history) tokens.push_back("sku-" + std::to_string(i));
  for (bool exclude : {true, false}) {
    RecommendOptions o;
    o.exclude_history = exclude;
    const Recommendation r = rec.recommend(tokens, 10, o);
    const std::vector<int> expect = brute_force(history, exclude);
    ASSERT_EQ(r.items.size(), 10u);
    for (size_t i = 0; i < 10; ++i) EXPECT_EQ(id_of(r.items[i]), expect[i]) << "rank " << i;
    EXPECT_TRUE(std::is_sorted(r.scores.rbegin(), r.scores.rend()));
  }
  // everything, history included: exactly the N real items, never padding or the mask token
  RecommendOptions all;
  all.exclude_history = false;
  const Recommendation r = rec.recommend(tokens, kItems, all);
  std::vector<int> ids;
  for (const auto& t : r.items) ids.push_back(id_of(t));
  std::sort(ids.begin(), ids.end());
  std::vector<int> every(kItems);
  std::iota(every.begin(), every.end(), 1);
  EXPECT_EQ(ids, every);
  // with the history excluded, fewer than k remain
  EXPECT_EQ(rec.recommend(tokens, kItems).items.size(), size_t(kItems - 9));
}

TEST(Recommender, CandidatesAttributesAndBatches) {
  const Recommender rec(model_file());
  RecommendOptions o;
  o.candidates = skus({3, 5, 7, 9, 11});
  const Recommendation c = rec.recommend(skus({1, 2, 3}), 10, o);
  EXPECT_EQ(c.items.size(), 4u);  // 3 is in the history
  for (const auto& t : c.items) EXPECT_NE(std::find(o.candidates.begin(), o.candidates.end(), t), o.candidates.end());

  RecommendOptions a;
  a.attributes = {"color-2"};  // items with i % 6 == 1
  const Recommendation f = rec.recommend(skus({1, 2}), 10, a);
  EXPECT_EQ(f.items.size(), 4u);  // 7, 13, 19, 25 (1 is in the history)
  for (const auto& t : f.items) EXPECT_EQ(id_of(t) % 6, 1) << t;

  const std::vector<std::vector<std::string>> hs = {skus({1}), skus({5, 6, 7}), skus({30, 29, 28, 27})};
  const auto batch = rec.recommend_batch(hs, 5);
  for (size_t b = 0; b < hs.size(); ++b) {
    const Recommendation one = rec.recommend(hs[b], 5);
    EXPECT_EQ(batch[b].items, one.items);
    ASSERT_EQ(batch[b].scores.size(), one.scores.size());
    for (size_t i = 0; i < one.scores.size(); ++i)  // BLAS may round differently for other batch shapes
      EXPECT_NEAR(batch[b].scores[i], one.scores[i], 1e-5f * std::fabs(one.scores[i]) + 1e-6f);
  }
}

TEST(Recommender, RefusesWhatItCannotAnswer) {
  const Recommender rec(model_file());
  EXPECT_THROW(rec.recommend({"sku-99"}, 5), RequestError);
  EXPECT_THROW(rec.recommend({"7"}, 5), RequestError);  // ids are not tokens here
  EXPECT_THROW(rec.recommend({}, 5), RequestError);
  EXPECT_THROW(rec.recommend(skus({1}), 0), RequestError);
  EXPECT_THROW(rec.recommend(skus({1}), kItems + 1), RequestError);
  RecommendOptions o;
  o.attributes = {"color-9"};
  EXPECT_THROW(rec.recommend(skus({1}), 5, o), RequestError);
  EXPECT_THROW(Recommender("/nonexistent.safetensors"), std::runtime_error);
}

TEST(HttpApi, AnswersRequestsAndEndpoints) {
  const Recommender rec(model_file());
  const serve::Api api(rec, {});
  auto r = api.handle("POST", "/v1/recommend", R"({"items":["sku-1","sku-2"],"k":3})");
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body);
  EXPECT_EQ(j["items"], json(rec.recommend(skus({1, 2}), 3).items));
  EXPECT_EQ(j["scores"].size(), 3u);
  r = api.handle("POST", "/v1/recommend/batch", R"({"histories":[["sku-1"],["sku-3","sku-4"]],"k":2})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["results"].size(), 2u);
  r = api.handle("GET", "/healthz", "");
  EXPECT_EQ(r.status, 200);
  r = api.handle("GET", "/v1/model", "");
  ASSERT_EQ(r.status, 200);
  j = json::parse(r.body);
  EXPECT_EQ(j["n_items"], kItems);
  EXPECT_EQ(j["config"]["hidden_size"], 16);
  EXPECT_EQ(j["checkpoint"], rec.checkpoint_identity());
}

TEST(HttpApi, EveryBadRequestClassGetsA4xxWithAnError) {
  const Recommender rec(model_file());
  serve::Limits lim;
  lim.max_body_bytes = 2000;
  lim.max_history = 20;
  lim.max_batch = 3;
  const serve::Api api(rec, lim);
  std::string long_history = R"({"items":[)";
  for (int i = 0; i < 21; ++i) long_history += std::string(i ? "," : "") + "\"sku-1\"";
  long_history += "]}";
  const std::vector<std::tuple<std::string, std::string, std::string, int>> cases = {
      {"malformed JSON", "/v1/recommend", R"({"items":["sku-1")", 400},
      {"not an object", "/v1/recommend", R"(["sku-1"])", 400},
      {"items missing", "/v1/recommend", R"({"k":3})", 400},
      {"items not an array", "/v1/recommend", R"({"items":"sku-1"})", 400},
      {"item of wrong type", "/v1/recommend", R"({"items":[{"id":1}]})", 400},
      {"k of wrong type", "/v1/recommend", R"({"items":["sku-1"],"k":"3"})", 400},
      {"k too small", "/v1/recommend", R"({"items":["sku-1"],"k":0})", 400},
      {"k too large", "/v1/recommend", R"({"items":["sku-1"],"k":31})", 400},
      {"exclude_history not bool", "/v1/recommend", R"({"items":["sku-1"],"exclude_history":1})", 400},
      {"unknown item", "/v1/recommend", R"({"items":["sku-1","sku-77"]})", 400},
      {"unknown field", "/v1/recommend", R"({"items":["sku-1"],"kk":3})", 400},
      {"empty history", "/v1/recommend", R"({"items":[]})", 400},
      {"history too long", "/v1/recommend", long_history, 400},
      {"unknown candidate", "/v1/recommend", R"({"items":["sku-1"],"candidates":["x"]})", 400},
      {"batch too large", "/v1/recommend/batch", R"({"histories":[["sku-1"],["sku-1"],["sku-1"],["sku-1"]]})", 400},
      {"batch of wrong type", "/v1/recommend/batch", R"({"histories":["sku-1"]})", 400},
      {"oversize body", "/v1/recommend", std::string(2001, ' '), 413},
  };
  for (const auto& [what, path, body, status] : cases) {
    const serve::Reply r = api.handle("POST", path, body);
    EXPECT_EQ(r.status, status) << what << ": " << r.body;
    const json j = json::parse(r.body);
    EXPECT_TRUE(j.contains("error") && j["error"].is_string() && !j["error"].get<std::string>().empty()) << what;
  }
  EXPECT_EQ(api.handle("GET", "/v1/recommend", "").status, 405);
  EXPECT_EQ(api.handle("POST", "/healthz", "").status, 405);
  EXPECT_EQ(api.handle("GET", "/v2/anything", "").status, 404);
}

TEST(HttpServer, LoopbackConcurrentAnswersEqualSequential) {
  const Recommender rec(model_file());
  serve::ServerOptions so;
  so.port = 0;
  so.threads = 3;
  so.limits.max_body_bytes = 4096;
  serve::HttpServer server(rec, so);
  const int port = server.bind();
  std::thread runner([&] { server.run(); });

  // what the server answers to sequential requests, one per history
  std::vector<std::string> bodies, expected;
  httplib::Client seq("127.0.0.1", port);
  for (int h = 0; h < 24; ++h) {
    json items = json::array();
    for (int i = 0; i <= h % 9; ++i) items.push_back("sku-" + std::to_string(1 + (h * 7 + i * 3) % kItems));
    bodies.push_back(json{{"items", items}, {"k", 5}}.dump());
    auto res = seq.Post("/v1/recommend", bodies.back(), "application/json");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    EXPECT_EQ(json::parse(res->body)["items"].size(), 5u);
    expected.push_back(res->body);
  }
  std::vector<std::thread> clients;
  std::vector<int> mismatches(4, 0), failures(4, 0);
  for (int t = 0; t < 4; ++t)
    clients.emplace_back([&, t] {
      httplib::Client cli("127.0.0.1", port);
      for (int round = 0; round < 5; ++round)
        for (size_t h = size_t(t); h < bodies.size(); h += 2) {
          auto res = cli.Post("/v1/recommend", bodies[h], "application/json");
          if (!res || res->status != 200) ++failures[t];
          else if (res->body != expected[h]) ++mismatches[t];
        }
    });
  for (auto& c : clients) c.join();
  for (int t = 0; t < 4; ++t) {
    EXPECT_EQ(failures[t], 0);
    EXPECT_EQ(mismatches[t], 0);
  }
  httplib::Client cli("127.0.0.1", port);
  auto h = cli.Get("/healthz");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  auto big = cli.Post("/v1/recommend", std::string(8000, ' '), "application/json");
  ASSERT_TRUE(big);
  EXPECT_EQ(big->status, 413);
  EXPECT_TRUE(json::parse(big->body).contains("error"));
  auto bad = cli.Post("/v1/recommend", "{", "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  // the server still answers after bad requests, and stops cleanly
  EXPECT_EQ(cli.Get("/healthz")->status, 200);
  EXPECT_EQ(cli.Get("/no/such/%ff/path")->status, 404);

  // GET /metrics counts all of the above, by endpoint and status
  auto m = cli.Get("/metrics");
  ASSERT_TRUE(m);
  ASSERT_EQ(m->status, 200);
  EXPECT_EQ(m->get_header_value("Content-Type").rfind("text/plain", 0), 0u);
  const std::string& t = m->body;
  const auto has = [&](const std::string& line) { return t.find(line + "\n") != std::string::npos; };
  size_t ok = bodies.size();  // the sequential requests, then each client's five rounds
  for (size_t t = 0; t < 4; ++t) ok += 5 * ((bodies.size() - t + 1) / 2);
  EXPECT_TRUE(has("s3rec_requests_total{endpoint=\"/v1/recommend\",code=\"200\"} " + std::to_string(ok))) << t;
  EXPECT_TRUE(has("s3rec_requests_total{endpoint=\"/v1/recommend\",code=\"400\"} 1")) << t;
  EXPECT_TRUE(has("s3rec_requests_total{endpoint=\"/v1/recommend\",code=\"413\"} 1")) << t;  // refused by httplib
  EXPECT_TRUE(has("s3rec_requests_total{endpoint=\"/healthz\",code=\"200\"} 2")) << t;
  EXPECT_TRUE(has("s3rec_requests_total{endpoint=\"other\",code=\"404\"} 1")) << t;  // the path is not echoed
  // every recommend request that reached the API was timed (the 413 never did)
  EXPECT_TRUE(has("s3rec_recommend_compute_seconds_count " + std::to_string(ok + 1))) << t;
  EXPECT_TRUE(has("s3rec_recommend_queue_seconds_bucket{le=\"+Inf\"} " + std::to_string(ok + 1))) << t;
  // every request's time in the server: the recommend ones, the 413, /healthz twice, the 404
  EXPECT_TRUE(has("s3rec_request_seconds_count " + std::to_string(ok + 5))) << t;
  EXPECT_TRUE(has("s3rec_compute_threads 3")) << t;
  EXPECT_TRUE(has("s3rec_compute_queue_depth 0")) << t;
  EXPECT_EQ(cli.Post("/metrics", "", "text/plain")->status, 405);
  server.stop();
  runner.join();
}

TEST(ServerMetrics, HistogramBucketsAreCumulativeAndEndpointsBounded) {
  serve::ServerMetrics m(2);
  m.record_recommend(0.0007, 0.00004);  // queue: le 0.001; compute: le 5e-05
  m.record_recommend(0.003, 0.25);      // queue: le 0.005; compute: le 0.5
  m.record_recommend(0, 30);            // queue: le 5e-05; compute: beyond 10 s
  m.count("/v1/recommend", 200);
  m.count("/v1/recommend", 200);
  m.count("/v1/recommend?x=1", 404);
  m.count("/../../etc/passwd", 404);
  const std::string t = m.prometheus(5);
  const auto has = [&](const std::string& line) { return t.find(line + "\n") != std::string::npos; };
  EXPECT_TRUE(has("s3rec_recommend_queue_seconds_bucket{le=\"5e-05\"} 1")) << t;
  EXPECT_TRUE(has("s3rec_recommend_queue_seconds_bucket{le=\"0.0005\"} 1")) << t;
  EXPECT_TRUE(has("s3rec_recommend_queue_seconds_bucket{le=\"0.001\"} 2")) << t;
  EXPECT_TRUE(has("s3rec_recommend_queue_seconds_bucket{le=\"0.005\"} 3")) << t;
  EXPECT_TRUE(has("s3rec_recommend_queue_seconds_count 3")) << t;
  EXPECT_TRUE(has("s3rec_recommend_compute_seconds_bucket{le=\"5e-05\"} 1")) << t;
  EXPECT_TRUE(has("s3rec_recommend_compute_seconds_bucket{le=\"0.2\"} 1")) << t;
  EXPECT_TRUE(has("s3rec_recommend_compute_seconds_bucket{le=\"0.5\"} 2")) << t;
  EXPECT_TRUE(has("s3rec_recommend_compute_seconds_bucket{le=\"10\"} 2")) << t;
  EXPECT_TRUE(has("s3rec_recommend_compute_seconds_bucket{le=\"+Inf\"} 3")) << t;
  EXPECT_TRUE(has("s3rec_recommend_compute_seconds_sum 30.25004")) << t;
  EXPECT_TRUE(has("s3rec_requests_total{endpoint=\"/v1/recommend\",code=\"200\"} 2")) << t;
  EXPECT_TRUE(has("s3rec_requests_total{endpoint=\"other\",code=\"404\"} 2")) << t;
  EXPECT_EQ(t.find("passwd"), std::string::npos);
  EXPECT_TRUE(has("s3rec_compute_queue_depth 5")) << t;
  EXPECT_TRUE(has("s3rec_compute_threads 2")) << t;
}

TEST(ComputePool, ReportsQueueWaitAndComputeTime) {
  serve::ComputePool pool(1);
  std::thread other([&] { pool.run([] { std::this_thread::sleep_for(std::chrono::milliseconds(60)); }); });
  std::this_thread::sleep_for(std::chrono::milliseconds(15));  // `other` holds the only thread
  const auto t = pool.run([] { std::this_thread::sleep_for(std::chrono::milliseconds(20)); });
  other.join();
  EXPECT_GE(t.computed, 0.020);
  EXPECT_LT(t.computed, 1.0);  // generous: a loaded machine
  EXPECT_GE(t.queued, 0.020);          // waited for the rest of other's 60 ms
  EXPECT_EQ(pool.queue_depth(), 0);
}

TEST(HttpServer, ComputeThreadsDefaultToOnePerCore) {
  const int cores = std::max(1, int(std::thread::hardware_concurrency()));
  EXPECT_EQ(serve::ServerOptions{}.threads, 0);
  EXPECT_EQ(serve::ComputePool::threads_for(0), cores);
  EXPECT_NO_THROW(serve::check_options(serve::ServerOptions{}));  // the default is a valid option
  serve::ServerOptions negative;
  negative.threads = -1;
  EXPECT_THROW(serve::check_options(negative), std::invalid_argument);
  EXPECT_EQ(serve::ComputePool::threads_for(3), 3);
  // the pool of the default size runs jobs on that many distinct threads at once
  serve::ComputePool pool(0);
  std::atomic<int> running{0}, peak{0};
  std::vector<std::thread> callers;
  for (int i = 0; i < 4 * cores; ++i)
    callers.emplace_back([&] {
      pool.run([&] {
        const int now = ++running;
        int p = peak.load();
        while (now > p && !peak.compare_exchange_weak(p, now)) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        --running;
      });
    });
  for (auto& t : callers) t.join();
  EXPECT_EQ(peak.load(), cores);
}
