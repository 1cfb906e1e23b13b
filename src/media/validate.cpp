// Validation policy: size, type by content, extension agreement, dangerous
// content (also hidden inside images), pixel limit from the header, a
// complete decode, and the metadata of what was accepted.
#include <algorithm>
#include <cctype>
#include <functional>

#include <fmt/format.h>

#include "core/crypto.hpp"
#include "media/decode.hpp"
#include "media/resize.hpp"
#include "media/sniff.hpp"
#include "media/thumbnails.hpp"
#include "media/video.hpp"
#include "mediastore/media.hpp"

namespace mediastore {
namespace {

using detail::Input;

constexpr std::size_t kSniffBytes = 4096;
constexpr std::size_t kChunk = 1 << 20;

struct Refusal {
  RefusalReason reason;
  std::string message;
};

std::string lower(std::string_view s) {
  std::string r(s);
  std::transform(r.begin(), r.end(), r.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return r;
}

// Types that a given extension may legitimately hold.
std::vector<MediaType> types_for_extension(const std::string& ext) {
  if (ext == "jpg" || ext == "jpeg" || ext == "jpe" || ext == "jfif" || ext == "jif") return {MediaType::jpeg};
  if (ext == "png") return {MediaType::png};
  if (ext == "gif") return {MediaType::gif};
  if (ext == "webp") return {MediaType::webp};
  if (ext == "bmp" || ext == "dib") return {MediaType::bmp};
  if (ext == "heic" || ext == "heif" || ext == "hif" || ext == "heics" || ext == "heifs")
    return {MediaType::heic, MediaType::heif};
  if (ext == "avif") return {MediaType::avif};
  if (ext == "mp4" || ext == "m4v" || ext == "mov" || ext == "qt" || ext == "3gp")
    return {MediaType::mp4, MediaType::quicktime};
  if (ext == "webm" || ext == "mkv") return {MediaType::webm, MediaType::matroska};
  return {};
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += (s.empty() ? "" : ", ") + x;
  return s;
}

std::string mb(std::uint64_t bytes) { return fmt::format("{:.1f} MB", static_cast<double>(bytes) / 1e6); }

Result<std::string> hash_input(const Input& in) {
  if (!in.is_file()) return detail::hex_lower(detail::sha256(in.memory()));
  detail::Hasher h;
  std::string buf(kChunk, '\0');
  std::uint64_t off = 0;
  while (off < in.size()) {
    std::size_t n = in.read_at(off, buf.data(), buf.size());
    if (n == 0) return Status::IoError("read failed on " + in.path());
    h.update(buf.data(), n);
    off += n;
  }
  return detail::hex_lower(h.finish());
}

RefusalReason reason_for_decode_error(ErrorCode c) {
  switch (c) {
    case ErrorCode::too_large: return RefusalReason::too_many_pixels;
    case ErrorCode::corrupt_media: return RefusalReason::corrupt;
    case ErrorCode::unsupported_media: return RefusalReason::unsupported_codec;
    default: return RefusalReason::unreadable;
  }
}

// What process_media asks of validate() besides the verdict: thumbnails of
// an accepted image, from the validation's own decode.
struct ThumbnailRequest {
  const std::vector<ThumbnailSpec>* specs = nullptr;
  const std::function<void()>* on_validated = nullptr;  // may be null or empty
  std::vector<Thumbnail>* out = nullptr;
};

Result<MediaInfo> validate(const Input& in, std::string_view filename, MediaKind kind, const ValidationPolicy& policy,
                           RefusalReason* reason_out, const ThumbnailRequest* thumbs = nullptr) {
  auto refuse = [&](RefusalReason r, std::string msg) -> Result<MediaInfo> {
    if (reason_out) *reason_out = r;
    return Status(refusal_reason_code(r), std::move(msg));
  };
  if (reason_out) *reason_out = RefusalReason::none;
  const std::string name = filename.empty() ? std::string("upload") : std::string(filename);

  if (in.size() == 0) return refuse(RefusalReason::empty, name + " is empty");
  if (in.size() > policy.max_upload_size)
    return refuse(RefusalReason::file_too_large,
                  fmt::format("{} is {}, over the {} upload limit", name, mb(in.size()), mb(policy.max_upload_size)));
  const std::string head = in.read_string(0, kSniffBytes);
  if (head.empty()) return refuse(RefusalReason::unreadable, "cannot read " + name);
  const MediaType type = sniff_media_type(head);
  if (media_type_is_dangerous(type))
    return refuse(RefusalReason::dangerous_content, fmt::format("{} is {}", name, detail::with_article(type)));
  if (type == MediaType::unknown)
    return refuse(RefusalReason::unknown_type, name + " is not a recognised image or video");

  const auto& allowed = kind == MediaKind::photo ? policy.photo_mime_types : policy.video_mime_types;
  const std::string mime = media_type_mime(type);
  if (std::find(allowed.begin(), allowed.end(), mime) == allowed.end())
    return refuse(RefusalReason::type_not_allowed,
                  fmt::format("{} is {} ({}), which is not accepted for {}s (accepted: {})", name,
                              detail::with_article(type), mime, media_kind_name(kind), join(allowed)));

  MediaInfo info;
  info.type = type;
  info.mime = mime;
  info.kind = kind;
  info.byte_size = in.size();
  info.filename = name;
  const std::size_t dot = name.find_last_of('.');
  const std::size_t slash = name.find_last_of("/\\");
  const bool has_ext = dot != std::string::npos && dot + 1 < name.size() && (slash == std::string::npos || dot > slash);
  const std::string ext = has_ext ? lower(std::string_view(name).substr(dot + 1)) : "";
  const std::string canonical =
      std::string(name.substr(0, has_ext ? dot : name.size())) + "." + media_type_extension(type);
  if (!has_ext) {
    info.relabelled = true;
    info.filename = canonical;
    info.note = fmt::format("{} has no extension; it is {}, stored as {}", name, detail::with_article(type), canonical);
  } else {
    auto fits = types_for_extension(ext);
    if (std::find(fits.begin(), fits.end(), type) == fits.end()) {
      if (fits.empty())  // not a media extension at all (.php, .html, .txt, ...)
        return refuse(
            RefusalReason::extension_mismatch,
            fmt::format("{}: the extension .{} does not fit its content ({})", name, ext, detail::with_article(type)));
      if (!policy.relabel_mismatched_extension)
        return refuse(RefusalReason::extension_mismatch, fmt::format("{} is {}", name, detail::with_article(type)));
      info.relabelled = true;
      info.filename = canonical;
      info.note = fmt::format("{} is {}; relabelled {}", name, detail::with_article(type), canonical);
    }
  }

  if (media_type_is_image(type)) {
    // Markup in the first bytes is what content sniffers act on.
    if (MediaType t = detail::find_active_markup(std::string_view(head).substr(0, 1024)); t != MediaType::unknown)
      return refuse(RefusalReason::dangerous_content,
                    fmt::format("{} hides {} inside {}", name, detail::with_article(t), detail::with_article(type)));
    detail::DecodedImage img;
    // One decode serves validation and thumbnails: strict when validating,
    // at the scale the thumbnails need when they are wanted (else the
    // cheapest complete decode), lenient for thumbnails alone.
    if (policy.decode_images || thumbs) {
      detail::DecodeOptions opt;
      opt.max_pixels = policy.max_pixels;
      opt.strict = policy.decode_images;
      opt.keep_pixels = thumbs != nullptr;
      if (thumbs) opt.min_size = detail::thumbnail_min_size(*thumbs->specs);
      auto decoded = detail::decode_image(type, in, opt);
      if (!decoded)
        return refuse(reason_for_decode_error(decoded.status().code()), name + ": " + decoded.status().message());
      img = std::move(*decoded);
    } else {
      auto size = detail::probe_image(type, in);
      if (!size) return refuse(reason_for_decode_error(size.status().code()), name + ": " + size.status().message());
      Status limit = detail::check_pixel_limit(size->first, size->second, policy.max_pixels);
      if (!limit.ok()) return refuse(RefusalReason::too_many_pixels, name + ": " + limit.message());
      img.full_width = size->first;
      img.full_height = size->second;
      if (type == MediaType::jpeg) img.exif = detail::parse_exif_tiff(detail::find_jpeg_exif(head));
    }
    MediaType hidden = detail::find_active_markup(img.metadata_text);
    if (hidden == MediaType::unknown && img.end_offset > 0 && img.end_offset < in.size())
      hidden = detail::scan_for_hidden_file(in, img.end_offset, in.size());
    if (hidden != MediaType::unknown)
      return refuse(
          RefusalReason::dangerous_content,
          fmt::format("{} hides {} inside {}", name, detail::with_article(hidden), detail::with_article(type)));
    info.width = img.full_width;
    info.height = img.full_height;
    info.orientation = img.apply_orientation ? img.exif.orientation : 1;
    const bool swap = info.orientation >= 5;
    info.display_width = swap ? info.height : info.width;
    info.display_height = swap ? info.width : info.height;
    info.capture_time = img.exif.datetime_original;
    info.has_gps = img.exif.has_gps;
    if (thumbs) {
      if (thumbs->on_validated && *thumbs->on_validated) (*thumbs->on_validated)();
      auto made = detail::thumbnails_from_image(img, *thumbs->specs, true);
      if (!made) return made.status().with_context(name);
      *thumbs->out = std::move(made->thumbnails);
      info.thumbhash = std::move(made->hashes.thumbhash);
      info.phash = std::move(made->hashes.phash);
    }
  }

  if (media_type_is_video(type)) {
    detail::VideoOptions opt = detail::VideoOptions::from_policy(policy);
    opt.decode_poster = policy.decode_images || thumbs;
    opt.keep_pixels = thumbs != nullptr;
    if (thumbs) opt.min_size = detail::thumbnail_min_size(*thumbs->specs);
    detail::ProbeOutcome probed = detail::probe_video(type, in, opt);
    if (!probed.ok) return refuse(probed.error.reason, name + ": " + probed.error.message);
    detail::ProbedVideo& v = probed.video;
    info.width = v.width;
    info.height = v.height;
    info.orientation = v.orientation;
    const bool swap = detail::orientation_swaps(info.orientation);
    info.display_width = swap ? info.height : info.width;
    info.display_height = swap ? info.width : info.height;
    info.capture_time = v.capture_time;
    info.has_gps = v.has_location;
    info.video = std::move(v.info);
    if (thumbs) {
      if (thumbs->on_validated && *thumbs->on_validated) (*thumbs->on_validated)();
      auto made = detail::thumbnails_from_image(v.poster, *thumbs->specs, true);
      if (!made) return made.status().with_context(name);
      *thumbs->out = std::move(made->thumbnails);
      info.thumbhash = std::move(made->hashes.thumbhash);
      info.phash = std::move(made->hashes.phash);
    }
  }

  auto digest = hash_input(in);
  if (!digest) return refuse(RefusalReason::unreadable, name + ": " + digest.status().message());
  info.sha256 = std::move(*digest);
  return info;
}

}  // namespace

ValidationPolicy::ValidationPolicy()
    : photo_mime_types{"image/jpeg", "image/png", "image/gif", "image/webp", "image/heic", "image/heif"},
      video_mime_types{"video/mp4", "video/quicktime", "video/webm", "video/x-matroska"} {}

ValidationPolicy ValidationPolicy::from_config(const Config& config) {
  ValidationPolicy p;
  p.max_upload_size = config.max_upload_size;
  p.max_video_duration_ms = config.max_video_duration * 1000;
  return p;
}

std::map<std::string, std::string> media_metadata(const MediaInfo& mi) {
  std::map<std::string, std::string> md;
  md["media_type"] = media_type_description(mi.type);
  md["mime"] = mi.mime;
  md["sha256"] = mi.sha256;
  md["width"] = std::to_string(mi.width);
  md["height"] = std::to_string(mi.height);
  md["display_width"] = std::to_string(mi.display_width);
  md["display_height"] = std::to_string(mi.display_height);
  md["orientation"] = std::to_string(mi.orientation);
  md["capture_time"] = mi.capture_time;
  md["has_gps"] = mi.has_gps ? "true" : "false";
  md["filename"] = mi.filename;
  if (!mi.note.empty()) md["note"] = mi.note;
  if (!mi.thumbhash.empty()) md["thumbhash"] = mi.thumbhash;
  if (!mi.phash.empty()) md["phash"] = mi.phash;
  if (media_type_is_video(mi.type)) {
    const VideoInfo& v = mi.video;
    md["container"] = v.container;
    md["video_codec"] = v.video_codec;
    md["codec_tag"] = v.codec_tag;
    md["video_profile"] = v.profile;
    md["pixel_format"] = v.pixel_format;
    md["bit_depth"] = std::to_string(v.bit_depth);
    if (!v.audio_codec.empty()) md["audio_codec"] = v.audio_codec;
    md["duration_ms"] = std::to_string(v.duration_ms);
    md["rotation"] = std::to_string(v.rotation);
    md["frame_rate"] = fmt::format("{:.3f}", v.frame_rate);
    md["bit_rate"] = std::to_string(v.bit_rate);
    md["hdr"] = v.hdr ? "true" : "false";
    md["color_transfer"] = v.color_transfer;
    md["color_primaries"] = v.color_primaries;
    md["moov_first"] = v.moov_first ? "true" : "false";
    md["has_location"] = mi.has_gps ? "true" : "false";
  }
  return md;
}

const char* refusal_reason_name(RefusalReason r) noexcept {
  switch (r) {
    case RefusalReason::none: return "none";
    case RefusalReason::empty: return "empty";
    case RefusalReason::file_too_large: return "file_too_large";
    case RefusalReason::too_many_pixels: return "too_many_pixels";
    case RefusalReason::unknown_type: return "unknown_type";
    case RefusalReason::dangerous_content: return "dangerous_content";
    case RefusalReason::type_not_allowed: return "type_not_allowed";
    case RefusalReason::extension_mismatch: return "extension_mismatch";
    case RefusalReason::corrupt: return "corrupt";
    case RefusalReason::unsupported_codec: return "unsupported_codec";
    case RefusalReason::unreadable: return "unreadable";
    case RefusalReason::malware: return "malware";
    case RefusalReason::unscanned: return "unscanned";
    case RefusalReason::too_long: return "too_long";
    case RefusalReason::no_video_stream: return "no_video_stream";
  }
  return "unknown";
}

ErrorCode refusal_reason_code(RefusalReason r) noexcept {
  switch (r) {
    case RefusalReason::none: return ErrorCode::ok;
    case RefusalReason::empty:
    case RefusalReason::extension_mismatch: return ErrorCode::invalid_argument;
    case RefusalReason::file_too_large:
    case RefusalReason::too_many_pixels:
    case RefusalReason::unscanned: return ErrorCode::too_large;
    case RefusalReason::too_long: return ErrorCode::too_large;
    case RefusalReason::unknown_type:
    case RefusalReason::dangerous_content:
    case RefusalReason::type_not_allowed:
    case RefusalReason::unsupported_codec:
    case RefusalReason::malware: return ErrorCode::unsupported_media;
    case RefusalReason::no_video_stream: return ErrorCode::unsupported_media;
    case RefusalReason::corrupt: return ErrorCode::corrupt_media;
    case RefusalReason::unreadable: return ErrorCode::io_error;
  }
  return ErrorCode::internal;
}

Result<MediaInfo> validate_media_file(const std::string& path, std::string_view filename, MediaKind kind,
                                      const ValidationPolicy& policy, RefusalReason* reason) {
  auto in = Input::open_file(path);
  if (!in) {
    if (reason) *reason = RefusalReason::unreadable;
    return in.status();
  }
  return validate(*in, filename.empty() ? std::string_view(path) : filename, kind, policy, reason);
}

Result<MediaInfo> validate_media(std::string_view bytes, std::string_view filename, MediaKind kind,
                                 const ValidationPolicy& policy, RefusalReason* reason) {
  return validate(Input::from_memory(bytes), filename, kind, policy, reason);
}

namespace {

Result<ProcessedMedia> process(const Input& in, std::string_view filename, MediaKind kind,
                               const std::vector<ThumbnailSpec>& specs, const ValidationPolicy& policy,
                               RefusalReason* reason, const std::function<void()>& on_validated) {
  if (reason) *reason = RefusalReason::none;
  if (!specs.empty()) MS_RETURN_IF_ERROR(detail::check_thumbnail_specs(specs));
  ProcessedMedia out;
  ThumbnailRequest request{&specs, &on_validated, &out.thumbnails};
  auto info = validate(in, filename, kind, policy, reason, specs.empty() ? nullptr : &request);
  if (!info) return info.status();
  out.info = std::move(*info);
  return out;
}

}  // namespace

Result<ProcessedMedia> process_media_file(const std::string& path, std::string_view filename, MediaKind kind,
                                          const std::vector<ThumbnailSpec>& specs, const ValidationPolicy& policy,
                                          RefusalReason* reason, const std::function<void()>& on_validated) {
  auto in = Input::open_file(path);
  if (!in) {
    if (reason) *reason = RefusalReason::unreadable;
    return in.status();
  }
  return process(*in, filename.empty() ? std::string_view(path) : filename, kind, specs, policy, reason, on_validated);
}

Result<ProcessedMedia> process_media(std::string_view bytes, std::string_view filename, MediaKind kind,
                                     const std::vector<ThumbnailSpec>& specs, const ValidationPolicy& policy,
                                     RefusalReason* reason, const std::function<void()>& on_validated) {
  return process(Input::from_memory(bytes), filename, kind, specs, policy, reason, on_validated);
}

}  // namespace mediastore
