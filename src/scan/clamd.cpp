#include "scan/clamd.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <vector>

#include "core/clamd_url.hpp"
#include "core/fd.hpp"

namespace mediastore {

namespace detail {

void put_be32(unsigned char* out, std::uint32_t n) {
  out[0] = static_cast<unsigned char>(n >> 24);
  out[1] = static_cast<unsigned char>(n >> 16);
  out[2] = static_cast<unsigned char>(n >> 8);
  out[3] = static_cast<unsigned char>(n);
}

std::string printable(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size() && i < 200; ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\')
      out += static_cast<char>(c);
    else
      out += fmt::format("\\x{:02x}", c);
  }
  if (text.size() > 200) out += "...";
  return out;
}

Result<ScanResult> parse_instream_reply(std::string_view reply, std::string_view who) {
  constexpr std::string_view kPrefix = "stream: ";
  constexpr std::string_view kFound = " FOUND";
  constexpr std::string_view kError = " ERROR";
  constexpr std::string_view kLimits = "Heuristics.Limits.Exceeded";
  auto ends_with = [&](std::string_view s) {
    return reply.size() >= s.size() && reply.substr(reply.size() - s.size()) == s;
  };
  ScanResult r;
  if (reply == "stream: OK") {
    r.verdict = ScanVerdict::clean;
    return r;
  }
  if (reply.substr(0, kPrefix.size()) == kPrefix && ends_with(kFound) &&
      reply.size() > kPrefix.size() + kFound.size()) {
    std::string_view sig = reply.substr(kPrefix.size(), reply.size() - kPrefix.size() - kFound.size());
    r.signature = std::string(sig);
    if (sig.substr(0, kLimits.size()) == kLimits) {
      r.verdict = ScanVerdict::unscanned;
      r.reason = fmt::format("{} stopped at one of its scan limits ({})", who, printable(sig));
    } else {
      r.verdict = ScanVerdict::infected;
    }
    return r;
  }
  if (ends_with(kError)) {
    if (reply.find("size limit exceeded") != std::string_view::npos) {
      r.verdict = ScanVerdict::unscanned;
      r.reason = fmt::format(
          "{} refused the stream as over its StreamMaxLength (which is smaller than "
          "MEDIA_CLAMD_STREAM_MAX_BYTES)",
          who);
      return r;
    }
    return Status::Unavailable(fmt::format("{} answered an error: '{}'", who, printable(reply)));
  }
  return Status::NetworkError(fmt::format("{} answered something that is not a verdict: '{}'", who, printable(reply)));
}

namespace {

using Clock = std::chrono::steady_clock;

int poll_ms(std::chrono::milliseconds d) {
  const auto n = d.count();
  return n <= 0 ? 0 : n > 86400000 ? 86400000 : static_cast<int>(n);
}

// Waits for `events` on fd for at most `timeout`; returns the revents, 0 on
// timeout, -1 (errno set) on a poll failure.
int wait_for(int fd, short events, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    pollfd p{fd, events, 0};
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    const int n = ::poll(&p, 1, poll_ms(left));
    if (n > 0) return p.revents;
    if (n == 0) return 0;
    if (errno != EINTR) return -1;
  }
}

// One connection to clamd; every wait bounded by the timeout.
class Connection {
 public:
  Connection(const detail::ClamdAddress& address, std::chrono::milliseconds timeout, std::string who)
      : address_(address), timeout_(timeout), who_(std::move(who)) {}

  Status connect() {
    if (address_.kind == detail::ClamdAddress::Kind::unix_socket) {
      sockaddr_un sa{};
      sa.sun_family = AF_UNIX;
      std::memcpy(sa.sun_path, address_.path.data(), address_.path.size());  // length checked by the parser
      return connect_to(AF_UNIX, reinterpret_cast<const sockaddr*>(&sa), sizeof sa);
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    addrinfo* list = nullptr;
    const std::string port = std::to_string(address_.port);
    const int rc = ::getaddrinfo(address_.host.c_str(), port.c_str(), &hints, &list);
    if (rc != 0)
      return Status::NetworkError(fmt::format("{}: cannot resolve '{}': {}", who_, address_.host, ::gai_strerror(rc)));
    Status last = Status::Unavailable(fmt::format("{}: no address for '{}'", who_, address_.host));
    for (addrinfo* ai = list; ai; ai = ai->ai_next) {
      last = connect_to(ai->ai_family, ai->ai_addr, ai->ai_addrlen);
      if (last.ok()) break;
    }
    ::freeaddrinfo(list);
    return last;
  }

  // Sends all n bytes. Stops early, with *answered set, when clamd speaks
  // or closes first (it answers before the end only to refuse the stream).
  Status send_all(const void* data, std::size_t n, bool& answered) {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
      const int ev = wait_for(fd_.get(), POLLOUT | POLLIN, timeout_);
      if (ev < 0) return io_failure("waiting to send", errno);
      if (ev == 0)
        return Status::Timeout(
            fmt::format("{} accepted no data for {} ms (MEDIA_CLAMD_TIMEOUT)", who_, timeout_.count()));
      if (ev & (POLLIN | POLLHUP | POLLERR)) {
        answered = true;
        return Status::Ok();
      }
      const ssize_t w = ::send(fd_.get(), p, n, MSG_NOSIGNAL);
      if (w < 0) {
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
        if (errno == EPIPE || errno == ECONNRESET) {
          answered = true;  // an answer may be waiting
          return Status::Ok();
        }
        return io_failure("sending", errno);
      }
      p += w;
      n -= static_cast<std::size_t>(w);
    }
    return Status::Ok();
  }

  // clamd's NUL-terminated answer, without the NUL (an answer cut by EOF is
  // taken as it is).
  Result<std::string> read_reply() {
    std::string reply;
    char buf[512];
    while (true) {
      const int ev = wait_for(fd_.get(), POLLIN, timeout_);
      if (ev < 0) return io_failure("waiting for the answer", errno);
      if (ev == 0)
        return Status::Timeout(
            fmt::format("{} gave no answer within {} ms (MEDIA_CLAMD_TIMEOUT)", who_, timeout_.count()));
      const ssize_t r = ::recv(fd_.get(), buf, sizeof buf, 0);
      if (r < 0) {
        if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
        return io_failure("reading the answer", errno);
      }
      if (r == 0) break;
      reply.append(buf, static_cast<std::size_t>(r));
      if (auto nul = reply.find('\0'); nul != std::string::npos) {
        reply.resize(nul);
        return reply;
      }
      if (reply.size() > kClamdMaxReply)
        return Status::NetworkError(
            fmt::format("{} answered more than {} bytes: '{}'", who_, kClamdMaxReply, printable(reply)));
    }
    if (reply.empty()) return Status::NetworkError(fmt::format("{} closed the connection without answering", who_));
    while (!reply.empty() && (reply.back() == '\n' || reply.back() == '\r')) reply.pop_back();
    return reply;
  }

 private:
  Status connect_to(int family, const sockaddr* sa, socklen_t len) {
    fd_ = detail::UniqueFd(::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
    if (!fd_.valid()) return io_failure("creating a socket", errno);
    if (::connect(fd_.get(), sa, len) == 0) return Status::Ok();
    if (errno != EINPROGRESS && errno != EINTR) return connect_failure(errno);
    const int ev = wait_for(fd_.get(), POLLOUT, timeout_);
    if (ev < 0) return io_failure("connecting", errno);
    if (ev == 0)
      return Status::Timeout(
          fmt::format("{}: no connection within {} ms (MEDIA_CLAMD_TIMEOUT)", who_, timeout_.count()));
    int err = 0;
    socklen_t err_len = sizeof err;
    if (::getsockopt(fd_.get(), SOL_SOCKET, SO_ERROR, &err, &err_len) != 0) err = errno;
    return err == 0 ? Status::Ok() : connect_failure(err);
  }

  Status connect_failure(int err) {
    const std::string msg = fmt::format("{}: cannot connect: {}", who_, std::strerror(err));
    switch (err) {
      case ENOENT:
      case ECONNREFUSED:
      case EAGAIN:  // a Unix socket's backlog is full
        return Status::Unavailable(msg + " (is clamd running?)");
      case EACCES:
      case EPERM: return Status::PermissionDenied(msg);
      case ETIMEDOUT: return Status::Timeout(msg);
      default: return Status::NetworkError(msg);
    }
  }

  Status io_failure(std::string_view what, int err) {
    return Status::NetworkError(fmt::format("{}: {}: {}", who_, what, std::strerror(err)));
  }

  const detail::ClamdAddress& address_;
  std::chrono::milliseconds timeout_;
  std::string who_;
  detail::UniqueFd fd_;
};

}  // namespace

}  // namespace detail

struct ClamdScanner::Impl {
  ClamdOptions options;
  detail::ClamdAddress address;
  std::string who;  // "clamd at tcp://127.0.0.1:3310"
};

ClamdScanner::ClamdScanner(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ClamdScanner::~ClamdScanner() = default;

Result<std::unique_ptr<ClamdScanner>> ClamdScanner::open(ClamdOptions options) {
  if (options.url.empty()) return Status::InvalidArgument("MEDIA_CLAMD_URL is empty: no clamd to scan with");
  auto address = detail::parse_clamd_url(options.url);
  if (!address.ok()) return address.status();
  if (options.stream_max_bytes == 0)
    return Status::InvalidArgument("MEDIA_CLAMD_STREAM_MAX_BYTES must be greater than 0");
  if (options.stream_max_bytes > 0xffffffffull)
    return Status::InvalidArgument("MEDIA_CLAMD_STREAM_MAX_BYTES must be below 4 GiB (clamd's limit)");
  if (options.timeout.count() <= 0) return Status::InvalidArgument("MEDIA_CLAMD_TIMEOUT must be positive");
  if (options.chunk_bytes < 1024 || options.chunk_bytes > (16u << 20))
    return Status::InvalidArgument(
        fmt::format("ClamdOptions::chunk_bytes must be 1 KiB .. 16 MiB, got {}", options.chunk_bytes));
  auto impl = std::make_unique<Impl>();
  impl->who = "clamd at " + address->display;
  impl->address = std::move(*address);
  impl->options = std::move(options);
  return std::unique_ptr<ClamdScanner>(new ClamdScanner(std::move(impl)));
}

Result<std::unique_ptr<ClamdScanner>> ClamdScanner::open(const ScanSettings& settings) {
  ClamdOptions o;
  o.url = settings.clamd_url;
  o.stream_max_bytes = settings.stream_max_bytes;
  o.timeout = settings.timeout;
  return open(std::move(o));
}

const ClamdOptions& ClamdScanner::options() const { return impl_->options; }

std::string ClamdScanner::describe() const { return impl_->who; }

Status ClamdScanner::ping() {
  detail::Connection conn(impl_->address, impl_->options.timeout, impl_->who);
  MS_RETURN_IF_ERROR(conn.connect());
  bool answered = false;
  MS_RETURN_IF_ERROR(conn.send_all(detail::kClamdPing.data(), detail::kClamdPing.size(), answered));
  auto reply = conn.read_reply();
  if (!reply.ok()) return reply.status();
  if (*reply != "PONG")
    return Status::NetworkError(
        fmt::format("{} answered '{}' to PING, not PONG", impl_->who, detail::printable(*reply)));
  return Status::Ok();
}

Result<ScanResult> ClamdScanner::scan(const ScanReadFn& read, std::optional<std::uint64_t> size) {
  const std::uint64_t limit = impl_->options.stream_max_bytes;
  auto over_limit = [&] {
    ScanResult r;
    r.verdict = ScanVerdict::unscanned;
    r.reason =
        fmt::format("larger than the stream limit of {} bytes (MEDIA_CLAMD_STREAM_MAX_BYTES); not scanned", limit);
    return r;
  };
  // Not sent at all: a verdict on a part would say nothing of the rest.
  if (size && *size > limit) return over_limit();

  detail::Connection conn(impl_->address, impl_->options.timeout, impl_->who);
  MS_RETURN_IF_ERROR(conn.connect());
  bool answered = false;
  MS_RETURN_IF_ERROR(conn.send_all(detail::kClamdInstream.data(), detail::kClamdInstream.size(), answered));

  // One buffer: the 4-byte length, then the chunk.
  std::vector<unsigned char> buf(4 + impl_->options.chunk_bytes);
  std::uint64_t sent = 0;
  while (!answered) {
    auto n = read(buf.data() + 4, impl_->options.chunk_bytes);
    if (!n.ok()) return n.status();
    if (*n > impl_->options.chunk_bytes)
      return Status::Internal(
          fmt::format("a scan source returned {} bytes for a {}-byte read", *n, impl_->options.chunk_bytes));
    if (*n == 0) break;
    // Only a source of unknown size gets here; the connection is dropped
    // without a verdict.
    if (sent + *n > limit) return over_limit();
    detail::put_be32(buf.data(), static_cast<std::uint32_t>(*n));
    MS_RETURN_IF_ERROR(conn.send_all(buf.data(), 4 + *n, answered));
    sent += *n;
  }
  if (!answered) {
    const unsigned char end[4] = {0, 0, 0, 0};
    MS_RETURN_IF_ERROR(conn.send_all(end, sizeof end, answered));
  }
  auto reply = conn.read_reply();
  if (!reply.ok()) return reply.status();
  auto result = detail::parse_instream_reply(*reply, impl_->who);
  if (!result.ok()) return result;
  // An OK before the end of the stream covers only a part.
  if (answered && result->verdict == ScanVerdict::clean)
    return Status::NetworkError(fmt::format("{} answered OK before the end of the stream", impl_->who));
  result->bytes = sent;
  return result;
}

}  // namespace mediastore
