// A misbehaving clamd for fault injection (shared by the test binaries; they
// have ${PROJECT_SOURCE_DIR}/tests on the include path). It listens on
// 127.0.0.1 (an ephemeral port) and serves connections one after the other
// on its own thread:
//   stall         accepts and never reads nor answers (the connection stays open)
//   answer        reads a whole INSTREAM request (or a PING), then sends
//                 `reply` and closes; the request is kept in `last_request()`
//   answer_early  reads the 10-byte command, sends `reply` at once and closes
//   close         accepts and closes at once
// Not a clamd: a real one is started by scripts/clamd.sh.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mediastore::test {

class FakeClamd {
 public:
  enum class Mode { stall, answer, answer_early, close };

  FakeClamd(Mode mode, std::string reply = {}) : mode_(mode), reply_(std::move(reply)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&sa), len) != 0 || ::listen(listen_fd_, 16) != 0 ||
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&sa), &len) != 0)
      return;
    port_ = ntohs(sa.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~FakeClamd() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    for (int fd : held_) ::close(fd);
    if (listen_fd_ >= 0) ::close(listen_fd_);
  }
  FakeClamd(const FakeClamd&) = delete;
  FakeClamd& operator=(const FakeClamd&) = delete;

  int port() const { return port_; }
  std::string url() const { return "tcp://127.0.0.1:" + std::to_string(port_); }
  int connections() const { return connections_; }
  // The bytes of the last request read in `answer` mode.
  std::string last_request() {
    std::lock_guard<std::mutex> lock(mu_);
    return last_request_;
  }

 private:
  void run() {
    while (!stop_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      ++connections_;
      serve(fd);
    }
  }

  // Reads exactly n bytes; false on EOF, error or stop.
  bool read_n(int fd, std::string& into, std::size_t n) {
    while (n > 0 && !stop_) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      char buf[65536];
      const ssize_t r = ::recv(fd, buf, n < sizeof buf ? n : sizeof buf, 0);
      if (r <= 0) return false;
      into.append(buf, static_cast<std::size_t>(r));
      n -= static_cast<std::size_t>(r);
    }
    return n == 0;
  }

  void serve(int fd) {
    if (mode_ == Mode::stall) {
      held_.push_back(fd);
      return;
    }
    std::string request;
    if (mode_ != Mode::close && read_n(fd, request, 6) && request != std::string("zPING\0", 6)) {
      if (read_n(fd, request, 4) && mode_ == Mode::answer) {
        // INSTREAM chunks until the zero-length one.
        while (true) {
          const std::size_t at = request.size();
          if (!read_n(fd, request, 4)) break;
          const auto* b = reinterpret_cast<const unsigned char*>(request.data() + at);
          const std::size_t n = (std::size_t{b[0]} << 24) | (std::size_t{b[1]} << 16) | (std::size_t{b[2]} << 8) | b[3];
          if (n == 0 || !read_n(fd, request, n)) break;
        }
      }
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      last_request_ = request;
    }
    if (mode_ != Mode::close) {
      (void)::send(fd, reply_.data(), reply_.size(), MSG_NOSIGNAL);  // the test sees what arrived
      // Read what the client still sends until it closes, so that closing
      // here does not reset the connection (and drop the answer) under it.
      ::shutdown(fd, SHUT_WR);
      std::string rest;
      while (read_n(fd, rest, 65536)) rest.clear();
    }
    ::close(fd);
  }

  Mode mode_;
  std::string reply_;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> connections_{0};
  std::vector<int> held_;
  std::mutex mu_;
  std::string last_request_;
  std::thread thread_;
};

}  // namespace mediastore::test
