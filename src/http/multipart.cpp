// Streaming multipart/form-data parser (see multipart.hpp).
#include "http/multipart.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <utility>
#include <vector>

namespace mediastore::detail {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Status bad(std::string_view why) { return Status::InvalidArgument(fmt::format("malformed multipart body: {}", why)); }

// Splits "form-data; name=\"a\"; filename=b" into the first token and
// (lower-case name, value) parameters; quoted values may hold ';' and
// backslash escapes. False on an unterminated quote.
bool split_params(std::string_view s, std::string& first, std::vector<std::pair<std::string, std::string>>& params) {
  std::size_t i = 0;
  auto next_token = [&](std::string_view stop) {
    std::size_t start = i;
    while (i < s.size() && stop.find(s[i]) == std::string_view::npos) ++i;
    return trim(s.substr(start, i - start));
  };
  first = lower(next_token(";"));
  while (i < s.size()) {
    ++i;  // ';'
    std::string name = lower(next_token("=;"));
    std::string value;
    if (i < s.size() && s[i] == '=') {
      ++i;
      while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
      if (i < s.size() && s[i] == '"') {
        ++i;
        bool closed = false;
        while (i < s.size()) {
          char c = s[i++];
          if (c == '\\' && i < s.size()) {
            value += s[i++];
          } else if (c == '"') {
            closed = true;
            break;
          } else {
            value += c;
          }
        }
        if (!closed) return false;
        next_token(";");  // anything after the closing quote up to ';' is ignored
      } else {
        value = std::string(next_token(";"));
      }
    }
    if (!name.empty()) params.emplace_back(std::move(name), std::move(value));
  }
  return true;
}

}  // namespace

Result<std::string> multipart_boundary(std::string_view content_type) {
  std::string type;
  std::vector<std::pair<std::string, std::string>> params;
  if (!split_params(content_type, type, params) || type != "multipart/form-data")
    return Status::InvalidArgument("Content-Type must be multipart/form-data with a boundary");
  for (auto& [name, value] : params) {
    if (name != "boundary") continue;
    if (value.empty() || value.size() > 70)
      return Status::InvalidArgument("the multipart boundary must be 1 to 70 characters");
    for (unsigned char c : value)
      if (c < 0x20 || c > 0x7e) return Status::InvalidArgument("the multipart boundary has a control character");
    return value;
  }
  return Status::InvalidArgument("Content-Type multipart/form-data has no boundary");
}

MultipartParser::MultipartParser(std::string boundary, MultipartLimits limits, MultipartSink& sink)
    : delimiter_("\r\n--" + boundary), limits_(limits), sink_(sink), buf_("\r\n") {}
// buf_ starts with CRLF so that a body opening with "--boundary" (no
// preamble) matches the delimiter like every later boundary.

Status MultipartParser::feed(std::string_view bytes) {
  if (!error_.ok()) return error_;
  if (state_ == State::done) return Status::Ok();  // the epilogue is ignored
  buf_.append(bytes);
  error_ = step();
  return error_;
}

Status MultipartParser::finish() {
  if (!error_.ok()) return error_;
  if (state_ != State::done) error_ = bad("the body ended before the closing boundary");
  return error_;
}

Status MultipartParser::step() {
  const std::size_t keep = delimiter_.size() - 1;  // a delimiter may straddle two pieces
  for (;;) {
    switch (state_) {
      case State::preamble: {
        const auto pos = buf_.find(delimiter_);
        if (pos == std::string::npos) {
          if (buf_.size() > keep) buf_.erase(0, buf_.size() - keep);
          return Status::Ok();
        }
        buf_.erase(0, pos + delimiter_.size());
        state_ = State::after_delimiter;
        break;
      }
      case State::after_delimiter: {
        std::size_t i = 0;
        while (i < buf_.size() && (buf_[i] == ' ' || buf_[i] == '\t')) ++i;
        if (i > 64) return bad("too much padding after a boundary");
        if (buf_.size() < i + 2) return Status::Ok();
        if (buf_.compare(i, 2, "--") == 0) {
          state_ = State::done;
          buf_.clear();
          return Status::Ok();
        }
        if (buf_.compare(i, 2, "\r\n") != 0) return bad("a boundary is followed by neither CRLF nor \"--\"");
        buf_.erase(0, i + 2);
        state_ = State::headers;
        break;
      }
      case State::headers: {
        std::size_t consumed = 0;
        std::string_view block;
        if (buf_.size() >= 2 && buf_.compare(0, 2, "\r\n") == 0) {
          consumed = 2;  // a part without headers
        } else {
          const auto pos = buf_.find("\r\n\r\n");
          const std::size_t len = pos == std::string::npos ? buf_.size() : pos;
          if (len > limits_.max_header_bytes)
            return Status::TooLarge(
                fmt::format("a multipart part's headers exceed {} bytes", limits_.max_header_bytes));
          if (pos == std::string::npos) return Status::Ok();
          block = std::string_view(buf_).substr(0, pos);
          consumed = pos + 4;
        }
        if (++parts_ > limits_.max_parts)
          return Status::TooLarge(fmt::format("the form has more than {} parts", limits_.max_parts));
        MS_RETURN_IF_ERROR(parse_headers(block));
        buf_.erase(0, consumed);
        state_ = State::data;
        break;
      }
      case State::data: {
        const auto pos = buf_.find(delimiter_);
        if (pos == std::string::npos) {
          if (buf_.size() > keep) {
            MS_RETURN_IF_ERROR(sink_.on_data(std::string_view(buf_).substr(0, buf_.size() - keep)));
            buf_.erase(0, buf_.size() - keep);
          }
          return Status::Ok();
        }
        if (pos > 0) MS_RETURN_IF_ERROR(sink_.on_data(std::string_view(buf_).substr(0, pos)));
        MS_RETURN_IF_ERROR(sink_.on_part_end());
        buf_.erase(0, pos + delimiter_.size());
        state_ = State::after_delimiter;
        break;
      }
      case State::done: buf_.clear(); return Status::Ok();
    }
  }
}

Status MultipartParser::parse_headers(std::string_view block) {
  PartInfo part;
  bool disposition = false;
  while (!block.empty()) {
    const auto eol = block.find("\r\n");
    std::string_view line = block.substr(0, eol);
    block = eol == std::string_view::npos ? std::string_view() : block.substr(eol + 2);
    if (line.empty()) return bad("an empty line inside a part's headers");
    if (line.front() == ' ' || line.front() == '\t') return bad("folded part header lines are not accepted");
    if (line.find('\0') != std::string_view::npos) return bad("a NUL byte in a part header");
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return bad("a part header line without a name");
    const std::string name = lower(trim(line.substr(0, colon)));
    const std::string_view value = trim(line.substr(colon + 1));
    if (name == "content-disposition") {
      if (disposition) return bad("two Content-Disposition headers in one part");
      disposition = true;
      std::string type;
      std::vector<std::pair<std::string, std::string>> params;
      if (!split_params(value, type, params)) return bad("an unterminated quote in Content-Disposition");
      if (type != "form-data") return bad("a part's Content-Disposition is not form-data");
      bool has_name = false;
      for (auto& [k, v] : params) {
        if (k == "name") {
          part.name = v;
          has_name = true;
        } else if (k == "filename") {
          part.filename = v;
          part.has_filename = true;
        }
      }
      if (!has_name) return bad("a part's Content-Disposition has no name");
    } else if (name == "content-type") {
      part.content_type = std::string(value);
    }
  }
  if (!disposition) return bad("a part without Content-Disposition");
  return sink_.on_part(part);
}

}  // namespace mediastore::detail
