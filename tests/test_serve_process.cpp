// The built `s3rec serve` binary as a process, probed from outside with raw sockets:
// slow clients are cut off at the request deadline and do not hold up other clients,
// hostile requests get 4xx answers while serving goes on, and SIGTERM answers every
// request already sent (even one half-received) before the process exits 0.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "../bench/serve_probe.h"
#include "s3rec/checkpoint.h"
#include "s3rec/model.h"
#include "s3rec/vocabulary.h"

using namespace s3rec;
using namespace serve_probe;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr int kItems = 300;

// A model of kItems items named "1".."300", one attribute each (no training needed).
const std::string& model_file() {
  static const std::string path = [] {
    const fs::path dir = fs::temp_directory_path() / ("s3rec_serve_process_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    ModelConfig c;
    c.hidden_size = 16;
    c.inner_size = 32;
    c.n_items = kItems;
    c.n_attributes = 4;
    c.max_seq_length = 10;
    Dataset d;
    d.n_items = kItems;
    d.n_attributes = 4;
    d.item_tokens = {"[PAD]"};
    for (int i = 1; i <= kItems; ++i) d.item_tokens.push_back(std::to_string(i));
    d.attribute_tokens = {"[PAD]", "a", "b", "c", "d"};
    std::vector<std::vector<int>> lists(kItems + 1);
    for (int i = 1; i <= kItems; ++i) lists[size_t(i)] = {1 + i % 4};
    d.item_attributes = AttributeTable::from_lists(lists, kItems + 2);
    S3RecModel m(c);
    m.init_weights(11);
    const std::string p = (dir / "model.safetensors").string();
    save_checkpoint(p, m, Vocabulary::from_dataset(d).to_metadata());
    return p;
  }();
  return path;
}

std::vector<std::string> serve_command(std::initializer_list<std::string> options) {
  std::vector<std::string> cmd = {std::string(S3REC_BINARY_DIR) + "/s3rec", "serve", "--model=" + model_file(),
                                  "--port=0"};
  cmd.insert(cmd.end(), options);
  return cmd;
}

std::string recommend_body(int n) {
  return json{{"items", {1 + n % kItems, 1 + (n * 7) % kItems, 1 + (n * 13) % kItems}}, {"k", 5}}.dump();
}

// One well-formed request on a new connection.
Reply recommend_once(int port, int n, double timeout_s) {
  const int fd = connect_to(port);
  if (fd < 0) return {};
  Reply r;
  if (send_all(fd, request_text("POST", "/v1/recommend", recommend_body(n)))) r = read_reply(fd, timeout_s);
  ::close(fd);
  return r;
}

// A slowloris: a request line, then a header byte every 100 ms (well inside the read
// timeout) and never the end of the headers. Records when the server cut it off.
struct SlowClient {
  explicit SlowClient(int port) : fd(connect_to(port)) {
    thread = std::thread([this] {
      const Clock::time_point start = Clock::now();
      bool ok = fd >= 0 && send_all(fd, "POST /v1/recommend HTTP/1.1\r\nHost: x\r\n");
      for (int i = 0; ok && !stop; ++i) {
        ok = send_all(fd, i % 2 ? "\n" : "X-Slow: a\r");
        const Reply r = read_reply(fd, 0.1);  // nothing yet: it times out and we go on
        if (!r.timed_out) break;              // an answer or a close: cut off
      }
      if (!stop) cut_after = seconds_since(start);
    });
  }
  ~SlowClient() {
    stop = true;
    thread.join();
    if (fd >= 0) ::close(fd);
  }
  int fd;
  std::atomic<bool> stop{false};
  std::atomic<double> cut_after{-1};  // seconds from the first byte to the server's close
  std::thread thread;
};

// SIGTERM: the process must exit 0.
void expect_clean_stop(ServerProcess& srv) {
  srv.signal(SIGTERM);
  const int status = srv.wait_exit(20);
  ASSERT_TRUE(WIFEXITED(status)) << "not exited (or killed by a signal): " << srv.log();
  EXPECT_EQ(WEXITSTATUS(status), 0) << srv.log();
}

}  // namespace

// `s3rec serve --model=FILE` as the docs show it, every option at its default: it starts,
// computes on one thread per core and answers.
TEST(ServeProcess, StartsAndServesWithDefaultOptions) {
  ServerProcess srv(serve_command({}));
  const Reply r = recommend_once(srv.port(), 1, 10);
  ASSERT_EQ(r.status, 200) << srv.log();
  EXPECT_EQ(json::parse(r.body)["items"].size(), 5u);
  const int cores = std::max(1, int(std::thread::hardware_concurrency()));
  EXPECT_NE(srv.log().find("limits: " + std::to_string(cores) + " computing"), std::string::npos) << srv.log();
  expect_clean_stop(srv);
}

TEST(ServeProcess, SlowClientsAreCutOffAndDoNotHoldUpOthers) {
  ServerProcess srv(serve_command({"--threads=1", "--max_connections=4", "--max_queue=4", "--request_timeout=1.5",
                                   "--read_timeout=1", "--keep_alive_timeout=1"}));
  const int port = srv.port();
  {
    // two slow clients hold two of the four connection threads; other clients are answered
    // at once, while the slow ones still trickle
    std::vector<std::unique_ptr<SlowClient>> slow;
    for (int i = 0; i < 2; ++i) slow.push_back(std::make_unique<SlowClient>(port));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    for (int n = 0; n < 5; ++n) {
      const Reply r = recommend_once(port, n, 5);
      ASSERT_EQ(r.status, 200) << srv.log();
      EXPECT_EQ(json::parse(r.body)["items"].size(), 5u);
    }
    for (auto& s : slow) EXPECT_LT(s->cut_after.load(), 0) << "a slow client was cut before the others were answered";
    // and the request deadline cuts them off, though they never fell silent for a read timeout
    for (int waited = 0; waited < 60 && (slow[0]->cut_after < 0 || slow[1]->cut_after < 0); ++waited)
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    for (auto& s : slow) {
      EXPECT_GT(s->cut_after.load(), 1.3);
      EXPECT_LT(s->cut_after.load(), 3.5);
    }
  }
  {
    // more slow clients than connection threads: a well-formed client queued behind them is
    // answered once the deadline has cut the first ones off
    std::vector<std::unique_ptr<SlowClient>> slow;
    for (int i = 0; i < 6; ++i) slow.push_back(std::make_unique<SlowClient>(port));
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const Clock::time_point t0 = Clock::now();
    const Reply r = recommend_once(port, 99, 8);
    EXPECT_EQ(r.status, 200) << "a well-formed client waited " << seconds_since(t0) << " s behind slow ones";
    EXPECT_LT(seconds_since(t0), 6.0);
  }
  expect_clean_stop(srv);
}

TEST(ServeProcess, HostileRequestsAreRefusedAndServingGoesOn) {
  ServerProcess srv(serve_command({"--threads=2", "--max_body_bytes=4096", "--request_timeout=2"}));
  const int port = srv.port();
  // each case: the request's bytes, and whether the client then vanishes (reset) before the answer
  struct Case {
    std::string name, bytes;
    int expect;  // the status; 0: the connection may also just be closed
    bool vanish = false;
  };
  const std::string body = recommend_body(5);
  static const char kGarbage[] = "\x16\x03\x01\x02\x00\x01\xff\xfe garbage\r\n\r\n";  // a TLS hello, say
  std::vector<Case> cases = {
      {"malformed JSON", request_text("POST", "/v1/recommend", R"({"items": [1, 2,)"), 400},
      {"wrong types", request_text("POST", "/v1/recommend", R"({"items": {"a": 1}, "k": "ten"})"), 400},
      {"unknown item", request_text("POST", "/v1/recommend", R"({"items": ["nope"]})"), 400},
      {"k out of range", request_text("POST", "/v1/recommend", R"({"items": [1], "k": 100000})"), 400},
      {"oversize body", request_text("POST", "/v1/recommend", std::string(5000, ' ')), 413},
      {"huge declared length", request_text("POST", "/v1/recommend", std::string(100000, '['), 1LL << 40), 413},
      {"header flood", "POST /v1/recommend HTTP/1.1\r\n" + std::string(200000, 'X') + "\r\n\r\n", 400},
      {"garbage", std::string(kGarbage, sizeof(kGarbage) - 1), 400},
      {"gone mid-headers", "POST /v1/recommend HTTP/1.1\r\nContent-Le", 0, true},
      {"gone mid-body", request_text("POST", "/v1/recommend", body).substr(0, 100 + body.size() / 2), 0, true},
  };
  std::atomic<int> wrong{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t)
    clients.emplace_back([&, t] {
      for (int round = 0; round < 3; ++round)
        for (size_t c = size_t(t); c < cases.size(); c += 2) {
          const Case& k = cases[c];
          const int fd = connect_to(port);
          if (fd < 0) {
            ADD_FAILURE() << "cannot connect for " << k.name;
            ++wrong;
            continue;
          }
          send_all(fd, k.bytes);  // the server may close before taking it all
          if (k.vanish) {
            reset_close(fd);
          } else {
            const Reply r = read_reply(fd, 10);
            const bool ok = k.expect ? r.status == k.expect : (r.status == 0 || (r.status >= 400 && r.status < 500));
            if (!ok || r.timed_out) {
              ADD_FAILURE() << k.name << ": status " << r.status << (r.timed_out ? " (timed out)" : "");
              ++wrong;
            }
            if (r.status >= 400) {
              EXPECT_TRUE(json::parse(r.body, nullptr, false).contains("error")) << k.name << ": " << r.body;
            }
            ::close(fd);
          }
          const Reply good = recommend_once(port, int(c) + round, 10);  // serving goes on
          if (good.status != 200) {
            ADD_FAILURE() << "after " << k.name << ": status " << good.status;
            ++wrong;
          }
        }
    });
  for (auto& c : clients) c.join();
  EXPECT_EQ(wrong.load(), 0) << srv.log();
  expect_clean_stop(srv);
}

TEST(ServeProcess, SigtermAnswersEveryRequestInFlightThenExitsZero) {
  // a long keep-alive timeout: draining must not wait for idle connections
  ServerProcess srv(serve_command({"--threads=2", "--keep_alive_timeout=30", "--request_timeout=10"}));
  const int port = srv.port();
  const DrainReport d = sigterm_drain(srv, [](long n) { return recommend_body(int(n % 100000)); }, 3, 4, 20);
  EXPECT_EQ(d.partial_answered, d.partial) << "a request half-received at SIGTERM was not answered";
  EXPECT_EQ(d.partial_told_close, d.partial) << "answers during the drain close their connection";
  EXPECT_GT(d.sent_before, 20);
  EXPECT_EQ(d.lost_before, 0) << "requests sent before SIGTERM went unanswered";
  EXPECT_TRUE(d.idle_closed) << "the idle keep-alive connection was not closed";
  ASSERT_TRUE(WIFEXITED(d.exit_status)) << srv.log();
  EXPECT_EQ(WEXITSTATUS(d.exit_status), 0);
  EXPECT_LT(d.exit_seconds, 8.0) << "the drain waited for idle connections";
  EXPECT_NE(srv.log().find("stopped"), std::string::npos) << srv.log();
  EXPECT_LT(connect_to(port), 0) << "still accepting after exit";
}
