#include "mediastore/config.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include "core/clamd_url.hpp"
#include "core/codecs.hpp"
#include "core/config_internal.hpp"

namespace mediastore {

const char* backend_kind_name(BackendKind kind) noexcept {
  switch (kind) {
    case BackendKind::local: return "local";
    case BackendKind::minio: return "minio";
    case BackendKind::s3: return "s3";
  }
  return "unknown";
}

const char* queue_kind_name(QueueKind kind) noexcept {
  switch (kind) {
    case QueueKind::memory: return "memory";
    case QueueKind::sqlite: return "sqlite";
    case QueueKind::redis: return "redis";
  }
  return "unknown";
}

const char* staging_kind_name(StagingKind kind) noexcept {
  switch (kind) {
    case StagingKind::local: return "local";
    case StagingKind::storage: return "storage";
  }
  return "unknown";
}

const char* thumbnail_format_name(ThumbnailFormat format) noexcept {
  switch (format) {
    case ThumbnailFormat::jpeg: return "jpeg";
    case ThumbnailFormat::webp: return "webp";
    case ThumbnailFormat::avif: return "avif";
  }
  return "unknown";
}

const char* thumbnail_format_extension(ThumbnailFormat format) noexcept {
  return format == ThumbnailFormat::jpeg ? "jpg" : thumbnail_format_name(format);
}

const char* thumbnail_format_content_type(ThumbnailFormat format) noexcept {
  switch (format) {
    case ThumbnailFormat::jpeg: return "image/jpeg";
    case ThumbnailFormat::webp: return "image/webp";
    case ThumbnailFormat::avif: return "image/avif";
  }
  return "application/octet-stream";
}

bool thumbnail_format_available(ThumbnailFormat format) noexcept {
  return format != ThumbnailFormat::avif || detail::avif_encoder_available();
}

const char* scan_mode_name(ScanMode mode) noexcept {
  switch (mode) {
    case ScanMode::off: return "off";
    case ScanMode::required: return "required";
  }
  return "unknown";
}

const char* unscanned_policy_name(UnscannedPolicy policy) noexcept {
  switch (policy) {
    case UnscannedPolicy::refuse: return "refuse";
    case UnscannedPolicy::accept: return "accept";
  }
  return "unknown";
}

std::string mask_secret(std::string_view value, std::size_t keep_prefix) {
  if (value.empty()) return "";
  if (keep_prefix == 0 || value.size() <= keep_prefix * 2) return "****";
  return std::string(value.substr(0, keep_prefix)) + "****";
}

namespace {

// Reads one variable; empty values count as unset.
std::optional<std::string> get(const Config::Lookup& lookup, std::string_view name) {
  auto v = lookup(name);
  if (v && v->empty()) return std::nullopt;
  return v;
}

Status parse_u64(std::string_view name, const std::string& text, std::uint64_t& out) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos || text.size() > 19)
    return Status::InvalidArgument(fmt::format("{} must be a non-negative integer, got '{}'", name, text));
  out = std::strtoull(text.c_str(), nullptr, 10);
  return Status::Ok();
}

// An integer in lo..hi, with a message naming the variable otherwise.
Status parse_int_in(std::string_view name, const std::string& text, int lo, int hi, int& out) {
  std::uint64_t n = 0;
  MS_RETURN_IF_ERROR(parse_u64(name, text, n));
  if (n < static_cast<std::uint64_t>(lo) || n > static_cast<std::uint64_t>(hi))
    return Status::InvalidArgument(fmt::format("{} must be {}..{}, got '{}'", name, lo, hi, text));
  out = static_cast<int>(n);
  return Status::Ok();
}

// "jpeg,webp": each name once, no empty items, no spaces.
Status parse_thumbnail_formats(std::string_view name, const std::string& text, std::vector<ThumbnailFormat>& out) {
  out.clear();
  std::size_t start = 0;
  while (start <= text.size()) {
    const std::size_t comma = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, comma - start);
    ThumbnailFormat f;
    if (item == "jpeg")
      f = ThumbnailFormat::jpeg;
    else if (item == "webp")
      f = ThumbnailFormat::webp;
    else if (item == "avif")
      f = ThumbnailFormat::avif;
    else
      return Status::InvalidArgument(fmt::format(
          "{} must be a comma-separated list of jpeg, webp and avif, got '{}' (bad item '{}')", name, text, item));
    out.push_back(f);
    start = comma + 1;
  }
  return Status::Ok();
}

Status parse_bool(std::string_view name, const std::string& text, bool& out) {
  std::string t;
  for (char c : text) t += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (t == "1" || t == "true" || t == "yes" || t == "on") {
    out = true;
  } else if (t == "0" || t == "false" || t == "no" || t == "off") {
    out = false;
  } else {
    return Status::InvalidArgument(fmt::format("{} must be true or false, got '{}'", name, text));
  }
  return Status::Ok();
}

// "30" (seconds), "30s" or "500ms"; 1 ms .. 1 hour.
Status parse_duration(std::string_view name, const std::string& text, std::chrono::milliseconds& out) {
  std::string digits = text;
  std::uint64_t scale = 1000;
  if (text.size() > 2 && text.compare(text.size() - 2, 2, "ms") == 0) {
    digits = text.substr(0, text.size() - 2);
    scale = 1;
  } else if (text.size() > 1 && text.back() == 's') {
    digits = text.substr(0, text.size() - 1);
  }
  std::uint64_t n = 0;
  if (!parse_u64(name, digits, n).ok() || n == 0 || n * scale > 3600000)
    return Status::InvalidArgument(fmt::format(
        "{} must be a duration of 1 ms .. 1 hour (\"30\" seconds, \"30s\", \"500ms\"), got '{}'", name, text));
  out = std::chrono::milliseconds(n * scale);
  return Status::Ok();
}

Status read_scan_settings(const Config::Lookup& lookup, ScanSettings& s) {
  if (auto v = get(lookup, "MEDIA_CLAMD_URL")) s.clamd_url = *v;
  s.mode = s.clamd_url.empty() ? ScanMode::off : ScanMode::required;
  if (auto v = get(lookup, "MEDIA_SCAN")) {
    if (*v == "off")
      s.mode = ScanMode::off;
    else if (*v == "required")
      s.mode = ScanMode::required;
    else
      return Status::InvalidArgument(fmt::format("MEDIA_SCAN must be off or required, got '{}'", *v));
  }
  if (auto v = get(lookup, "MEDIA_SCAN_UNSCANNED")) {
    if (*v == "refuse")
      s.unscanned = UnscannedPolicy::refuse;
    else if (*v == "accept")
      s.unscanned = UnscannedPolicy::accept;
    else
      return Status::InvalidArgument(fmt::format("MEDIA_SCAN_UNSCANNED must be refuse or accept, got '{}'", *v));
  }
  if (auto v = get(lookup, "MEDIA_CLAMD_STREAM_MAX_BYTES"))
    MS_RETURN_IF_ERROR(parse_u64("MEDIA_CLAMD_STREAM_MAX_BYTES", *v, s.stream_max_bytes));
  if (auto v = get(lookup, "MEDIA_CLAMD_TIMEOUT"))
    MS_RETURN_IF_ERROR(parse_duration("MEDIA_CLAMD_TIMEOUT", *v, s.timeout));
  return Status::Ok();
}

// `path` absolute and lexically normal, without a trailing '/'. Resolved
// against the current working folder; "" stays "".
std::string absolute_path(const std::string& path) {
  if (path.empty()) return path;
  std::error_code ec;
  std::filesystem::path p = std::filesystem::absolute(path, ec);
  if (ec) p = path;  // only when the working folder is gone: keep the setting as given
  std::string out = p.lexically_normal().string();
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

// A SQLite MEDIA_QUEUE_URL ("path", "sqlite://path", either with "?options")
// with its path made absolute.
std::string absolute_sqlite_url(const std::string& url) {
  const std::string scheme = url.rfind("sqlite://", 0) == 0 ? "sqlite://" : "";
  std::string rest = url.substr(scheme.size());
  std::string query;
  if (auto q = rest.find('?'); q != std::string::npos) {
    query = rest.substr(q);
    rest.resize(q);
  }
  if (rest.empty()) return url;  // make_sqlite_queue names the problem
  return scheme + absolute_path(rest) + query;
}

// "a/b/": what storage keys (validate_key in src/storage/key.cpp) accept
// before their last segment, checked here without the storage part.
bool is_key_prefix(const std::string& prefix) {
  if (prefix.size() > 512) return false;
  std::size_t start = 0;
  while (start < prefix.size()) {
    const std::size_t slash = prefix.find('/', start);
    if (slash == std::string::npos) return false;
    const std::string seg = prefix.substr(start, slash - start);
    if (seg.empty() || seg == "." || seg == "..") return false;
    for (char ch : seg) {
      const auto u = static_cast<unsigned char>(ch);
      if (u < 0x20 || u == 0x7f || ch == '\\') return false;
    }
    start = slash + 1;
  }
  return true;
}

bool is_inside(const std::string& path, const std::string& folder) {
  return path == folder || path.rfind(folder == "/" ? folder : folder + "/", 0) == 0;
}

}  // namespace

bool Config::is_variable(std::string_view name) noexcept {
  // Every name from_lookup reads; tests/unit/core/config_test.cpp checks the
  // two agree.
  static constexpr std::string_view kNames[] = {
      "MEDIA_STORAGE_BACKEND",
      "MEDIA_ROOT",
      "MEDIA_URL",
      "MEDIA_URL_SIGNING_KEY",
      "MAX_UPLOAD_SIZE",
      "MEDIA_SPOOL_DIR",
      "MEDIA_STATE_DIR",
      "MEDIA_QUEUE_BACKEND",
      "MEDIA_QUEUE_URL",
      "MEDIA_THUMBNAIL_FORMATS",
      "AWS_PROFILE",
      "AWS_SHARED_CREDENTIALS_FILE",
      "AWS_CA_BUNDLE",
      "AWS_MAX_ATTEMPTS",
      "MEDIA_AUTO_CREATE_BUCKET",
      "MEDIA_S3_CONNECT_TIMEOUT_MS",
      "MEDIA_S3_MULTIPART_THRESHOLD",
      "MEDIA_S3_PART_SIZE",
      "MEDIA_S3_PARTS_IN_FLIGHT",
      "MEDIA_S3_PAYLOAD_SIGNING",
      "MINIO_USE_SSL",
      "MINIO_ENDPOINT",
      "MINIO_ACCESS_KEY",
      "MINIO_SECRET_KEY",
      "MINIO_BUCKET_NAME",
      "MINIO_REGION",
      "AWS_STORAGE_BUCKET_NAME",
      "AWS_DEFAULT_REGION",
      "AWS_ACCESS_KEY_ID",
      "AWS_SECRET_ACCESS_KEY",
      "AWS_SESSION_TOKEN",
      "AWS_S3_ENDPOINT_URL",
      "AWS_S3_ADDRESSING_STYLE",
      "AWS_QUERYSTRING_AUTH",
      "AWS_QUERYSTRING_EXPIRE",
      "AWS_S3_CUSTOM_DOMAIN",
      "AWS_S3_URL_PROTOCOL",
      "MAX_VIDEO_DURATION",
      "MEDIA_METADATA_CONTEXT_KEYS",
      "MEDIA_S3_CONDITIONAL_MULTIPART",
      "MEDIA_S3_PUBLIC_ENDPOINT",
      "MEDIA_UPLOAD_GRANT_SECRET",
      "MEDIA_CLAMD_URL",
      "MEDIA_CLAMD_STREAM_MAX_BYTES",
      "MEDIA_CLAMD_TIMEOUT",
      "MEDIA_SCAN",
      "MEDIA_SCAN_UNSCANNED",
      "MEDIA_DEDUP_SCOPE_KEY",
      "MEDIA_STAGING",
      "MEDIA_STAGING_PREFIX",
  };
  for (std::string_view n : kNames)
    if (n == name) return true;
  return false;
}

Result<Config> Config::from_environment() {
  return from_lookup([](std::string_view name) -> std::optional<std::string> {
    const char* v = std::getenv(std::string(name).c_str());
    if (!v) return std::nullopt;
    return std::string(v);
  });
}

Result<Config> Config::from_lookup(const Lookup& lookup) {
  Config c;
  if (auto v = get(lookup, "MEDIA_STORAGE_BACKEND")) {
    if (*v == "local")
      c.backend = BackendKind::local;
    else if (*v == "minio")
      c.backend = BackendKind::minio;
    else if (*v == "s3")
      c.backend = BackendKind::s3;
    else
      return Status::InvalidArgument(fmt::format("MEDIA_STORAGE_BACKEND must be local, minio or s3, got '{}'", *v));
  }
  if (auto v = get(lookup, "MEDIA_ROOT")) c.media_root = *v;
  if (auto v = get(lookup, "MEDIA_URL")) c.media_url = *v;
  if (auto v = get(lookup, "MEDIA_URL_SIGNING_KEY")) c.url_signing_key = *v;
  if (auto v = get(lookup, "MEDIA_UPLOAD_GRANT_SECRET")) c.upload_grant_secret = *v;
  if (auto v = get(lookup, "MAX_UPLOAD_SIZE")) MS_RETURN_IF_ERROR(parse_u64("MAX_UPLOAD_SIZE", *v, c.max_upload_size));
  if (auto v = get(lookup, "MAX_VIDEO_DURATION"))
    MS_RETURN_IF_ERROR(parse_u64("MAX_VIDEO_DURATION", *v, c.max_video_duration));
  if (auto v = get(lookup, "MEDIA_SPOOL_DIR")) c.spool_dir = *v;
  if (auto v = get(lookup, "MEDIA_STATE_DIR")) c.state_dir = *v;
  if (auto v = get(lookup, "MEDIA_METADATA_CONTEXT_KEYS")) {
    std::string_view rest = *v;
    while (!rest.empty()) {
      const auto comma = rest.find(',');
      std::string_view item = rest.substr(0, comma);
      rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
      while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
      while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
      if (item.empty()) continue;
      if (item.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") !=
          std::string_view::npos)
        return Status::InvalidArgument(
            fmt::format("MEDIA_METADATA_CONTEXT_KEYS: '{}' is not a key name (letters, digits, '-', '_', '.')", item));
      c.metadata_context_keys.emplace_back(item);
    }
  }
  // Set but empty means "no duplicate detection", unlike most variables.
  if (auto v = lookup("MEDIA_DEDUP_SCOPE_KEY")) {
    if (v->find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != std::string::npos)
      return Status::InvalidArgument(
          fmt::format("MEDIA_DEDUP_SCOPE_KEY: '{}' is not a key name (letters, digits, '-', '_', '.')", *v));
    c.dedup_scope_key = *v;
  }
  if (auto v = get(lookup, "MEDIA_QUEUE_BACKEND")) {
    if (*v == "memory")
      c.queue = QueueKind::memory;
    else if (*v == "sqlite")
      c.queue = QueueKind::sqlite;
    else if (*v == "redis")
      c.queue = QueueKind::redis;
    else
      return Status::InvalidArgument(fmt::format("MEDIA_QUEUE_BACKEND must be memory, sqlite or redis, got '{}'", *v));
  }
  if (auto v = get(lookup, "MEDIA_QUEUE_URL")) c.queue_url = *v;
  if (auto v = get(lookup, "MEDIA_STAGING")) {
    if (*v == "local")
      c.staging = StagingKind::local;
    else if (*v == "storage")
      c.staging = StagingKind::storage;
    else
      return Status::InvalidArgument(fmt::format("MEDIA_STAGING must be local or storage, got '{}'", *v));
  }
  if (auto v = get(lookup, "MEDIA_STAGING_PREFIX")) c.staging_prefix = *v;
  if (auto v = get(lookup, "MEDIA_THUMBNAIL_FORMATS"))
    MS_RETURN_IF_ERROR(parse_thumbnail_formats("MEDIA_THUMBNAIL_FORMATS", *v, c.thumbnail_formats));
  MS_RETURN_IF_ERROR(read_scan_settings(lookup, c.scan));

  S3Settings& s = c.s3;
  // Settings common to both S3 flavours.
  if (auto v = get(lookup, "AWS_PROFILE")) s.profile = *v;
  if (auto v = get(lookup, "AWS_SHARED_CREDENTIALS_FILE")) s.credentials_file = *v;
  if (auto v = get(lookup, "AWS_CA_BUNDLE")) s.ca_file = *v;
  if (auto v = get(lookup, "AWS_MAX_ATTEMPTS"))
    MS_RETURN_IF_ERROR(parse_int_in("AWS_MAX_ATTEMPTS", *v, 1, 20, s.max_attempts));
  if (auto v = get(lookup, "MEDIA_AUTO_CREATE_BUCKET"))
    MS_RETURN_IF_ERROR(parse_bool("MEDIA_AUTO_CREATE_BUCKET", *v, s.auto_create_bucket));
  if (auto v = get(lookup, "MEDIA_S3_CONNECT_TIMEOUT_MS")) {
    std::uint64_t n = 0;
    MS_RETURN_IF_ERROR(parse_u64("MEDIA_S3_CONNECT_TIMEOUT_MS", *v, n));
    s.connect_timeout = std::chrono::milliseconds(n);
  }
  if (auto v = get(lookup, "MEDIA_S3_MULTIPART_THRESHOLD"))
    MS_RETURN_IF_ERROR(parse_u64("MEDIA_S3_MULTIPART_THRESHOLD", *v, s.multipart_threshold));
  if (auto v = get(lookup, "MEDIA_S3_PART_SIZE")) MS_RETURN_IF_ERROR(parse_u64("MEDIA_S3_PART_SIZE", *v, s.part_size));
  if (auto v = get(lookup, "MEDIA_S3_PARTS_IN_FLIGHT"))
    MS_RETURN_IF_ERROR(parse_int_in("MEDIA_S3_PARTS_IN_FLIGHT", *v, 1, 64, s.parts_in_flight));
  if (auto v = get(lookup, "AWS_QUERYSTRING_AUTH"))
    MS_RETURN_IF_ERROR(parse_bool("AWS_QUERYSTRING_AUTH", *v, s.querystring_auth));
  if (auto v = get(lookup, "AWS_QUERYSTRING_EXPIRE")) {
    int n = 0;
    MS_RETURN_IF_ERROR(parse_int_in("AWS_QUERYSTRING_EXPIRE", *v, 1, 604800, n));
    s.querystring_expire = n;
  }
  if (auto v = get(lookup, "AWS_S3_CUSTOM_DOMAIN")) s.custom_domain = *v;
  if (auto v = get(lookup, "AWS_S3_URL_PROTOCOL")) {
    if (*v != "https:" && *v != "http:")
      return Status::InvalidArgument(fmt::format("AWS_S3_URL_PROTOCOL must be https: or http:, got '{}'", *v));
    s.url_protocol = *v;
  }
  if (auto v = get(lookup, "MEDIA_S3_PUBLIC_ENDPOINT")) s.public_endpoint = *v;
  if (auto v = get(lookup, "MEDIA_S3_CONDITIONAL_MULTIPART"))
    MS_RETURN_IF_ERROR(parse_bool("MEDIA_S3_CONDITIONAL_MULTIPART", *v, s.conditional_multipart));
  if (auto v = get(lookup, "MEDIA_S3_PAYLOAD_SIGNING")) {
    if (*v != "auto" && *v != "whole" && *v != "streaming")
      return Status::InvalidArgument(
          fmt::format("MEDIA_S3_PAYLOAD_SIGNING must be auto, whole or streaming, got '{}'", *v));
    s.payload_signing = *v;
  }

  if (c.backend == BackendKind::minio) {
    s.path_style = true;
    bool use_ssl = false;
    if (auto v = get(lookup, "MINIO_USE_SSL")) MS_RETURN_IF_ERROR(parse_bool("MINIO_USE_SSL", *v, use_ssl));
    auto ep = get(lookup, "MINIO_ENDPOINT");
    if (!ep) return Status::InvalidArgument("MINIO_ENDPOINT is required when MEDIA_STORAGE_BACKEND=minio");
    s.endpoint = ep->find("://") == std::string::npos ? (use_ssl ? "https://" : "http://") + *ep : *ep;
    if (auto v = get(lookup, "MINIO_ACCESS_KEY")) s.access_key = *v;
    if (auto v = get(lookup, "MINIO_SECRET_KEY")) s.secret_key = *v;
    if (auto v = get(lookup, "MINIO_BUCKET_NAME")) s.bucket = *v;
    if (auto v = get(lookup, "MINIO_REGION")) s.region = *v;
    if (s.bucket.empty())
      return Status::InvalidArgument("MINIO_BUCKET_NAME is required when MEDIA_STORAGE_BACKEND=minio");
  } else if (c.backend == BackendKind::s3) {
    if (auto v = get(lookup, "AWS_STORAGE_BUCKET_NAME")) s.bucket = *v;
    if (s.bucket.empty())
      return Status::InvalidArgument("AWS_STORAGE_BUCKET_NAME is required when MEDIA_STORAGE_BACKEND=s3");
    if (auto v = get(lookup, "AWS_DEFAULT_REGION")) s.region = *v;
    if (auto v = get(lookup, "AWS_ACCESS_KEY_ID")) s.access_key = *v;
    if (auto v = get(lookup, "AWS_SECRET_ACCESS_KEY")) s.secret_key = *v;
    if (auto v = get(lookup, "AWS_SESSION_TOKEN")) s.session_token = *v;
    if (auto v = get(lookup, "AWS_S3_ENDPOINT_URL"))
      s.endpoint = *v;
    else
      s.endpoint = "https://s3." + s.region + ".amazonaws.com";
  }
  if (auto v = get(lookup, "AWS_S3_ADDRESSING_STYLE")) {
    if (*v == "path")
      s.path_style = true;
    else if (*v == "virtual")
      s.path_style = false;
    else
      return Status::InvalidArgument(fmt::format("AWS_S3_ADDRESSING_STYLE must be path or virtual, got '{}'", *v));
  }
  // Resolved once, here: a later chdir of the process changes nothing.
  c.media_root = absolute_path(c.media_root);
  c.state_dir = absolute_path(c.state_dir);
  c.spool_dir = absolute_path(c.spool_dir);
  if (c.queue == QueueKind::sqlite && !c.queue_url.empty()) c.queue_url = absolute_sqlite_url(c.queue_url);
  MS_RETURN_IF_ERROR(c.validate());
  return c;
}

Status Config::validate() const {
  if (backend == BackendKind::local && media_root.empty())
    return Status::InvalidArgument("MEDIA_ROOT must not be empty");
  if (backend != BackendKind::local) {
    const char* bucket_var = backend == BackendKind::minio ? "MINIO_BUCKET_NAME" : "AWS_STORAGE_BUCKET_NAME";
    if (s3.bucket.empty()) return Status::InvalidArgument(fmt::format("{} must not be empty", bucket_var));
    if (s3.endpoint.rfind("http://", 0) != 0 && s3.endpoint.rfind("https://", 0) != 0)
      return Status::InvalidArgument(
          fmt::format("S3 endpoint must start with http:// or https://, got '{}'", s3.endpoint));
    if (s3.part_size < (5ull << 20)) return Status::InvalidArgument("MEDIA_S3_PART_SIZE must be at least 5 MiB");
  }
  if (max_upload_size == 0) return Status::InvalidArgument("MAX_UPLOAD_SIZE must be greater than 0");
  if (max_video_duration == 0) return Status::InvalidArgument("MAX_VIDEO_DURATION must be greater than 0");
  if (queue != QueueKind::memory && queue_url.empty() && queue == QueueKind::redis)
    return Status::InvalidArgument("MEDIA_QUEUE_URL is required when MEDIA_QUEUE_BACKEND=redis");
  if (staging_prefix.empty() || staging_prefix.back() != '/')
    return Status::InvalidArgument(
        fmt::format("MEDIA_STAGING_PREFIX '{}' must be non-empty and end with '/'", staging_prefix));
  if (!is_key_prefix(staging_prefix))
    return Status::InvalidArgument(
        fmt::format("MEDIA_STAGING_PREFIX '{}' is not a key prefix (segments of printable characters, no leading '/', "
                    "no empty, '.' or '..' segment, no backslash)",
                    staging_prefix));
  if (scan.mode == ScanMode::required && scan.clamd_url.empty())
    return Status::InvalidArgument("MEDIA_SCAN=required needs MEDIA_CLAMD_URL (the clamd to scan with)");
  if (!scan.clamd_url.empty()) {
    auto address = detail::parse_clamd_url(scan.clamd_url);
    if (!address.ok()) return address.status();
  }
  if (scan.stream_max_bytes == 0) return Status::InvalidArgument("MEDIA_CLAMD_STREAM_MAX_BYTES must be greater than 0");
  if (scan.timeout.count() <= 0) return Status::InvalidArgument("MEDIA_CLAMD_TIMEOUT must be positive");
  if (backend == BackendKind::local) {
    // The state folder holds the spool and the queue file; inside MEDIA_ROOT a
    // web server serving the root would serve them.
    const std::string root = absolute_path(media_root);
    const std::string state = effective_state_dir();
    if (is_inside(state, root)) {
      if (state_dir.empty())
        return Status::InvalidArgument(
            fmt::format("MEDIA_ROOT '{}' leaves no place for the default MEDIA_STATE_DIR: set MEDIA_STATE_DIR to a "
                        "folder outside MEDIA_ROOT",
                        root));
      return Status::InvalidArgument(
          fmt::format("MEDIA_STATE_DIR '{}' must be outside MEDIA_ROOT '{}' (a web server serving MEDIA_ROOT would "
                      "serve the spool and the queue file)",
                      state, root));
    }
  }
  if (thumbnail_formats.empty())
    return Status::InvalidArgument("MEDIA_THUMBNAIL_FORMATS must name at least one format");
  for (std::size_t i = 0; i < thumbnail_formats.size(); ++i) {
    const ThumbnailFormat f = thumbnail_formats[i];
    for (std::size_t j = 0; j < i; ++j)
      if (thumbnail_formats[j] == f)
        return Status::InvalidArgument(fmt::format("MEDIA_THUMBNAIL_FORMATS names {} twice", thumbnail_format_name(f)));
    if (!thumbnail_format_available(f))
      return Status::InvalidArgument(fmt::format(
          "MEDIA_THUMBNAIL_FORMATS includes avif, but this libheif has no AV1 encoder (it needs libheif built with "
          "libaom, rav1e or SVT-AV1: on Debian 12, libheif1 links libaom); use jpeg,webp"));
  }
  return Status::Ok();
}

std::string Config::effective_state_dir() const {
  if (!state_dir.empty()) return absolute_path(state_dir);
  const std::string root = absolute_path(media_root);
  return root == "/" ? "/.state" : root + ".state";  // "/.state" is inside "/": validate() refuses it
}

StagingKind Config::effective_staging() const {
  if (staging) return *staging;
  return queue == QueueKind::redis ? StagingKind::storage : StagingKind::local;
}

std::string Config::effective_spool_dir() const {
  if (!spool_dir.empty()) return absolute_path(spool_dir);
  return effective_state_dir() + "/spool";
}

std::string Config::effective_sqlite_path() const {
  if (state_dir.empty() && !spool_dir.empty()) return absolute_path(spool_dir) + "/queue.sqlite3";
  return effective_state_dir() + "/queue.sqlite3";
}

namespace detail {

std::string legacy_default_spool_dir(const Config& config) {
  if (!config.state_dir.empty() || !config.spool_dir.empty()) return "";
  const std::string old = absolute_path(config.media_root) + "/.spool";
  std::error_code ec;
  if (!std::filesystem::is_directory(old, ec) || std::filesystem::is_empty(old, ec)) return "";
  return old;
}

}  // namespace detail

std::vector<std::pair<std::string, std::string>> Config::describe_pairs() const {
  std::vector<std::pair<std::string, std::string>> out;
  out.emplace_back("MEDIA_STORAGE_BACKEND", backend_kind_name(backend));
  out.emplace_back("MEDIA_ROOT", media_root);
  out.emplace_back("MEDIA_URL", media_url);
  out.emplace_back("MEDIA_URL_SIGNING_KEY", url_signing_key.empty() ? "(unset)" : mask_secret(url_signing_key));
  out.emplace_back("MAX_UPLOAD_SIZE", std::to_string(max_upload_size));
  out.emplace_back("MEDIA_UPLOAD_GRANT_SECRET",
                   upload_grant_secret.empty() ? "(unset)" : mask_secret(upload_grant_secret));
  out.emplace_back("MAX_VIDEO_DURATION", std::to_string(max_video_duration));
  if (backend != BackendKind::local) {
    out.emplace_back("endpoint", s3.endpoint);
    out.emplace_back("bucket", s3.bucket);
    out.emplace_back("region", s3.region);
    out.emplace_back("addressing", s3.path_style ? "path" : "virtual");
    out.emplace_back("access_key", s3.access_key.empty() ? "(credential chain)" : mask_secret(s3.access_key, 4));
    out.emplace_back("secret_key", s3.secret_key.empty() ? "(credential chain)" : mask_secret(s3.secret_key));
    if (!s3.session_token.empty()) out.emplace_back("session_token", mask_secret(s3.session_token));
    out.emplace_back("max_attempts", std::to_string(s3.max_attempts));
    out.emplace_back("multipart_threshold", std::to_string(s3.multipart_threshold));
    out.emplace_back("part_size", std::to_string(s3.part_size));
    out.emplace_back("parts_in_flight", std::to_string(s3.parts_in_flight));
    out.emplace_back("payload_signing", s3.payload_signing);
    out.emplace_back("conditional_multipart", s3.conditional_multipart ? "true" : "false");
    out.emplace_back("querystring_auth", s3.querystring_auth ? "true" : "false");
    out.emplace_back("querystring_expire", std::to_string(s3.querystring_expire));
    if (!s3.custom_domain.empty()) out.emplace_back("custom_domain", s3.custom_domain);
    if (!s3.public_endpoint.empty()) out.emplace_back("public_endpoint", s3.public_endpoint);
  }
  out.emplace_back("MEDIA_QUEUE_BACKEND", queue_kind_name(queue));
  if (!queue_url.empty()) out.emplace_back("MEDIA_QUEUE_URL", queue_url);
  out.emplace_back("MEDIA_STATE_DIR", effective_state_dir());
  out.emplace_back("MEDIA_SPOOL_DIR", effective_spool_dir());
  out.emplace_back("MEDIA_STAGING", staging_kind_name(effective_staging()));
  out.emplace_back("MEDIA_STAGING_PREFIX", staging_prefix);
  if (queue == QueueKind::sqlite && queue_url.empty()) out.emplace_back("sqlite_file", effective_sqlite_path());
  std::string formats;
  for (ThumbnailFormat f : thumbnail_formats) {
    if (!formats.empty()) formats += ',';
    formats += thumbnail_format_name(f);
  }
  out.emplace_back("MEDIA_THUMBNAIL_FORMATS", formats);
  out.emplace_back("MEDIA_DEDUP_SCOPE_KEY", dedup_scope_key);
  out.emplace_back("MEDIA_SCAN", scan_mode_name(scan.mode));
  if (!scan.clamd_url.empty()) {
    out.emplace_back("MEDIA_CLAMD_URL", scan.clamd_url);
    out.emplace_back("MEDIA_CLAMD_STREAM_MAX_BYTES", std::to_string(scan.stream_max_bytes));
    out.emplace_back("MEDIA_CLAMD_TIMEOUT", std::to_string(scan.timeout.count()) + "ms");
    out.emplace_back("MEDIA_SCAN_UNSCANNED", unscanned_policy_name(scan.unscanned));
  }
  return out;
}

std::string Config::describe() const {
  std::string s;
  for (auto& [k, v] : describe_pairs()) s += k + "=" + v + "\n";
  return s;
}

}  // namespace mediastore
