#pragma once
// `s3rec serve`: the JSON API of http_api.h over HTTP (cpp-httplib 0.11).
//
// Connections and computations are kept apart: each connection is held by its own
// thread (up to max_connections, mostly asleep in poll()), which hands each request to
// a pool of `threads` compute threads (arrival order; each computes on one core). A slow
// client therefore holds a cheap connection thread, never a compute thread, and
// every request must arrive whole within request_timeout, so a client trickling bytes
// is cut off. stop() drains: queued and partly received requests are answered (with
// "Connection: close"), idle keep-alive connections are closed at once.
#include <memory>
#include <string>

#include "serve/http_api.h"

namespace s3rec::serve {

struct Timeouts {           // seconds
  double read = 5;          // longest silence while a request is being received
  double write = 5;         // longest wait for the client to take more of an answer
  double request = 10;      // a whole request (line, headers, body) must arrive within this
  double keep_alive = 5;    // an idle connection waits this long for its next request
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;            // 0: any free port (see bind())
  int threads = 0;            // compute threads: requests computing at once (one core each); 0: one per core
  int max_connections = 512;  // connections served at once, one thread each
  int max_queue = 256;        // accepted connections waiting for a connection thread
  int keep_alive_max = 1000;  // requests per connection before it is closed
  Timeouts timeouts;
  Limits limits;
};

// Refuses options out of range with a message naming the option (std::invalid_argument).
void check_options(const ServerOptions& opt);

class GuardedServer;

class HttpServer {
 public:
  HttpServer(const Recommender& rec, ServerOptions opt);
  ~HttpServer();
  int bind();   // binds the socket; returns the port (throws std::runtime_error when it cannot)
  bool run();   // serves until stop(), then answers what is in flight; false if accepting failed
  void stop();  // thread-safe; for signal handling and tests

 private:
  Api api_;
  ServerOptions opt_;
  std::unique_ptr<GuardedServer> svr_;
};

}  // namespace s3rec::serve
