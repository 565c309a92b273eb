#include "serve/http_server.h"

#include <httplib.h>
#include <omp.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

namespace s3rec::serve {

namespace {

// A fixed set of workers and a bounded queue: enqueue blocks while the queue is full.
class BoundedPool : public httplib::TaskQueue {
 public:
  BoundedPool(int threads, int max_queue) : max_queue_(size_t(std::max(1, max_queue))) {
    for (int i = 0; i < std::max(1, threads); ++i)
      workers_.emplace_back([this] {
        omp_set_num_threads(1);  // one request, one core: concurrency comes from the pool
        work();
      });
  }
  void enqueue(std::function<void()> fn) override {
    std::unique_lock<std::mutex> lock(mu_);
    not_full_.wait(lock, [&] { return jobs_.size() < max_queue_ || shutdown_; });
    jobs_.push_back(std::move(fn));
    not_empty_.notify_one();
  }
  void shutdown() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      shutdown_ = true;
    }
    not_empty_.notify_all();
    not_full_.notify_all();
    for (auto& t : workers_) t.join();
  }

 private:
  void work() {
    for (;;) {
      std::function<void()> fn;
      {
        std::unique_lock<std::mutex> lock(mu_);
        not_empty_.wait(lock, [&] { return !jobs_.empty() || shutdown_; });
        if (jobs_.empty()) return;  // shut down and drained
        fn = std::move(jobs_.front());
        jobs_.pop_front();
        not_full_.notify_one();
      }
      fn();
    }
  }
  size_t max_queue_;
  std::vector<std::thread> workers_;
  std::deque<std::function<void()>> jobs_;
  std::mutex mu_;
  std::condition_variable not_empty_, not_full_;
  bool shutdown_ = false;
};

std::string status_text(int status) {
  switch (status) {
    case 400: return "bad request";
    case 404: return "not found";
    case 413: return "payload too large";
    case 414: return "URI too long";
    default: return "HTTP status " + std::to_string(status);
  }
}

void send(httplib::Response& res, const Reply& r) {
  res.status = r.status;
  res.set_content(r.body, "application/json");
}

}  // namespace

HttpServer::HttpServer(const Recommender& rec, ServerOptions opt)
    : api_(rec, opt.limits), opt_(std::move(opt)), svr_(std::make_unique<httplib::Server>()) {
  const int threads = std::max(1, opt_.threads);
  const int max_queue = opt_.max_queue;
  svr_->new_task_queue = [threads, max_queue] { return new BoundedPool(threads, max_queue); };
  // the body limit is enforced by httplib before reading (413); the Api checks it again
  svr_->set_payload_max_length(opt_.limits.max_body_bytes);
  svr_->set_keep_alive_max_count(1000);
  svr_->set_tcp_nodelay(true);  // small JSON replies: no Nagle delay
  auto handler = [this](const httplib::Request& req, httplib::Response& res) {
    send(res, api_.handle(req.method, req.path, req.body));
  };
  svr_->Get(".*", handler);
  svr_->Post(".*", handler);
  svr_->Put(".*", handler);
  svr_->Delete(".*", handler);
  svr_->Patch(".*", handler);
  svr_->set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "internal error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what += std::string(": ") + e.what();
    } catch (...) {
    }
    send(res, {500, nlohmann::json{{"error", what}}.dump()});
  });
  // httplib's own refusals (413, 400 on unparsable HTTP, ...) get a JSON body too
  svr_->set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty())
      send(res, {res.status, nlohmann::json{{"error", status_text(res.status)}}.dump()});
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
  return port;
}

void HttpServer::run() { svr_->listen_after_bind(); }

void HttpServer::stop() { svr_->stop(); }

}  // namespace s3rec::serve
