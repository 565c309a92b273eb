#pragma once
// One client connection of `s3rec serve`, as the httplib::Stream the request parser
// reads from and the response is written to. It enforces what cpp-httplib 0.11 does
// not: a deadline for each whole request (a client trickling a byte every few seconds
// never passes a per-read timeout, but runs into this), and a cap on the bytes one
// request may take (httplib 0.11 has no limit on the number of header lines).
// Reads are buffered (the parser reads headers a byte at a time); sockets are never
// blocked on: every wait is a poll() with a timeout.
#include <httplib.h>

#include <chrono>
#include <cstddef>

namespace s3rec::serve {

class ConnectionStream : public httplib::Stream {
 public:
  using Clock = std::chrono::steady_clock;

  // read_timeout: longest silence while a request is being received;
  // write_timeout: longest wait for the client to take more of the answer.
  ConnectionStream(int sock, Clock::duration read_timeout, Clock::duration write_timeout);

  // Starts a request: it must be received whole before `deadline`, in at most `max_bytes`.
  void begin_request(Clock::time_point deadline, size_t max_bytes);
  // Bytes already received and not yet parsed (a pipelined next request).
  bool has_buffered() const { return pos_ < len_; }
  // A read failed (timeout, deadline, byte cap, peer gone): the connection must close.
  bool broken() const { return broken_; }

  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  int socket() const override { return sock_; }

 private:
  bool wait_readable() const;  // within the read timeout and the request deadline
  int sock_;
  Clock::duration read_timeout_, write_timeout_;
  Clock::time_point deadline_ = Clock::time_point::max();
  size_t max_bytes_ = 0, taken_ = 0;  // this request's cap and the bytes handed to the parser
  bool broken_ = false;
  char buf_[4096];
  size_t pos_ = 0, len_ = 0;
};

}  // namespace s3rec::serve
