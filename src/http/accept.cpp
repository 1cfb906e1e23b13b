#include "http/accept.hpp"

#include <cctype>
#include <string>

namespace mediastore::detail {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Whether a q value ("0", "0.000", "1", "0.5") is 0. Anything else,
// malformed included, is not.
bool is_zero_q(std::string_view q) {
  q = trim(q);
  if (q.empty() || q.front() != '0') return false;
  q.remove_prefix(1);
  if (q.empty()) return true;
  if (q.front() != '.') return false;
  q.remove_prefix(1);
  for (char c : q)
    if (c != '0') return false;
  return true;
}

// Whether the header lists `type` (lower case) with a q above 0.
bool takes(std::string_view accept, std::string_view type) {
  while (!accept.empty()) {
    const auto comma = accept.find(',');
    std::string_view range = accept.substr(0, comma);
    accept = comma == std::string_view::npos ? std::string_view() : accept.substr(comma + 1);
    const auto semi = range.find(';');
    if (lower(trim(range.substr(0, semi))) != type) continue;
    bool zero = false;
    for (std::string_view params = semi == std::string_view::npos ? std::string_view() : range.substr(semi + 1);
         !params.empty();) {
      const auto next = params.find(';');
      const std::string_view p = trim(params.substr(0, next));
      params = next == std::string_view::npos ? std::string_view() : params.substr(next + 1);
      if (p.size() >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') zero = is_zero_q(p.substr(2));
    }
    if (!zero) return true;
  }
  return false;
}

}  // namespace

std::vector<ThumbnailFormat> accepted_thumbnail_formats(const std::string* accept) {
  std::vector<ThumbnailFormat> out;
  if (accept != nullptr) {
    if (takes(*accept, "image/avif")) out.push_back(ThumbnailFormat::avif);
    if (takes(*accept, "image/webp")) out.push_back(ThumbnailFormat::webp);
  }
  out.push_back(ThumbnailFormat::jpeg);
  return out;
}

}  // namespace mediastore::detail
