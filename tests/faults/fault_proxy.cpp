// Fault-injecting HTTP/1.1 proxy (see fault_proxy.hpp). One thread per client
// connection, blocking sockets driven through poll() in short slices so that
// stop() never waits on a stuck peer. Each client connection gets its own
// upstream connection; requests on it are handled one at a time (S3 clients
// do not pipeline).
#include "faults/fault_proxy.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <limits>
#include <optional>

namespace mediastore::faults {
namespace {

constexpr int kSliceMs = 100;
constexpr std::size_t kMaxHead = 64 * 1024;
constexpr std::uint64_t kUnlimited = std::numeric_limits<std::uint64_t>::max();

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// A parsed message head (request or response).
struct Head {
  std::string raw;                                           // as received, including the final CRLFCRLF
  std::string first;                                         // request line or status line
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-case

  std::optional<std::string> get(std::string_view name) const {
    for (const auto& [k, v] : headers)
      if (k == name) return v;
    return std::nullopt;
  }
  bool has_token(std::string_view name, std::string_view token) const {
    auto v = get(name);
    return v && lower(*v).find(token) != std::string::npos;
  }
};

Head parse_head(std::string raw) {
  Head h;
  h.raw = std::move(raw);
  std::string_view rest(h.raw);
  auto eol = rest.find("\r\n");
  h.first = std::string(rest.substr(0, eol));
  rest.remove_prefix(eol + 2);
  while (!rest.empty()) {
    eol = rest.find("\r\n");
    if (eol == std::string_view::npos || eol == 0) break;
    auto line = rest.substr(0, eol);
    rest.remove_prefix(eol + 2);
    auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    h.headers.emplace_back(lower(trim(line.substr(0, colon))), std::string(trim(line.substr(colon + 1))));
  }
  return h;
}

enum class Io { ok, eof, failed, stopping };

void set_reset_on_close(int fd) {
  linger lg{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
}

}  // namespace

const char* fault_name(Fault f) {
  switch (f) {
    case Fault::none: return "none";
    case Fault::error_response: return "error_response";
    case Fault::reset_request: return "reset_request";
    case Fault::stall_request: return "stall_request";
    case Fault::drop_response: return "drop_response";
    case Fault::reset_response: return "reset_response";
    case Fault::truncate_response: return "truncate_response";
    case Fault::stall_response: return "stall_response";
    case Fault::stall_connection: return "stall_connection";
  }
  return "?";
}

// One client connection and its upstream partner.
struct FaultProxy::Conn {
  Conn(FaultProxy& p, int fd) : proxy(p), client(fd) {}
  FaultProxy& proxy;
  int client = -1;
  int upstream = -1;
  std::string cbuf;  // bytes read from the client, not yet consumed
  std::string ubuf;  // bytes read from upstream, not yet consumed

  // Waits until fd is readable (or hung up). ok / stopping.
  Io wait_readable(int fd) {
    for (;;) {
      if (proxy.stopping_) return Io::stopping;
      pollfd p{fd, POLLIN, 0};
      int r = ::poll(&p, 1, kSliceMs);
      if (r > 0) return Io::ok;
      if (r < 0 && errno != EINTR) return Io::failed;
    }
  }

  // Reads more bytes from fd into buf.
  Io fill(int fd, std::string& buf) {
    Io w = wait_readable(fd);
    if (w != Io::ok) return w;
    char tmp[64 * 1024];
    ssize_t n;
    do {
      n = ::recv(fd, tmp, sizeof tmp, 0);
    } while (n < 0 && errno == EINTR);
    if (n == 0) return Io::eof;
    if (n < 0) return Io::failed;
    buf.append(tmp, static_cast<std::size_t>(n));
    return Io::ok;
  }

  Io send_all(int fd, std::string_view data) {
    while (!data.empty()) {
      if (proxy.stopping_) return Io::stopping;
      pollfd p{fd, POLLOUT, 0};
      int r = ::poll(&p, 1, kSliceMs);
      if (r < 0 && errno != EINTR) return Io::failed;
      if (r <= 0) continue;
      ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        return Io::failed;
      }
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return Io::ok;
  }

  // Reads one message head (through the blank line) from fd.
  Io read_head(int fd, std::string& buf, Head& out) {
    for (;;) {
      auto end = buf.find("\r\n\r\n");
      if (end != std::string::npos) {
        out = parse_head(buf.substr(0, end + 4));
        buf.erase(0, end + 4);
        return Io::ok;
      }
      if (buf.size() > kMaxHead) return Io::failed;
      Io r = fill(fd, buf);
      if (r != Io::ok) return r;
    }
  }

  // Copies a message body from `from` to `to` (to < 0: drop it), passing on
  // at most `budget` body bytes (wire bytes, chunk framing included).
  struct Pump {
    Conn& c;
    int from;
    std::string& buf;
    int to;
    std::uint64_t budget;
    std::uint64_t sent = 0;
    bool cut = false;  // the budget was reached before the body ended

    Io pass(std::string_view piece) {
      if (sent + piece.size() > budget) {
        piece = piece.substr(0, static_cast<std::size_t>(budget - sent));
        cut = true;
      }
      sent += piece.size();
      if (to >= 0 && !piece.empty()) {
        Io r = c.send_all(to, piece);
        if (r != Io::ok) return r;
      }
      return Io::ok;
    }
    Io copy_n(std::uint64_t n) {
      while (n > 0) {
        if (sent >= budget) {
          cut = true;
          return Io::ok;
        }
        if (buf.empty()) {
          Io r = c.fill(from, buf);
          if (r != Io::ok) return r;
        }
        std::size_t k = static_cast<std::size_t>(std::min<std::uint64_t>(n, buf.size()));
        Io r = pass(std::string_view(buf).substr(0, k));
        if (r != Io::ok) return r;
        if (cut) return Io::ok;
        buf.erase(0, k);
        n -= k;
      }
      return Io::ok;
    }
    // Copies one CRLF-terminated line and returns it (without CRLF).
    Io copy_line(std::string& line) {
      for (;;) {
        auto eol = buf.find("\r\n");
        if (eol != std::string::npos) {
          line = buf.substr(0, eol);
          return copy_n(eol + 2);
        }
        if (buf.size() > kMaxHead) return Io::failed;
        Io r = c.fill(from, buf);
        if (r != Io::ok) return r;
      }
    }
    Io copy_chunked() {
      for (;;) {
        std::string line;
        Io r = copy_line(line);
        if (r != Io::ok || cut) return r;
        std::uint64_t size = std::strtoull(line.c_str(), nullptr, 16);
        if (size == 0) {
          for (;;) {  // trailers up to the empty line
            r = copy_line(line);
            if (r != Io::ok || cut || line.empty()) return r;
          }
        }
        r = copy_n(size + 2);
        if (r != Io::ok || cut) return r;
      }
    }
    Io copy_until_close() {
      for (;;) {
        if (!buf.empty()) {
          Io r = pass(buf);
          if (r != Io::ok) return r;
          if (cut) return Io::ok;
          buf.clear();
        }
        if (sent >= budget) {
          cut = true;
          return Io::ok;
        }
        Io r = c.fill(from, buf);
        if (r == Io::eof) return Io::ok;
        if (r != Io::ok) return r;
      }
    }
  };

  enum class Framing { none, length, chunked, until_close };

  static Framing request_framing(const Head& h, std::uint64_t& length) {
    if (h.has_token("transfer-encoding", "chunked")) return Framing::chunked;
    if (auto cl = h.get("content-length")) {
      length = std::strtoull(cl->c_str(), nullptr, 10);
      return length ? Framing::length : Framing::none;
    }
    return Framing::none;
  }

  static Framing response_framing(const Head& h, bool head_request, std::uint64_t& length) {
    int status = 0;
    if (h.first.size() >= 12) status = std::atoi(h.first.c_str() + 9);
    if (head_request || status == 204 || status == 304 || (status >= 100 && status < 200)) return Framing::none;
    if (h.has_token("transfer-encoding", "chunked")) return Framing::chunked;
    if (auto cl = h.get("content-length")) {
      length = std::strtoull(cl->c_str(), nullptr, 10);
      return length ? Framing::length : Framing::none;
    }
    return Framing::until_close;
  }

  Io pump(int from, std::string& buf, int to, Framing f, std::uint64_t length, std::uint64_t budget, bool& cut) {
    Pump p{*this, from, buf, to, budget, 0, false};
    Io r = Io::ok;
    switch (f) {
      case Framing::none: break;
      case Framing::length: r = p.copy_n(length); break;
      case Framing::chunked: r = p.copy_chunked(); break;
      case Framing::until_close: r = p.copy_until_close(); break;
    }
    cut = p.cut;
    return r;
  }

  bool connect_upstream() {
    if (upstream >= 0) return true;
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return false;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(proxy.upstream_port_));
    inet_pton(AF_INET, proxy.upstream_host_.c_str(), &a.sin_addr);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
      ::close(fd);
      return false;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    upstream = fd;
    proxy.track(fd);
    return true;
  }

  void close_upstream(bool reset) {
    if (upstream < 0) return;
    if (reset) set_reset_on_close(upstream);
    proxy.untrack(upstream);
    ::close(upstream);
    upstream = -1;
  }

  // Holds the client connection open without reading or writing until the
  // client gives up (hang-up) or the proxy stops.
  void stall_client() {
    while (!proxy.stopping_) {
      pollfd p{client, POLLRDHUP, 0};
      int r = ::poll(&p, 1, kSliceMs);
      if (r > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR))) return;
      if (r < 0 && errno != EINTR) return;
    }
  }

  std::string error_response(const Head& req, const FaultRule& rule, bool close_after) {
    std::string target = req.first.substr(req.first.find(' ') + 1);
    target = target.substr(0, target.rfind(' '));
    std::string path = target.substr(0, target.find('?'));
    std::string rid = "faultproxy-" + std::to_string(proxy.faults_applied_.load());
    std::string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + rule.s3_code +
                       "</Code><Message>Injected by the test fault proxy.</Message><Resource>" + path +
                       "</Resource><RequestId>" + rid + "</RequestId></Error>";
    bool head_request = req.first.rfind("HEAD ", 0) == 0;
    std::string reason = rule.status == 503 ? "Slow Down" : rule.status == 500 ? "Internal Server Error" : "Error";
    std::string out = "HTTP/1.1 " + std::to_string(rule.status) + " " + reason +
                      "\r\nContent-Type: application/xml\r\nx-amz-request-id: " + rid +
                      "\r\nContent-Length: " + std::to_string(head_request ? 0 : body.size()) +
                      (close_after ? "\r\nConnection: close" : "") + "\r\n\r\n";
    if (!head_request) out += body;
    return out;
  }

  void run() {
    for (;;) {
      Head req;
      if (read_head(client, cbuf, req) != Io::ok) return;
      auto sp1 = req.first.find(' ');
      auto sp2 = req.first.rfind(' ');
      if (sp1 == std::string::npos || sp2 <= sp1) return;
      std::string method = req.first.substr(0, sp1);
      std::string target = req.first.substr(sp1 + 1, sp2 - sp1 - 1);
      FaultRule rule = proxy.take_rule(method, target, false);
      {
        std::lock_guard<std::mutex> lk(proxy.mu_);
        proxy.seen_.push_back({method, target, rule.fault});
      }
      if (rule.fault != Fault::none) ++proxy.faults_applied_;

      std::uint64_t req_len = 0;
      Framing req_framing = request_framing(req, req_len);
      bool expect = req.has_token("expect", "100-continue") && req_framing != Framing::none;
      bool client_wants_close = req.has_token("connection", "close");

      if (rule.fault == Fault::error_response) {
        bool cut = false;
        // With Expect: 100-continue the client has not sent its body: answer
        // at once and close (as servers do). Otherwise drop the body first.
        if (!expect && pump(client, cbuf, -1, req_framing, req_len, kUnlimited, cut) != Io::ok) return;
        bool close_after = expect || client_wants_close;
        if (send_all(client, error_response(req, rule, close_after)) != Io::ok || close_after) return;
        continue;
      }

      if (!connect_upstream()) {
        send_all(client, "HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        return;
      }
      if (send_all(upstream, req.raw) != Io::ok) return;

      // With Expect: 100-continue, relay the server's interim answer before
      // the body; if the client starts sending anyway, just go on.
      bool final_early = false;
      Head resp;
      if (expect && cbuf.empty() && ubuf.empty()) {
        for (;;) {
          if (stopping_now()) return;
          pollfd p[2] = {{client, POLLIN, 0}, {upstream, POLLIN, 0}};
          int r = ::poll(p, 2, kSliceMs);
          if (r < 0 && errno != EINTR) return;
          if (r <= 0) continue;
          if (p[1].revents) {
            if (read_head(upstream, ubuf, resp) != Io::ok) return;
            if (resp.first.size() >= 12 && resp.first[9] == '1') {
              if (send_all(client, resp.raw) != Io::ok) return;
            } else {
              final_early = true;
            }
          }
          break;
        }
      }

      if (!final_early) {
        std::uint64_t budget =
            (rule.fault == Fault::reset_request || rule.fault == Fault::stall_request) ? rule.after_bytes : kUnlimited;
        bool cut = false;
        Io r = pump(client, cbuf, upstream, req_framing, req_len, budget, cut);
        if (rule.fault == Fault::reset_request && (cut || req_framing == Framing::none)) {
          set_reset_on_close(client);
          close_upstream(true);
          return;
        }
        if (rule.fault == Fault::stall_request && (cut || req_framing == Framing::none)) {
          close_upstream(true);
          stall_client();
          return;
        }
        if (r != Io::ok) return;
        // Read the final answer, relaying interim (1xx) ones.
        for (;;) {
          if (read_head(upstream, ubuf, resp) != Io::ok) return;
          if (resp.first.size() >= 12 && resp.first[9] == '1') {
            if (send_all(client, resp.raw) != Io::ok) return;
            continue;
          }
          break;
        }
      }

      if (rule.fault == Fault::drop_response) {
        set_reset_on_close(client);
        close_upstream(true);
        return;
      }
      bool response_fault = rule.fault == Fault::reset_response || rule.fault == Fault::truncate_response ||
                            rule.fault == Fault::stall_response;
      std::uint64_t resp_len = 0;
      Framing resp_framing = response_framing(resp, method == "HEAD", resp_len);
      if (send_all(client, resp.raw) != Io::ok) return;
      bool cut = false;
      Io r = pump(upstream, ubuf, client, resp_framing, resp_len, response_fault ? rule.after_bytes : kUnlimited, cut);
      if (response_fault && (cut || resp_framing == Framing::none)) {
        close_upstream(true);
        if (rule.fault == Fault::reset_response) {
          set_reset_on_close(client);
        } else if (rule.fault == Fault::truncate_response) {
          ::shutdown(client, SHUT_WR);
        } else {
          stall_client();
        }
        return;
      }
      if (r != Io::ok || final_early || resp_framing == Framing::until_close || client_wants_close ||
          resp.has_token("connection", "close"))
        return;
    }
  }

  bool stopping_now() const { return proxy.stopping_.load(); }
};

FaultProxy::FaultProxy(std::string upstream_endpoint) {
  std::string_view ep(upstream_endpoint);
  if (ep.rfind("http://", 0) == 0) ep.remove_prefix(7);
  if (auto slash = ep.find('/'); slash != std::string_view::npos) ep = ep.substr(0, slash);
  auto colon = ep.rfind(':');
  upstream_host_ = std::string(ep.substr(0, colon));
  upstream_port_ = colon == std::string_view::npos ? 80 : std::atoi(std::string(ep.substr(colon + 1)).c_str());
}

FaultProxy::~FaultProxy() { stop(); }

std::string FaultProxy::start() {
  std::signal(SIGPIPE, SIG_IGN);
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return std::string("socket: ") + std::strerror(errno);
  int one = 1;
  setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = 0;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(listen_fd_, 64) != 0)
    return std::string("bind/listen on 127.0.0.1: ") + std::strerror(errno);
  socklen_t len = sizeof a;
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
  return "";
}

void FaultProxy::stop() {
  if (stopping_.exchange(true)) return;
  if (acceptor_.joinable()) acceptor_.join();
  {
    std::lock_guard<std::mutex> lk(mu_);
    for (int fd : open_fds_) ::shutdown(fd, SHUT_RDWR);
  }
  std::vector<std::thread> workers;
  {
    std::lock_guard<std::mutex> lk(mu_);
    workers.swap(workers_);
  }
  for (auto& t : workers) t.join();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
}

void FaultProxy::accept_loop() {
  while (!stopping_) {
    pollfd p{listen_fd_, POLLIN, 0};
    int r = ::poll(&p, 1, kSliceMs);
    if (r <= 0) continue;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    track(fd);
    std::lock_guard<std::mutex> lk(mu_);
    workers_.emplace_back([this, fd] { serve(fd); });
  }
}

void FaultProxy::serve(int client_fd) {
  Conn c(*this, client_fd);
  FaultRule rule = take_rule("", "", true);
  if (rule.fault == Fault::stall_connection) {
    ++faults_applied_;
    {
      std::lock_guard<std::mutex> lk(mu_);
      seen_.push_back({"", "(connection)", rule.fault});
    }
    c.stall_client();
  } else {
    c.run();
  }
  c.close_upstream(false);
  untrack(client_fd);
  ::close(client_fd);
}

FaultRule FaultProxy::take_rule(std::string_view method, std::string_view target, bool connection) {
  std::lock_guard<std::mutex> lk(mu_);
  std::string_view path = target.substr(0, target.find('?'));
  std::string_view query = target.find('?') == std::string_view::npos ? "" : target.substr(target.find('?') + 1);
  std::vector<std::string_view> params;
  while (!query.empty()) {
    auto amp = query.find('&');
    params.push_back(query.substr(0, amp));
    query = amp == std::string_view::npos ? "" : query.substr(amp + 1);
  }
  for (auto& r : rules_) {
    if (r.times == 0) continue;
    if (connection != (r.fault == Fault::stall_connection)) continue;
    if (!connection) {
      if (!r.method.empty() && r.method != method) continue;
      if (!r.path_contains.empty() && path.find(r.path_contains) == std::string_view::npos) continue;
      bool all = true;
      for (const auto& want : r.query) {
        bool found = std::any_of(params.begin(), params.end(), [&](std::string_view p) {
          if (want.find('=') != std::string::npos) return p == want;
          return p.substr(0, p.find('=')) == want;
        });
        if (!found) all = false;
      }
      if (!all) continue;
    }
    if (r.times > 0) --r.times;
    return r;
  }
  return FaultRule{};
}

void FaultProxy::add_rule(FaultRule rule) {
  std::lock_guard<std::mutex> lk(mu_);
  rules_.push_back(std::move(rule));
}

void FaultProxy::clear_rules() {
  std::lock_guard<std::mutex> lk(mu_);
  rules_.clear();
}

std::vector<SeenRequest> FaultProxy::requests() const {
  std::lock_guard<std::mutex> lk(mu_);
  return seen_;
}

int FaultProxy::count(std::string_view method, std::string_view target_contains) const {
  std::lock_guard<std::mutex> lk(mu_);
  return static_cast<int>(std::count_if(seen_.begin(), seen_.end(), [&](const SeenRequest& s) {
    return s.method == method && s.target.find(target_contains) != std::string::npos;
  }));
}

void FaultProxy::track(int fd) {
  std::lock_guard<std::mutex> lk(mu_);
  open_fds_.push_back(fd);
}

void FaultProxy::untrack(int fd) {
  std::lock_guard<std::mutex> lk(mu_);
  open_fds_.erase(std::remove(open_fds_.begin(), open_fds_.end(), fd), open_fds_.end());
}

}  // namespace mediastore::faults
