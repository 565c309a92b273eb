// `s3rec recommend` (one history, a dataset user, or a file of histories) and
// `s3rec serve` (HTTP/JSON until SIGTERM or SIGINT).
#include <omp.h>
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <type_traits>

#include "cli/commands.h"
#include "s3rec/dataset.h"
#include "s3rec/recommender.h"
#include "serve/http_server.h"
#include "serve/compute_pool.h"
#include "util/atomic_write.h"

namespace s3rec::cli {

namespace {

std::vector<std::string> split_ws(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> out;
  for (std::string t; in >> t;) out.push_back(t);
  return out;
}

std::vector<std::string> split_list(const std::string& s) {  // "a,b c" -> {a, b, c}
  std::string t = s;
  for (char& c : t)
    if (c == ',') c = ' ';
  return split_ws(t);
}

// `v` as a number in lo..hi (whole: no trailing characters), or an error naming --key.
template <class T>
T parse_number(const std::string& key, const std::string& v, T lo, T hi, const char* what) {
  size_t used = 0;
  T x{};
  try {
    if constexpr (std::is_integral_v<T>) x = T(std::stol(v, &used));
    else x = T(std::stod(v, &used));
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != v.size() || v.empty() || !(x >= lo && x <= hi)) {
    std::ostringstream range;
    range << lo << ".." << hi;
    throw std::invalid_argument("--" + key + " must be " + what + " in " + range.str() + ", got '" + v + "'");
  }
  return x;
}

int parse_int(const std::string& key, const std::string& v, int lo, int hi) {
  return int(parse_number<long>(key, v, lo, hi, "an integer"));
}

double parse_seconds(const std::string& key, const std::string& v) {
  return parse_number(key, v, 0.001, 3600.0, "a number of seconds");
}

bool parse_bool(const std::string& key, const std::string& v) {
  if (v == "true" || v == "1" || v == "yes") return true;
  if (v == "false" || v == "0" || v == "no") return false;
  throw std::invalid_argument("--" + key + " must be true or false, got '" + v + "'");
}

// --index and its tuning keys; false when `key` is not one of them
bool index_option(const std::string& key, const std::string& v, IndexOptions& o, std::string& index_path) {
  if (key == "index") o.kind = v;
  else if (key == "index_path") index_path = v;
  else if (key == "hnsw_m") o.hnsw_m = parse_int(key, v, 4, 256);
  else if (key == "ef_construction") o.ef_construction = parse_int(key, v, 8, 4096);
  else if (key == "ef_search") o.ef_search = parse_int(key, v, 1, 1 << 20);
  else if (key == "nlist") o.nlist = parse_int(key, v, 1, 1 << 24);
  else if (key == "nprobe") o.nprobe = parse_int(key, v, 1, 1 << 24);
  else return false;
  return true;
}

const char* kIndexHelp =
    "  --index=exact|hnsw|ivf  exact scores every item; hnsw and ivf search a faiss index, loaded from\n"
    "                --index_path (default MODEL.KIND.index, see `s3rec index build`) or built at start-up\n"
    "  --ef_search   HNSW candidates per query (256)    --nprobe  IVF lists scanned per query (auto)\n";

void report_index(const Recommender& rec) {
  if (!rec.index()) return;
  std::fprintf(stderr, "%s index %s in %.1f s (%.0f MiB)\n", rec.index_kind().c_str(),
               rec.index_built() ? "built" : "loaded", rec.index_seconds(), double(rec.index()->memory_bytes()) / (1 << 20));
}

nlohmann::ordered_json rec_json(const Recommendation& r) { return {{"items", r.items}, {"scores", r.scores}}; }

}  // namespace

int cmd_recommend(const Args& a) {
  if (a.help) {
    std::printf(
        "usage: s3rec recommend --model=FILE (--items=\"3 17 42\" | --user=U --data_path=DIR --dataset=NAME |\n"
        "                       --batch=FILE --output=FILE) [-k 10] [--exclude_history=true]\n"
        "                       [--candidates=\"i j ...\"] [--attributes=\"a b ...\"] [--json] [--threads=N]\n"
        "Recommends the next items for a history (oldest first), using the item ids of the dataset.\n"
        "  --items       the history, items separated by spaces or commas\n"
        "  --user        take the user's whole sequence from the dataset (--data_path, --dataset,\n"
        "                --item_attribute for RecBole files)\n"
        "  --batch       a file with one history per line; writes JSON lines to --output\n"
        "                ({\"line\": n, \"items\": [...], \"scores\": [...]} or {\"line\": n, \"error\": ...})\n"
        "  -k, --k       how many items (default 10)\n"
        "  --candidates  rank only these items;  --attributes  only items having one of these attributes\n"
        "  --json        print {\"items\": [...], \"scores\": [...]} instead of a table\n"
        "%s",
        kIndexHelp);
    return 0;
  }
  std::string model, items, user, data_path = "dataset", dataset, batch, output, item_attribute;
  int k = 10;
  bool json = false;
  RecommendOptions o;
  IndexOptions io;
  std::string index_path;
  for (const auto& [key, v] : a.kv) {
    if (index_option(key, v, io, index_path)) continue;
    if (key == "model" || key == "model_path") model = v;
    else if (key == "items") items = v;
    else if (key == "user") user = v;
    else if (key == "data_path") data_path = v;
    else if (key == "dataset") dataset = v;
    else if (key == "item_attribute") item_attribute = v;
    else if (key == "batch") batch = v;
    else if (key == "output") output = v;
    else if (key == "k") k = parse_int(key, v, 1, 1 << 30);
    else if (key == "json") json = parse_bool(key, v);
    else if (key == "exclude_history") o.exclude_history = parse_bool(key, v);
    else if (key == "candidates") o.candidates = split_list(v);
    else if (key == "attributes") o.attributes = split_list(v);
    else if (key == "threads") omp_set_num_threads(parse_int(key, v, 1, 1024));
    else throw std::invalid_argument("recommend: unknown option --" + key + " (see s3rec recommend --help)");
  }
  if (model.empty()) throw std::invalid_argument("recommend: --model=FILE is required");
  if (int(!items.empty()) + int(!user.empty()) + int(!batch.empty()) != 1)
    throw std::invalid_argument("recommend: give exactly one of --items, --user and --batch");
  const Recommender rec(model, nullptr, io, index_path);
  report_index(rec);

  if (!batch.empty()) {
    if (output.empty()) throw std::invalid_argument("recommend: --batch needs --output=FILE");
    std::ifstream in(batch);
    if (!in) throw std::runtime_error(batch + ": cannot open");
    std::vector<std::string> out;  // one JSON line per input line, in input order
    std::vector<std::vector<std::string>> chunk;
    std::vector<size_t> slots;  // out index of each chunk entry
    long line_no = 0, done = 0, failed = 0;
    auto flush = [&] {
      if (chunk.empty()) return;
      const auto recs = rec.recommend_batch(chunk, k, o);
      for (size_t i = 0; i < recs.size(); ++i) {
        nlohmann::ordered_json j = {{"line", long(slots[i]) + 1}};
        j.update(rec_json(recs[i]));
        out[slots[i]] = j.dump();
      }
      done += long(recs.size());
      chunk.clear();
      slots.clear();
    };
    for (std::string line; std::getline(in, line);) {
      ++line_no;
      out.emplace_back();
      auto h = split_ws(line);
      std::string problem = h.empty() ? "empty history" : "";
      for (const auto& t : h)
        if (problem.empty() && rec.vocabulary().item_id(t) == 0) problem = "unknown item '" + t + "'";
      if (!problem.empty()) {
        ++failed;
        if (failed <= 5) std::fprintf(stderr, "%s:%ld: %s\n", batch.c_str(), line_no, problem.c_str());
        out.back() = nlohmann::ordered_json{{"line", line_no}, {"error", problem}}.dump();
        continue;
      }
      chunk.push_back(std::move(h));
      slots.push_back(out.size() - 1);
      if (chunk.size() == 512) flush();
    }
    flush();
    std::string text;
    for (const auto& l : out) text += l + "\n";
    write_file_atomic(output, text);
    std::fprintf(stderr, "%ld histories answered, %ld refused; wrote %s\n", done, failed, output.c_str());
    return failed > 0 ? 1 : 0;
  }

  std::vector<std::string> history;
  if (!user.empty()) {
    if (dataset.empty()) throw std::invalid_argument("recommend: --user needs --dataset (and --data_path)");
    LoadOptions lo;
    lo.generate_sample_if_missing = false;
    lo.item_attribute = split_list(item_attribute);
    const Dataset d = load_dataset(data_path, dataset, lo);
    int row = -1;
    for (int u = 0; u < d.num_users() && row < 0; ++u)
      if (d.user_tokens[u] == user) row = u;
    if (row < 0) throw std::invalid_argument("recommend: user '" + user + "' is not in " + dataset);
    for (int i : d.user_seqs[row]) history.push_back(d.item_token(i));
  } else {
    history = split_list(items);
  }
  const Recommendation r = rec.recommend(history, k, o);
  if (json) {
    std::printf("%s\n", rec_json(r).dump().c_str());
  } else {
    std::printf("%4s  %-16s %10s\n", "rank", "item", "score");
    for (size_t i = 0; i < r.items.size(); ++i) std::printf("%4zu  %-16s %10.4f\n", i + 1, r.items[i].c_str(), r.scores[i]);
  }
  return 0;
}

int cmd_serve(const Args& a) {
  if (a.help) {
    std::printf(
        "usage: s3rec serve --model=FILE [--port=8080] [--host=127.0.0.1] [--threads=0]\n"
        "                   [--max_connections=512] [--max_queue=256] [--keep_alive_max=1000]\n"
        "                   [--read_timeout=5] [--write_timeout=5] [--request_timeout=10] [--keep_alive_timeout=5]\n"
        "                   [--max_body_bytes=1048576] [--max_history=1000] [--max_batch=1000]\n"
        "Serves recommendations over HTTP/JSON until SIGTERM or SIGINT (in-flight requests are answered).\n"
        "  --threads          requests computing at once, one core each (FIFO beyond that); 0: one per core\n"
        "  --max_connections  connections served at once (one mostly idle thread each); beyond that\n"
        "                     --max_queue accepted connections wait, then the kernel's backlog\n"
        "  --keep_alive_max   requests per connection, then it is closed\n"
        "  timeouts (seconds): --read_timeout longest silence inside a request; --request_timeout a\n"
        "                     whole request must arrive within it (slow clients are cut off);\n"
        "                     --write_timeout longest wait for the client to read; --keep_alive_timeout\n"
        "                     idle time before a connection is closed\n"
        "  POST /v1/recommend        {\"items\": [...], \"k\": 10, \"exclude_history\": true}\n"
        "  POST /v1/recommend/batch  {\"histories\": [[...], ...], \"k\": 10}\n"
        "  GET  /healthz             GET /v1/model             GET /metrics (Prometheus text)\n"
        "Bad requests get a 4xx status with {\"error\": \"...\"}. See docs/serving.md.\n"
        "%s",
        kIndexHelp);
    return 0;
  }
  std::string model, index_path;
  serve::ServerOptions so;
  IndexOptions io;
  for (const auto& [key, v] : a.kv) {
    if (index_option(key, v, io, index_path)) continue;
    if (key == "model" || key == "model_path") model = v;
    else if (key == "port") so.port = parse_int(key, v, 0, 65535);
    else if (key == "host") so.host = v;
    else if (key == "threads") so.threads = parse_int(key, v, 0, 1024);
    else if (key == "max_connections") so.max_connections = parse_int(key, v, 1, 65536);
    else if (key == "max_queue") so.max_queue = parse_int(key, v, 1, 65536);
    else if (key == "keep_alive_max") so.keep_alive_max = parse_int(key, v, 1, 1 << 30);
    else if (key == "read_timeout") so.timeouts.read = parse_seconds(key, v);
    else if (key == "write_timeout") so.timeouts.write = parse_seconds(key, v);
    else if (key == "request_timeout") so.timeouts.request = parse_seconds(key, v);
    else if (key == "keep_alive_timeout") so.timeouts.keep_alive = parse_seconds(key, v);
    else if (key == "max_body_bytes") so.limits.max_body_bytes = size_t(parse_int(key, v, 64, 1 << 30));
    else if (key == "max_history") so.limits.max_history = parse_int(key, v, 1, 1 << 24);
    else if (key == "max_batch") so.limits.max_batch = parse_int(key, v, 1, 1 << 20);
    else throw std::invalid_argument("serve: unknown option --" + key + " (see s3rec serve --help)");
  }
  if (model.empty()) throw std::invalid_argument("serve: --model=FILE is required");
  serve::check_options(so);
  // SIGTERM/SIGINT are taken by a watcher thread that stops the server. They are blocked
  // before any other thread exists (loading the model starts OpenMP's workers, which
  // inherit the mask): a thread that left them unblocked would take the signal's default
  // action and kill the process mid-request.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  const Recommender rec(model, nullptr, io, index_path);
  report_index(rec);
  serve::HttpServer server(rec, so);
  const int port = server.bind();
  std::fprintf(stderr, "serving %s (%d items) on http://%s:%d\n", model.c_str(), rec.config().n_items,
               so.host.c_str(), port);
  std::fprintf(stderr,
               "limits: %d computing, %d connections + %d queued, %d requests per connection; timeouts (s): "
               "read %g, request %g, write %g, keep-alive %g; bodies up to %zu bytes\n",
               serve::ComputePool::threads_for(so.threads), so.max_connections, so.max_queue, so.keep_alive_max, so.timeouts.read, so.timeouts.request,
               so.timeouts.write, so.timeouts.keep_alive, so.limits.max_body_bytes);
  std::atomic<bool> signalled{false};
  std::thread watcher([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    signalled = true;
    std::fprintf(stderr, "signal %d: stopping after in-flight requests\n", sig);
    server.stop();
  });
  const bool listened = server.run();
  // run() also returns if listening fails; wake the watcher so it can be joined
  if (!signalled) pthread_kill(watcher.native_handle(), SIGTERM);
  watcher.join();
  if (!listened) {
    std::fprintf(stderr, "error: the server stopped accepting connections (accept failed)\n");
    return 1;
  }
  std::fprintf(stderr, "stopped\n");
  return 0;
}

int cmd_index(const Args& a, const std::string& action) {
  if (a.help || action != "build") {
    std::printf(
        "usage: s3rec index build --model=FILE [--index=hnsw|ivf] [--output=FILE]\n"
        "                         [--hnsw_m=32] [--ef_construction=40] [--ef_search=256] [--nlist=N] [--nprobe=N]\n"
        "Builds a faiss index of the model's item table for `s3rec serve --index=KIND` and writes it\n"
        "atomically to --output (default MODEL.KIND.index, where serve looks for it). The file records\n"
        "the model's identity (size and hash) and is refused for any other model.\n"
        "  hnsw  graph search; about (d + 1 + 2 hnsw_m) x 4 bytes per item on disk, 2 hnsw_m x 4 in a server\n"
        "  ivf   inverted lists (nlist default 4 sqrt(N)); about (d + 3) x 4 bytes per item on disk,\n"
        "        8 + 2 d in a server (ids and the lists' rows in bfloat16; scores are rescored in fp32)\n");
    return a.help ? 0 : 2;
  }
  std::string model, output, ignored;
  IndexOptions io;
  io.kind = "hnsw";
  for (const auto& [key, v] : a.kv) {
    if (key != "index_path" && index_option(key, v, io, ignored)) continue;
    if (key == "model" || key == "model_path") model = v;
    else if (key == "output") output = v;
    else if (key == "threads") omp_set_num_threads(parse_int(key, v, 1, 1024));
    else throw std::invalid_argument("index build: unknown option --" + key + " (see s3rec index --help)");
  }
  if (model.empty()) throw std::invalid_argument("index build: --model=FILE is required");
  if (io.kind == "exact") throw std::invalid_argument("index build: --index must be hnsw or ivf (exact needs no index)");
  if (output.empty()) output = default_index_path(model, io.kind);
  const Recommender rec(model);
  const auto t0 = std::chrono::steady_clock::now();
  const ModelConfig& c = rec.config();
  const auto index = ItemIndex::build(io, rec.item_embeddings() + c.hidden_size, c.n_items, c.hidden_size);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  index->save(output, rec.checkpoint_identity());
  std::fprintf(stderr, "built a %s index of %d items in %.1f s (%.0f MiB in memory); wrote %s\n", io.kind.c_str(),
               c.n_items, seconds, double(index->memory_bytes()) / (1 << 20), output.c_str());
  return 0;
}

}  // namespace s3rec::cli
