#include "serve/connection_stream.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace s3rec::serve {

namespace {

using Clock = ConnectionStream::Clock;

int to_ms(Clock::duration d) {
  const auto ms = std::chrono::ceil<std::chrono::milliseconds>(d).count();
  return int(std::clamp<long long>(ms, 0, 1 << 30));
}

// poll() one socket for `events` for at most `timeout`; true when ready (or hung up:
// the following recv/send then reports what happened)
bool wait_for(int sock, short events, Clock::duration timeout) {
  const Clock::time_point until = Clock::now() + timeout;
  for (;;) {
    pollfd p{sock, events, 0};
    const int r = ::poll(&p, 1, to_ms(until - Clock::now()));
    if (r > 0) return true;
    if (r == 0 || errno != EINTR) return false;
  }
}

void address_of(int sock, bool peer, std::string& ip, int& port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof(addr);
  const int r = peer ? ::getpeername(sock, reinterpret_cast<sockaddr*>(&addr), &len)
                     : ::getsockname(sock, reinterpret_cast<sockaddr*>(&addr), &len);
  ip.clear();
  port = -1;
  if (r != 0) return;
  char host[NI_MAXHOST], serv[NI_MAXSERV];
  if (::getnameinfo(reinterpret_cast<sockaddr*>(&addr), len, host, sizeof(host), serv, sizeof(serv),
                    NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
    ip = host;
    port = std::atoi(serv);
  }
}

}  // namespace

ConnectionStream::ConnectionStream(int sock, Clock::duration read_timeout, Clock::duration write_timeout)
    : sock_(sock), read_timeout_(read_timeout), write_timeout_(write_timeout) {}

void ConnectionStream::begin_request(Clock::time_point deadline, size_t max_bytes) {
  deadline_ = deadline;
  max_bytes_ = max_bytes;
  taken_ = 0;
}

bool ConnectionStream::wait_readable() const {
  const Clock::duration left = deadline_ - Clock::now();
  if (left <= Clock::duration::zero()) return false;
  return wait_for(sock_, POLLIN, std::min(read_timeout_, left));
}

bool ConnectionStream::is_readable() const { return has_buffered() || (!broken_ && wait_readable()); }

ssize_t ConnectionStream::read(char* ptr, size_t size) {
  if (broken_) return -1;
  if (!has_buffered()) {
    for (;;) {
      if (!wait_readable()) {
        broken_ = true;  // silent past the read timeout, or the request's deadline passed
        return -1;
      }
      const ssize_t n = ::recv(sock_, buf_, sizeof(buf_), MSG_DONTWAIT);
      if (n > 0) {
        pos_ = 0;
        len_ = size_t(n);
        break;
      }
      if (n == 0) {
        broken_ = true;  // the client closed its side
        return 0;
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        broken_ = true;
        return -1;
      }
    }
  }
  const size_t n = std::min(size, len_ - pos_);
  if (taken_ + n > max_bytes_) {
    broken_ = true;  // more than one request may take
    return -1;
  }
  std::memcpy(ptr, buf_ + pos_, n);
  pos_ += n;
  taken_ += n;
  return ssize_t(n);
}

bool ConnectionStream::is_writable() const { return wait_for(sock_, POLLOUT, write_timeout_); }

ssize_t ConnectionStream::write(const char* ptr, size_t size) {
  for (;;) {
    if (!is_writable()) return -1;  // the client has not taken any of the answer for write_timeout
    const ssize_t n = ::send(sock_, ptr, size, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n >= 0) return n;
    if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return -1;
  }
}

void ConnectionStream::get_remote_ip_and_port(std::string& ip, int& port) const { address_of(sock_, true, ip, port); }

void ConnectionStream::get_local_ip_and_port(std::string& ip, int& port) const { address_of(sock_, false, ip, port); }

}  // namespace s3rec::serve
