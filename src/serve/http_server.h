#pragma once
// `s3rec serve`: the JSON API of http_api.h over HTTP (cpp-httplib), on a bounded
// worker pool. Each worker scores with one thread; the accept loop waits while
// the queue is full (back-pressure) instead of growing without bound.
#include <memory>
#include <string>

#include "serve/http_api.h"

namespace httplib {
class Server;
}

namespace s3rec::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;   // 0: any free port (see bind())
  // Workers. httplib keeps a keep-alive connection on one worker, so this bounds the
  // connections served at once; each worker computes with one core.
  int threads = 16;
  int max_queue = 256;  // accepted connections waiting for a worker
  Limits limits;
};

class HttpServer {
 public:
  HttpServer(const Recommender& rec, ServerOptions opt);
  ~HttpServer();
  int bind();   // binds the socket; returns the port (throws std::runtime_error when it cannot)
  void run();   // serves until stop(); returns after in-flight requests are answered
  void stop();  // thread-safe; for signal handling and tests

 private:
  Api api_;
  ServerOptions opt_;
  std::unique_ptr<httplib::Server> svr_;
};

}  // namespace s3rec::serve
