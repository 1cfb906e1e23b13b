// A streaming multipart/form-data parser (RFC 7578 over RFC 2046) (internal).
//
// Bytes are fed in pieces of any size; part data is passed on as it is
// found, never accumulated (at most the boundary's length is held back
// between pieces), so a file part of any size costs constant memory. Header
// blocks and the number of parts are bounded.
//
// Thread-safety: one parser per request, used by one thread at a time.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "mediastore/status.hpp"

namespace mediastore::detail {

struct PartInfo {
  std::string name;           // Content-Disposition name=
  std::string filename;       // filename= (empty if none)
  bool has_filename = false;  // a filename parameter was present
  std::string content_type;   // Default: empty (text/plain by RFC 7578)
};

// Receives the parts in order: on_part, on_data* , on_part_end.
class MultipartSink {
 public:
  virtual ~MultipartSink() = default;
  virtual Status on_part(const PartInfo& part) = 0;
  virtual Status on_data(std::string_view data) = 0;
  virtual Status on_part_end() = 0;
};

struct MultipartLimits {
  std::size_t max_header_bytes = 8 * 1024;  // one part's header block
  std::size_t max_parts = 16;
};

// The boundary parameter of a multipart/form-data Content-Type (quoted or
// not, 1..70 characters); invalid_argument otherwise.
Result<std::string> multipart_boundary(std::string_view content_type);

class MultipartParser {
 public:
  MultipartParser(std::string boundary, MultipartLimits limits, MultipartSink& sink);
  // Parses more bytes. invalid_argument for malformed input (the message
  // names the fault), too_large for a limit, or the sink's error; once an
  // error is returned every later call returns it again.
  Status feed(std::string_view bytes);
  // The body ended: invalid_argument unless the closing boundary was seen.
  Status finish();

 private:
  enum class State { preamble, after_delimiter, headers, data, done };
  Status step();
  Status parse_headers(std::string_view block);

  std::string delimiter_;  // "\r\n--" + boundary
  MultipartLimits limits_;
  MultipartSink& sink_;
  State state_ = State::preamble;
  std::string buf_;  // unconsumed bytes
  std::size_t parts_ = 0;
  Status error_;
};

}  // namespace mediastore::detail
