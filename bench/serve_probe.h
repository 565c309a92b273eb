#pragma once
// Tools to probe `s3rec serve` from outside, shared by the soak generator (bench/soak.cpp)
// and the server-process tests (tests/test_serve_process.cpp):
//  - raw HTTP/1.1 over a blocking loopback socket, byte by byte if need be, so that a
//    client can misbehave (trickle, stop half-way, send garbage) as no HTTP library lets it;
//  - ServerProcess: starts the built binary with --port=0, learns the port from its log,
//    sends it signals and collects its exit status;
//  - resident memory and thread count of a process, from /proc/PID/status.
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <atomic>
#include <fstream>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace serve_probe {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// A connected blocking socket to 127.0.0.1:port (TCP_NODELAY), or -1.
inline int connect_to(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(uint16_t(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0) {
    ::close(fd);
    return -1;
  }
  const int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

// Closes with a reset instead of a FIN (a client that vanishes).
inline void reset_close(int fd) {
  const linger l{1, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
  ::close(fd);
}

inline bool send_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    const ssize_t w = ::send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= size_t(w);
  }
  return true;
}
inline bool send_all(int fd, const std::string& s) { return send_all(fd, s.data(), s.size()); }

// A request's bytes; `content_length` < 0 takes the body's length.
inline std::string request_text(const std::string& method, const std::string& path, const std::string& body,
                                long long content_length = -1, const std::string& extra_headers = "") {
  return method + " " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
         "Content-Length: " + std::to_string(content_length < 0 ? (long long)body.size() : content_length) + "\r\n" +
         extra_headers + "\r\n" + body;
}

struct Reply {
  int status = 0;      // 0: no answer (closed, reset or timed out)
  bool close = false;  // the server said "Connection: close"
  std::string body;
  bool timed_out = false;
};

// Reads one answer (status line, headers, Content-Length body) within `timeout_s`.
inline Reply read_reply(int fd, double timeout_s) {
  Reply r;
  const Clock::time_point until = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s));
  std::string in;
  size_t head_end = std::string::npos, need = 0;
  for (;;) {
    if (head_end != std::string::npos && in.size() >= need) break;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count();
    pollfd p{fd, POLLIN, 0};
    const int pr = left > 0 ? ::poll(&p, 1, int(left)) : 0;
    if (pr < 0 && errno == EINTR) continue;
    if (pr <= 0) {
      r.timed_out = true;
      return r;
    }
    char buf[8192];
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return r;  // closed or reset before a whole answer
    in.append(buf, size_t(n));
    if (head_end == std::string::npos && (head_end = in.find("\r\n\r\n")) != std::string::npos) {
      std::string head = in.substr(0, head_end);
      for (char& c : head) c = char(std::tolower(static_cast<unsigned char>(c)));
      const size_t cl = head.find("\r\ncontent-length:");
      need = head_end + 4 + (cl == std::string::npos ? 0 : std::stoul(head.substr(cl + 17)));
      r.close = head.find("\r\nconnection: close") != std::string::npos;
      r.status = head.size() > 12 && head.rfind("http/1.", 0) == 0 ? std::atoi(head.c_str() + 9) : -1;
    }
  }
  r.body = in.substr(head_end + 4, need - head_end - 4);
  return r;
}

// Whether the server has closed this connection (EOF or reset) within `timeout_s`.
inline bool closed_by_peer(int fd, double timeout_s) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, int(timeout_s * 1000)) <= 0) return false;
  char b[4096];
  const ssize_t n = ::recv(fd, b, sizeof(b), MSG_DONTWAIT);
  return n <= 0;
}

// Fields of /proc/PID/status in KiB or a count ("VmRSS", "Threads"); -1 when absent.
inline long proc_status(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind(field + ":", 0) == 0) return std::atol(line.c_str() + field.size() + 1);
  return -1;
}

// The server as a child process: `argv` is the command, which must print
// "... on http://HOST:PORT" to stderr once listening (s3rec serve --port=0 does).
class ServerProcess {
 public:
  explicit ServerProcess(const std::vector<std::string>& argv, double startup_s = 600, bool echo = false)
      : echo_(echo) {
    std::vector<char*> args;  // built before fork: the child of a threaded process may not allocate
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    int err[2];
    if (::pipe2(err, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::dup2(err[1], 2);
      ::execv(args[0], args.data());
      _exit(127);
    }
    ::close(err[1]);
    reader_ = std::thread([this, fd = err[0]] {
      char buf[4096];
      for (ssize_t n; (n = ::read(fd, buf, sizeof(buf))) > 0;) {
        std::lock_guard<std::mutex> lock(mu_);
        log_.append(buf, size_t(n));
        if (echo_) ::fwrite(buf, 1, size_t(n), stderr);
      }
      ::close(fd);
    });
    try {
      wait_for_port(startup_s);
    } catch (...) {
      end();
      throw;
    }
  }
  ~ServerProcess() { end(); }
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  pid_t pid() const { return pid_; }
  int port() const { return port_; }
  void signal(int sig) const { ::kill(pid_, sig); }
  std::string log() {
    std::lock_guard<std::mutex> lock(mu_);
    return log_;
  }
  // Waits up to `timeout_s` for the process to end; its wait status (see WEXITSTATUS), or -1.
  int wait_exit(double timeout_s) {
    const Clock::time_point t0 = Clock::now();
    while (!exited_) {
      if (::waitpid(pid_, &status_, WNOHANG) == pid_) {
        exited_ = true;
        break;
      }
      if (seconds_since(t0) > timeout_s) return -1;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    if (reader_.joinable()) reader_.join();
    return status_;
  }

 private:
  void end() {  // kills the process if it still runs
    if (!exited_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status_, 0);
      exited_ = true;
    }
    if (reader_.joinable()) reader_.join();
  }
  void wait_for_port(double startup_s) {
    const Clock::time_point t0 = Clock::now();
    while (port_ <= 0) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        const size_t at = log_.find(" on http://");
        const size_t colon = at == std::string::npos ? at : log_.find(':', at + 11);
        if (colon != std::string::npos && log_.find('\n', colon) != std::string::npos) port_ = std::atoi(log_.c_str() + colon + 1);
      }
      if (port_ > 0) break;
      int st = 0;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        exited_ = true;
        status_ = st;
        throw std::runtime_error("the server exited at start-up: " + log());
      }
      if (seconds_since(t0) > startup_s) throw std::runtime_error("the server did not start: " + log());
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  pid_t pid_ = -1;
  int port_ = 0;
  bool exited_ = false, echo_;
  int status_ = 0;
  std::thread reader_;
  std::mutex mu_;
  std::string log_;
};

// SIGTERM with requests in flight, and what became of them:
//  - `partial` requests are half-sent before the signal and finished 300 ms after it;
//  - `load_threads` keep-alive clients send requests back to back across the signal:
//    every request whose bytes were sent before kill() must be answered;
//  - one keep-alive connection sits idle: the drain must close it, not wait for it.
// `body(n)` is the n-th POST /v1/recommend body.
struct DrainReport {
  int partial = 0, partial_answered = 0, partial_told_close = 0;  // answered 200; with "Connection: close"
  long sent_before = 0, lost_before = 0, answered_after = 0;       // load requests around the signal
  bool idle_closed = false;
  int exit_status = -1;  // wait status; -1: still running after the timeout
  double exit_seconds = -1;
};

inline DrainReport sigterm_drain(ServerProcess& srv, const std::function<std::string(long)>& body, int partial = 3,
                                 int load_threads = 4, double exit_timeout_s = 60) {
  DrainReport rep;
  const int port = srv.port();
  const int idle = connect_to(port);
  if (send_all(idle, request_text("POST", "/v1/recommend", body(0)))) read_reply(idle, 10);

  std::vector<int> half;
  std::vector<std::string> rest;
  for (int i = 0; i < partial; ++i) {
    const std::string req = request_text("POST", "/v1/recommend", body(1 + i));
    const size_t cut = req.size() - std::min<size_t>(12, req.size() / 2);  // headers and part of the body
    half.push_back(connect_to(port));
    send_all(half.back(), req.substr(0, cut));
    rest.push_back(req.substr(cut));
  }
  rep.partial = partial;

  std::atomic<bool> killed{false};
  std::atomic<long> sent_before{0}, lost_before{0}, answered_after{0};
  std::vector<std::thread> load;
  for (int t = 0; t < load_threads; ++t)
    load.emplace_back([&, t] {
      int fd = connect_to(port);
      for (long n = 0; fd >= 0; ++n) {
        const bool sent = send_all(fd, request_text("POST", "/v1/recommend", body(1000 + t * 1000003L + n)));
        const bool before = !killed;  // the bytes were handed over before kill() was called
        const Reply r = sent ? read_reply(fd, 30) : Reply{};
        if (before) {
          ++sent_before;
          if (r.status != 200) ++lost_before;
        } else if (r.status == 200) {
          ++answered_after;
        }
        if (r.status != 200 || r.close) {
          ::close(fd);
          fd = killed ? -1 : connect_to(port);
        }
      }
    });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  killed = true;
  srv.signal(SIGTERM);
  const Clock::time_point t_kill = Clock::now();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  for (int i = 0; i < partial; ++i) {
    const Reply r = send_all(half[size_t(i)], rest[size_t(i)]) ? read_reply(half[size_t(i)], 30) : Reply{};
    rep.partial_answered += r.status == 200;
    rep.partial_told_close += r.status == 200 && r.close;
    ::close(half[size_t(i)]);
  }
  for (auto& t : load) t.join();
  rep.sent_before = sent_before;
  rep.lost_before = lost_before;
  rep.answered_after = answered_after;
  rep.idle_closed = closed_by_peer(idle, 30);
  ::close(idle);
  rep.exit_status = srv.wait_exit(exit_timeout_s);
  rep.exit_seconds = seconds_since(t_kill);
  return rep;
}

}  // namespace serve_probe
