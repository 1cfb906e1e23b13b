// The address of a clamd, parsed from MEDIA_CLAMD_URL (internal; core so that
// Config::validate checks it and src/scan/ connects to it).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "mediastore/status.hpp"

namespace mediastore::detail {

struct ClamdAddress {
  enum class Kind { unix_socket, tcp };
  Kind kind = Kind::unix_socket;
  std::string path;  // unix_socket: absolute path of the socket
  std::string host;  // tcp: a name, IPv4 address or IPv6 address (without brackets)
  std::uint16_t port = 0;
  // "unix:/run/clamav/clamd.ctl" or "tcp://127.0.0.1:3310", for messages.
  std::string display;
};

// Strict: "unix:" then an absolute path shorter than a sockaddr_un holds, or
// "tcp://" HOST ":" PORT with nothing after the port (HOST a DNS name, a
// dotted IPv4 address or a bracketed IPv6 address; PORT 1..65535).
// Anything else is invalid_argument naming MEDIA_CLAMD_URL.
Result<ClamdAddress> parse_clamd_url(std::string_view url);

}  // namespace mediastore::detail
