#include "core/clamd_url.hpp"

#include <fmt/format.h>
#include <sys/un.h>

namespace mediastore::detail {

namespace {

Status bad(std::string_view url, std::string_view why) {
  return Status::InvalidArgument(
      fmt::format("MEDIA_CLAMD_URL must be unix:/PATH or tcp://HOST:PORT ({}), got '{}'", why, url));
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

bool is_ipv6_char(char c) {
  return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || (c >= '0' && c <= '9') || c == ':' || c == '.';
}

}  // namespace

Result<ClamdAddress> parse_clamd_url(std::string_view url) {
  ClamdAddress a;
  if (url.substr(0, 5) == "unix:") {
    std::string_view path = url.substr(5);
    if (path.empty() || path[0] != '/') return bad(url, "the socket path must be absolute");
    if (path.size() >= sizeof(sockaddr_un::sun_path))
      return bad(url, fmt::format("the socket path must be shorter than {} bytes", sizeof(sockaddr_un::sun_path)));
    for (char c : path)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return bad(url, "control character in the path");
    a.kind = ClamdAddress::Kind::unix_socket;
    a.path = std::string(path);
    a.display = std::string(url);
    return a;
  }
  if (url.substr(0, 6) != "tcp://") return bad(url, "unknown scheme");
  std::string_view rest = url.substr(6);
  std::string_view host;
  std::string_view port;
  if (!rest.empty() && rest[0] == '[') {
    auto close = rest.find(']');
    if (close == std::string_view::npos) return bad(url, "unclosed '['");
    host = rest.substr(1, close - 1);
    if (host.empty()) return bad(url, "empty host");
    for (char c : host)
      if (!is_ipv6_char(c)) return bad(url, "not an IPv6 address between the brackets");
    if (close + 1 >= rest.size() || rest[close + 1] != ':') return bad(url, "missing :PORT");
    port = rest.substr(close + 2);
  } else {
    auto colon = rest.rfind(':');
    if (colon == std::string_view::npos) return bad(url, "missing :PORT");
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    if (host.empty()) return bad(url, "empty host");
    for (char c : host)
      if (!is_name_char(c)) return bad(url, "the host must be a name, an IPv4 address or [IPv6]");
    if (host.front() == '-' || host.front() == '.' || host.back() == '-')
      return bad(url, "the host must be a name, an IPv4 address or [IPv6]");
  }
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos)
    return bad(url, "the port must be a number 1..65535 with nothing after it");
  unsigned long n = std::stoul(std::string(port));
  if (n == 0 || n > 65535) return bad(url, "the port must be a number 1..65535 with nothing after it");
  a.kind = ClamdAddress::Kind::tcp;
  a.host = std::string(host);
  a.port = static_cast<std::uint16_t>(n);
  a.display = std::string(url);
  return a;
}

}  // namespace mediastore::detail
