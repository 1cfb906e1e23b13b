// Container structure checks done before and after FFmpeg opens a video:
// top-level ISO-BMFF boxes or the EBML Segment must fit in the file, the
// MP4 index must exist, nothing but zero padding may follow the last box,
// and every sample must lie in the media data.
extern "C" {
#include <libavformat/avformat.h>
}

#include <fmt/format.h>

#include "media/sniff.hpp"
#include "media/video.hpp"

namespace mediastore::detail {
namespace {

std::uint64_t be(const unsigned char* p, int n) {
  std::uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 8) | p[i];
  return v;
}

// Box types are four letters, digits, spaces or '©' (0xA9, QuickTime's user data).
bool box_type_ok(const unsigned char* t) {
  for (int i = 0; i < 4; ++i) {
    unsigned char c = t[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' ' || c == 0xA9;
    if (!ok) return false;
  }
  return true;
}

// What follows the last structure: zero padding is tolerated, another file
// type is dangerous, anything else corrupt.
bool check_tail(const Input& in, std::uint64_t from, MediaType type, VideoError* error) {
  if (from >= in.size()) return true;
  const MediaType hidden = scan_for_hidden_file(in, from, in.size());
  if (hidden != MediaType::unknown) {
    *error = {RefusalReason::dangerous_content, fmt::format("{} follows {} at offset {} (a polyglot file)",
                                                            with_article(hidden), with_article(type), from)};
    return false;
  }
  std::string chunk;
  for (std::uint64_t off = from; off < in.size(); off += chunk.size()) {
    chunk = in.read_string(off, 1 << 20);
    if (chunk.empty()) break;
    if (chunk.find_first_not_of('\0') != std::string::npos) {
      *error = {RefusalReason::corrupt,
                fmt::format("{} bytes of unrecognised data follow the end of the {} at offset {}", in.size() - from,
                            media_type_description(type), from)};
      return false;
    }
  }
  return true;
}

Result<ContainerLayout> check_bmff(MediaType type, const Input& in, VideoError* error) {
  ContainerLayout layout;
  const std::uint64_t size = in.size();
  std::uint64_t off = 0;
  bool moov = false, moof = false, mdat_seen = false;
  while (off + 8 <= size) {
    unsigned char h[16];
    const std::size_t got = in.read_at(off, h, sizeof h);
    if (got < 8) break;
    if (!box_type_ok(h + 4)) break;
    std::uint64_t box = be(h, 4), header = 8;
    if (box == 1) {
      if (got < 16) break;
      box = be(h + 8, 8);
      header = 16;
    } else if (box == 0) {
      box = size - off;  // runs to the end of the file
    }
    if (box < header) break;
    const std::string name(reinterpret_cast<const char*>(h + 4), 4);
    if (box > size - off) {
      // Another file appended can look like a box that runs past the end.
      if (!check_tail(in, off, type, error) && error->reason == RefusalReason::dangerous_content)
        return Status::UnsupportedMedia(error->message);
      *error = {RefusalReason::corrupt,
                fmt::format("truncated: the '{}' box at offset {} declares {} bytes, the file ends {} bytes after it",
                            name, off, box, size - off)};
      return Status::CorruptMedia(error->message);
    }
    if (name == "mdat") {
      layout.media_ranges.emplace_back(off + header, off + box);
      mdat_seen = true;
    } else {
      if (name == "moov") {
        moov = true;
        layout.moov_first = !mdat_seen;
      }
      if (name == "moof") moof = true;
      // Metadata boxes are what a content sniffer could read as text.
      const MediaType hidden = scan_for_hidden_file(in, off, off + box, /*markup_only=*/true);
      if (hidden != MediaType::unknown) {
        *error = {RefusalReason::dangerous_content,
                  fmt::format("{} hides inside the '{}' box of {}", with_article(hidden), name, with_article(type))};
        return Status::UnsupportedMedia(error->message);
      }
    }
    off += box;
  }
  if (!moov) {
    *error = {RefusalReason::corrupt, fmt::format("no 'moov' box: the index of the {} is missing (truncated or "
                                                  "never finished recording)",
                                                  media_type_description(type))};
    return Status::CorruptMedia(error->message);
  }
  // No 'mdat' at all: no sample can be inside the media data.
  if (layout.media_ranges.empty()) layout.media_ranges.emplace_back(0, 0);
  (void)moof;  // fragmented files have their sample tables in 'moof' boxes; FFmpeg indexes them
  if (!check_tail(in, off, type, error)) return Status(refusal_reason_code(error->reason), error->message);
  return layout;
}

// EBML variable-length integer at p (at most 8 bytes available in n):
// value, length; length 0 when invalid. `unknown` set for an all-ones size.
std::pair<std::uint64_t, int> vint(const unsigned char* p, std::size_t n, bool keep_marker, bool* unknown) {
  if (n == 0 || p[0] == 0) return {0, 0};
  int len = 1;
  while (!(p[0] & (0x80 >> (len - 1)))) ++len;
  if (static_cast<std::size_t>(len) > n) return {0, 0};
  std::uint64_t v = keep_marker ? p[0] : (p[0] & (0xFF >> len));
  bool ones = (p[0] & (0xFF >> len)) == (0xFF >> len);
  for (int i = 1; i < len; ++i) {
    v = (v << 8) | p[i];
    ones = ones && p[i] == 0xFF;
  }
  if (unknown) *unknown = ones;
  return {v, len};
}

Result<ContainerLayout> check_ebml(MediaType type, const Input& in, VideoError* error) {
  const std::uint64_t size = in.size();
  std::uint64_t off = 0;
  // Top level: the EBML header, then one Segment (possibly more, concatenated).
  int segments = 0;
  while (off < size) {
    unsigned char h[16];
    const std::size_t got = in.read_at(off, h, sizeof h);
    bool unknown = false;
    auto [id, id_len] = vint(h, got, true, nullptr);
    if (id_len == 0 || (id != 0x1A45DFA3 && id != 0x18538067 && id != 0xEC)) break;  // EBML, Segment, Void
    auto [len, len_len] = vint(h + id_len, got - static_cast<std::size_t>(id_len), false, &unknown);
    if (len_len == 0) break;
    const std::uint64_t header = static_cast<std::uint64_t>(id_len + len_len);
    if (id == 0x18538067) ++segments;
    if (unknown) {
      if (id != 0x18538067) break;
      return ContainerLayout{};  // a live-written segment runs to the end of the file
    }
    if (header > size - off || len > size - off - header) {
      *error = {RefusalReason::corrupt,
                fmt::format("truncated: the Matroska {} element at offset {} declares {} bytes, {} remain",
                            id == 0x18538067 ? "Segment" : "header", off, len,
                            header > size - off ? 0 : size - off - header)};
      return Status::CorruptMedia(error->message);
    }
    off += header + len;
  }
  if (segments == 0) {
    *error = {RefusalReason::corrupt, "no Matroska Segment"};
    return Status::CorruptMedia(error->message);
  }
  if (!check_tail(in, off, type, error)) return Status(refusal_reason_code(error->reason), error->message);
  return ContainerLayout{};
}

}  // namespace

Result<ContainerLayout> check_container(MediaType type, const Input& in, VideoError* error) {
  if (type == MediaType::mp4 || type == MediaType::quicktime) return check_bmff(type, in, error);
  return check_ebml(type, in, error);
}

bool check_sample_ranges(AVFormatContext* fmt, const Input& in, const ContainerLayout& layout, VideoError* error) {
  const auto size = static_cast<std::int64_t>(in.size());
  for (unsigned s = 0; s < fmt->nb_streams; ++s) {
    AVStream* st = fmt->streams[s];
    const int n = avformat_index_get_entries_count(st);
    std::size_t range = 0;  // samples mostly ascend: start from the last range that fitted
    for (int i = 0; i < n; ++i) {
      const AVIndexEntry* e = avformat_index_get_entry(st, i);
      if (!e) continue;
      const std::int64_t end = e->pos + e->size;
      if (e->pos < 0 || e->size < 0 || end > size) {
        *error = {
            RefusalReason::corrupt,
            fmt::format("truncated: sample {} of track {} lies at bytes {}..{}, past the end of the file ({} bytes)", i,
                        s + 1, e->pos, end, size)};
        return false;
      }
      if (layout.media_ranges.empty()) continue;
      auto inside = [&](std::size_t r) {
        return static_cast<std::uint64_t>(e->pos) >= layout.media_ranges[r].first &&
               static_cast<std::uint64_t>(end) <= layout.media_ranges[r].second;
      };
      if (!inside(range)) {
        bool found = false;
        for (std::size_t r = 0; r < layout.media_ranges.size() && !found; ++r)
          if (inside(r)) {
            range = r;
            found = true;
          }
        if (!found) {
          *error = {RefusalReason::corrupt,
                    fmt::format("sample {} of track {} (bytes {}..{}) lies outside the media data ('mdat')", i, s + 1,
                                e->pos, end)};
          return false;
        }
      }
    }
  }
  return true;
}

}  // namespace mediastore::detail
