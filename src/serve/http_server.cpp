#include "serve/http_server.h"

#include <fcntl.h>
#include <httplib.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <nlohmann/json.hpp>
#include <stdexcept>

#include "serve/compute_pool.h"
#include "serve/connection_pool.h"
#include "serve/connection_stream.h"
#include "serve/server_metrics.h"

namespace s3rec::serve {

namespace {

using Clock = ConnectionStream::Clock;

constexpr size_t kMaxHeadBytes = 64 << 10;  // request line and headers, beyond the body limit
constexpr int kListenBacklog = 1024;        // connections the kernel holds while the queue is full

// Set by the API handler: a request that never reached it was refused by httplib itself
// (unparsable, too large), after which what follows on the connection cannot be trusted.
thread_local bool t_reached_api = false;
// whether this thread's last answer said "Connection: close" because the server is stopping
thread_local bool t_told_close = false;

Clock::duration seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

std::string status_text(int status) {
  switch (status) {
    case 400: return "bad request";
    case 404: return "not found";
    case 413: return "payload too large";
    case 414: return "URI too long";
    default: return "HTTP status " + std::to_string(status);
  }
}

void send(httplib::Response& res, const Reply& r, const char* type = "application/json") {
  res.status = r.status;
  res.set_content(r.body, type);
}

// Enough file descriptors for every connection the options allow (raises the soft limit).
void ensure_descriptors(const ServerOptions& o) {
  const rlim_t need = rlim_t(o.max_connections) + rlim_t(o.max_queue) + 64;
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= need) return;
  if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < need)
    throw std::invalid_argument("--max_connections + --max_queue need " + std::to_string(need) +
                                " file descriptors, the hard limit (ulimit -Hn) is " + std::to_string(lim.rlim_max));
  lim.rlim_cur = need;
  if (::setrlimit(RLIMIT_NOFILE, &lim) != 0)
    throw std::runtime_error("cannot raise the open-file limit to " + std::to_string(need));
}

}  // namespace

void check_options(const ServerOptions& o) {
  auto need = [](bool ok, const std::string& what) {
    if (!ok) throw std::invalid_argument("serve: " + what);
  };
  need(o.threads >= 0 && o.threads <= 1024, "--threads must be in 0..1024 (0: one per core)");
  need(o.max_connections >= 1 && o.max_connections <= 65536, "--max_connections must be in 1..65536");
  need(o.max_queue >= 1 && o.max_queue <= 65536, "--max_queue must be in 1..65536");
  need(o.keep_alive_max >= 1, "--keep_alive_max must be at least 1");
  const Timeouts& t = o.timeouts;
  for (const auto& [v, name] : {std::pair{t.read, "read_timeout"}, std::pair{t.write, "write_timeout"},
                                std::pair{t.request, "request_timeout"}, std::pair{t.keep_alive, "keep_alive_timeout"}})
    need(v >= 0.001 && v <= 3600, std::string("--") + name + " must be in 0.001..3600 seconds");
}

// cpp-httplib's server with our own connection loop (process_and_close_socket), which
// applies the deadlines of ConnectionStream and drains on stop.
class GuardedServer : public httplib::Server {
 public:
  explicit GuardedServer(const ServerOptions& o)
      : compute(o.threads),
        metrics(ComputePool::threads_for(o.threads)),
        keep_alive_max_(o.keep_alive_max),
        read_(seconds(o.timeouts.read)),
        write_(seconds(o.timeouts.write)),
        request_(seconds(o.timeouts.request)),
        keep_alive_(seconds(o.timeouts.keep_alive)),
        max_request_bytes_(o.limits.max_body_bytes + kMaxHeadBytes) {
    if (::pipe2(stop_pipe_, O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error("serve: cannot create a pipe");
  }
  ~GuardedServer() override {
    close_listener();
    ::close(stop_pipe_[0]);
    ::close(stop_pipe_[1]);
  }

  // httplib 0.11 listens with a backlog of 5: raise it once bound
  void raise_backlog() { ::listen(svr_sock_, kListenBacklog); }

  // No new connections; connections waiting for their next request close at once.
  void drain() {
    draining_ = true;
    const char byte = 1;
    if (::write(stop_pipe_[1], &byte, 1) < 0) {
      // the pipe already holds a byte: it stays readable, which is all that is needed
    }
    close_listener();
  }

  bool draining() const { return draining_; }

  ComputePool compute;
  ServerMetrics metrics;

 private:
  void close_listener() {
    const socket_t s = svr_sock_.exchange(INVALID_SOCKET);
    if (s == INVALID_SOCKET) return;
    ::shutdown(s, SHUT_RDWR);  // wakes the accept loop
    ::close(s);
  }

  // Waits for the first bytes of the next request: false after keep_alive_timeout of
  // silence, or when stopping with nothing received.
  bool next_request_arrives(const ConnectionStream& strm) const {
    if (strm.has_buffered()) return true;
    const Clock::time_point until = Clock::now() + keep_alive_;
    for (;;) {
      pollfd p[2] = {{strm.socket(), POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now()).count();
      const int r = ::poll(p, 2, int(std::max<long long>(0, left)));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;
      if (p[0].revents != 0) return true;  // bytes, or the client's EOF, which the parser sees
      pollfd q{strm.socket(), POLLIN, 0};  // stopping: answer only what has already arrived
      return ::poll(&q, 1, 0) > 0;
    }
  }

  bool process_and_close_socket(socket_t sock) override {
    const int one = 1;
    ::setsockopt(sock, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));  // small JSON answers: no Nagle delay
    ConnectionStream strm(sock, read_, write_);
    bool clean = true;  // the client sent nothing we left unread
    for (int served = 0; served < keep_alive_max_; ++served) {
      if (!next_request_arrives(strm)) break;
      const bool last = served + 1 == keep_alive_max_ || draining_;
      strm.begin_request(Clock::now() + request_, max_request_bytes_);
      bool client_closes = false;
      t_reached_api = false;
      t_told_close = false;
      const Clock::time_point arrived = Clock::now();
      const bool ok = process_request(strm, last, client_closes, [](httplib::Request&) {});
      metrics.record_request(std::chrono::duration<double>(Clock::now() - arrived).count());
      if (!ok || strm.broken() || !t_reached_api) clean = false;
      // Stopping began after this answer's headers: the client may already have sent its next
      // request on this connection; next_request_arrives answers it if it is here, else ends.
      if (!clean || client_closes || last || t_told_close) break;
    }
    close_connection(sock, clean);
    return true;
  }

  // Closing with unread input makes the kernel answer the client's further bytes with a
  // reset, which on some clients' stacks discards an answer not yet read (a 413, say):
  // after an error, read and discard briefly first (a "lingering close").
  void close_connection(socket_t sock, bool clean) const {
    ::shutdown(sock, SHUT_WR);
    if (!clean) {
      const Clock::time_point until = Clock::now() + std::min(read_, seconds(1));
      char sink[4096];
      for (size_t discarded = 0; discarded < (1u << 20);) {
        pollfd p{sock, POLLIN, 0};
        const auto left = std::chrono::ceil<std::chrono::milliseconds>(until - Clock::now()).count();
        if (left <= 0 || ::poll(&p, 1, int(left)) <= 0) break;
        const ssize_t n = ::recv(sock, sink, sizeof(sink), MSG_DONTWAIT);
        if (n <= 0) break;
        discarded += size_t(n);
      }
    }
    ::close(sock);
  }

  int keep_alive_max_;
  Clock::duration read_, write_, request_, keep_alive_;
  size_t max_request_bytes_;
  std::atomic<bool> draining_{false};
  int stop_pipe_[2] = {-1, -1};
};

HttpServer::HttpServer(const Recommender& rec, ServerOptions opt) : api_(rec, opt.limits), opt_(std::move(opt)) {
  check_options(opt_);
  ensure_descriptors(opt_);
  svr_ = std::make_unique<GuardedServer>(opt_);
  const int connections = opt_.max_connections, queue = opt_.max_queue;
  svr_->new_task_queue = [connections, queue] { return new ConnectionPool(connections, queue); };
  // the body limit is enforced by httplib before reading (413); the Api checks it again
  svr_->set_payload_max_length(opt_.limits.max_body_bytes);
  // stopping: no further requests on this connection, and the connection loop knows it
  auto told_close_if_stopping = [this](httplib::Response& res) {
    if (!svr_->draining()) return;
    res.set_header("Connection", "close");
    t_told_close = true;
  };
  auto handler = [this, told_close_if_stopping](const httplib::Request& req, httplib::Response& res) {
    t_reached_api = true;
    Reply reply;
    if (req.path == "/metrics") {  // answered here, not queued behind the computations it reports on
      if (req.method == "GET")
        reply = {200, svr_->metrics.prometheus(svr_->compute.queue_depth())};
      else
        reply = {405, R"({"error":"use GET"})"};
      svr_->metrics.count(req.path, reply.status);
      send(res, reply, reply.status == 200 ? "text/plain; version=0.0.4" : "application/json");
      told_close_if_stopping(res);
      return;
    }
    const ComputePool::Timing t = svr_->compute.run([&] { reply = api_.handle(req.method, req.path, req.body); });
    if (req.path == "/v1/recommend" || req.path == "/v1/recommend/batch") svr_->metrics.record_recommend(t.queued, t.computed);
    svr_->metrics.count(req.path, reply.status);
    send(res, reply);
    told_close_if_stopping(res);
  };
  svr_->Get(".*", handler);
  svr_->Post(".*", handler);
  svr_->Put(".*", handler);
  svr_->Delete(".*", handler);
  svr_->Patch(".*", handler);
  svr_->set_exception_handler([this](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what += std::string(": ") + e.what();
    } catch (...) {
    }
    svr_->metrics.count(req.path, 500);
    send(res, {500, nlohmann::json{{"error", what}}.dump()});
  });
  // httplib's own refusals (413, 400 on unparsable HTTP, ...) get a JSON body too
  svr_->set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
    // (called for every answer of 400 and above: our handler's carry a body and are counted there)
    if (res.body.empty()) {
      svr_->metrics.count(req.path, res.status);
      send(res, {res.status, nlohmann::json{{"error", status_text(res.status)}}.dump()});
    }
  });
}

HttpServer::~HttpServer() = default;

int HttpServer::bind() {
  int port = opt_.port;
  if (port == 0) {
    port = svr_->bind_to_any_port(opt_.host);
    if (port < 0) throw std::runtime_error("cannot bind to " + opt_.host);
  } else if (!svr_->bind_to_port(opt_.host, port)) {
    throw std::runtime_error("cannot bind to " + opt_.host + ":" + std::to_string(port));
  }
  svr_->raise_backlog();
  return port;
}

bool HttpServer::run() { return svr_->listen_after_bind(); }

void HttpServer::stop() { svr_->drain(); }

}  // namespace s3rec::serve
