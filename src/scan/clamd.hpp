// clamd's INSTREAM protocol pieces (internal; the client is ClamdScanner in
// include/mediastore/scan.hpp). clamd(8): "zINSTREAM\0", then chunks of a
// 4-byte big-endian length and that many bytes, a zero-length chunk last;
// the answer is one NUL-terminated line.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "mediastore/scan.hpp"
#include "mediastore/status.hpp"

namespace mediastore::detail {

inline constexpr std::string_view kClamdInstream{"zINSTREAM\0", 10};
inline constexpr std::string_view kClamdPing{"zPING\0", 6};
// Longest answer accepted; clamd's are one short line.
inline constexpr std::size_t kClamdMaxReply = 4096;

// Writes n as 4 big-endian bytes.
void put_be32(unsigned char* out, std::uint32_t n);

// The verdict in clamd's answer to INSTREAM (`reply` without its NUL):
//   "stream: OK"                            -> clean
//   "stream: Heuristics.Limits.Exceeded.* FOUND" -> unscanned (AlertExceedsMax)
//   "stream: <signature> FOUND"             -> infected
//   "INSTREAM size limit exceeded. ERROR"   -> unscanned
//   other "... ERROR"                       -> unavailable
//   anything else                           -> network_error
// `who` ("clamd at tcp://...") starts error messages.
Result<ScanResult> parse_instream_reply(std::string_view reply, std::string_view who);

// `text` cut to 200 bytes with bytes outside printable ASCII as \xNN, for
// quoting a peer's answer in a message.
std::string printable(std::string_view text);

}  // namespace mediastore::detail
