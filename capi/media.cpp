// The C ABI of media: type detection, validation against a policy,
// thumbnails, processing (validation and thumbnails from one decode) and
// JPEG metadata stripping, from a file or a caller's buffer.
#include <cstdlib>
#include <string>
#include <vector>

#include "internal.hpp"

using namespace mediastore::capi;

namespace {

static_assert(MS_MEDIA_PE == static_cast<int>(ms::MediaType::pe), "ms_media_type mirrors MediaType");
static_assert(MS_SIMILAR_IMAGE_DISTANCE == ms::kSimilarImageDistance, "MS_SIMILAR_IMAGE_DISTANCE mirrors C++");
static_assert(MS_REFUSAL_UNREADABLE == static_cast<int>(ms::RefusalReason::unreadable) &&
                  MS_REFUSAL_MALWARE == static_cast<int>(ms::RefusalReason::malware) &&
                  MS_REFUSAL_UNSCANNED == static_cast<int>(ms::RefusalReason::unscanned) &&
                  MS_REFUSAL_TOO_LONG == static_cast<int>(ms::RefusalReason::too_long) &&
                  MS_REFUSAL_NO_VIDEO_STREAM == static_cast<int>(ms::RefusalReason::no_video_stream),
              "ms_refusal_reason mirrors RefusalReason");

bool valid_media_type(int t) { return t >= 0 && t <= MS_MEDIA_PE; }

constexpr int kMaxThumbnailSide = 16384;
constexpr std::size_t kMaxSpecs = 64;

int mime_list(const char* const* in, std::size_t n, const char* what, std::vector<std::string>& out) {
  if (n == 0) return MS_OK;
  if (n > 1000) return invalid(std::string(what) + " count " + std::to_string(n) + " is absurd");
  if (in == nullptr) return invalid(std::string(what) + " must not be NULL when its count > 0");
  out.clear();
  for (std::size_t i = 0; i < n; ++i) {
    std::string v;
    int rc = MS_OK;
    if (!header_arg(in[i], what, v, rc)) return rc;
    out.push_back(std::move(v));
  }
  return MS_OK;
}

}  // namespace

namespace mediastore::capi {

int validation_policy(const ms_validation_options* in, ms::ValidationPolicy& out) {
  if (in == nullptr) return MS_OK;
  if (int rc = version_arg(in->version, MS_VALIDATION_OPTIONS_VERSION, "ms_validation_options.version"); rc != MS_OK)
    return rc;
  if (in->max_upload_size != 0) out.max_upload_size = in->max_upload_size;
  if (in->max_pixels != 0) out.max_pixels = in->max_pixels;
  out.relabel_mismatched_extension = in->relabel_mismatched_extension != 0;
  out.decode_images = in->decode_images != 0;
  int rc = mime_list(in->photo_mime_types, in->photo_mime_type_count, "photo_mime_types", out.photo_mime_types);
  if (rc != MS_OK) return rc;
  return mime_list(in->video_mime_types, in->video_mime_type_count, "video_mime_types", out.video_mime_types);
}

int thumbnail_specs(const ms_thumbnail_spec* specs, std::size_t n, std::vector<ms::ThumbnailSpec>& out) {
  if (n == 0) {
    out = ms::default_thumbnail_specs();
    return MS_OK;
  }
  if (specs == nullptr) return invalid("specs must not be NULL when spec_count > 0");
  if (n > kMaxSpecs) return invalid("spec_count " + std::to_string(n) + " exceeds " + std::to_string(kMaxSpecs));
  out.clear();
  for (std::size_t i = 0; i < n; ++i) {
    const ms_thumbnail_spec& in = specs[i];
    ms::ThumbnailSpec spec;
    std::string_view name;
    int rc = MS_OK;
    if (!text_arg(in.name, "thumbnail name", name, rc)) return rc;
    if (name.empty()) return invalid("thumbnail name must not be empty");
    spec.name.assign(name);
    if (in.width < 1 || in.width > kMaxThumbnailSide || in.height < 1 || in.height > kMaxThumbnailSide)
      return invalid("thumbnail '" + spec.name + "' size " + std::to_string(in.width) + "x" +
                     std::to_string(in.height) + " is outside 1..16384");
    if (in.fit != MS_FIT_INSIDE && in.fit != MS_FIT_COVER)
      return invalid("thumbnail '" + spec.name + "' fit " + std::to_string(in.fit) + " is not a ms_fit_mode");
    if (in.quality < 1 || in.quality > 100)
      return invalid("thumbnail '" + spec.name + "' quality " + std::to_string(in.quality) + " is outside 1..100");
    spec.width = in.width;
    spec.height = in.height;
    spec.fit = in.fit == MS_FIT_COVER ? ms::FitMode::cover : ms::FitMode::inside;
    spec.quality = in.quality;
    spec.progressive = in.progressive != 0;
    out.push_back(std::move(spec));
  }
  return MS_OK;
}

int media_kind_arg(int kind, ms::MediaKind& out) {
  if (kind == MS_KIND_PHOTO) {
    out = ms::MediaKind::photo;
  } else if (kind == MS_KIND_VIDEO) {
    out = ms::MediaKind::video;
  } else {
    return invalid("media kind " + std::to_string(kind) + " is not MS_KIND_PHOTO or MS_KIND_VIDEO");
  }
  return MS_OK;
}

}  // namespace mediastore::capi

namespace {

void free_media_info_members(ms_media_info* m) {
  std::free(m->mime);
  std::free(m->sha256);
  std::free(m->capture_time);
  std::free(m->filename);
  std::free(m->note);
  std::free(m->thumbhash);
  std::free(m->phash);
}

void media_info_free_whole(ms_media_info* m) {
  if (m == nullptr) return;
  free_media_info_members(m);
  std::free(m);
}

ms_media_info* make_media_info(const ms::MediaInfo& in) {
  CHolder<ms_media_info, media_info_free_whole> h;
  h.p = static_cast<ms_media_info*>(calloc_or_throw(1, sizeof(ms_media_info)));
  ms_media_info* m = h.p;
  m->type = static_cast<int>(in.type);
  m->mime = dup_string(in.mime);
  m->kind = in.kind == ms::MediaKind::video ? MS_KIND_VIDEO : MS_KIND_PHOTO;
  m->byte_size = in.byte_size;
  m->sha256 = dup_string(in.sha256);
  m->width = in.width;
  m->height = in.height;
  m->orientation = in.orientation;
  m->display_width = in.display_width;
  m->display_height = in.display_height;
  m->capture_time = dup_string(in.capture_time);
  m->has_gps = in.has_gps ? 1 : 0;
  m->relabelled = in.relabelled ? 1 : 0;
  m->filename = dup_string(in.filename);
  m->note = dup_string(in.note);
  m->thumbhash = dup_string(in.thumbhash);
  m->phash = dup_string(in.phash);
  return h.release();
}

void thumbnail_list_free_whole(ms_thumbnail_list* l) {
  if (l == nullptr) return;
  if (l->items) {
    for (std::size_t i = 0; i < l->count; ++i) {
      std::free(l->items[i].name);
      std::free(l->items[i].jpeg);
    }
    std::free(l->items);
  }
  if (l->encodings) {
    for (std::size_t i = 0; i < l->count; ++i) {
      std::free(l->encodings[i].format);
      std::free(l->encodings[i].extension);
      std::free(l->encodings[i].content_type);
    }
    std::free(l->encodings);
  }
  std::free(l);
}

ms_thumbnail_list* make_thumbnail_list(const std::vector<ms::Thumbnail>& thumbs) {
  CHolder<ms_thumbnail_list, thumbnail_list_free_whole> h;
  h.p = static_cast<ms_thumbnail_list*>(calloc_or_throw(1, sizeof(ms_thumbnail_list)));
  h.p->items = static_cast<ms_thumbnail*>(calloc_or_throw(thumbs.size(), sizeof(ms_thumbnail)));
  h.p->encodings = static_cast<ms_thumbnail_encoding*>(calloc_or_throw(thumbs.size(), sizeof(ms_thumbnail_encoding)));
  for (const auto& t : thumbs) {
    ms_thumbnail_encoding& e = h.p->encodings[h.p->count];
    ms_thumbnail& o = h.p->items[h.p->count++];
    o.name = dup_string(t.name);
    o.width = t.width;
    o.height = t.height;
    o.jpeg = static_cast<unsigned char*>(dup_bytes(t.bytes));  // whatever e.format says
    o.jpeg_len = t.bytes.size();
    e.format = dup_string(ms::thumbnail_format_name(t.format));
    e.extension = dup_string(t.extension);
    e.content_type = dup_string(t.content_type);
  }
  return h.release();
}

// What a media function reads: a file (`path`, non-empty UTF-8) or a caller's
// buffer (`data`, NULL only when len is 0).
struct MediaSource {
  bool file = false;
  const char* path = nullptr;
  const void* data = nullptr;
  std::size_t len = 0;
};

// The checks and the refusal reason shared by validation and processing.
// `outputs_given` is false when a required out pointer is NULL (`outputs`
// names them). Once every argument is valid, `run(path, bytes, name, kind,
// policy, &reason)` calls the C++ API (path NULL for memory) and returns
// MS_OK or fail(...); *out_reason receives the reason whatever the outcome.
template <typename Run>
int media_common(bool outputs_given, const char* outputs, int* out_reason, const MediaSource& src, const char* filename,
                 int kind, const ms_validation_options* opts, Run&& run) {
  if (out_reason) *out_reason = MS_REFUSAL_NONE;
  if (!outputs_given) return invalid(std::string(outputs) + " must not be NULL");
  int rc = MS_OK;
  std::string path;
  std::string_view bytes;
  if (src.file) {
    std::string_view p;
    if (!text_arg(src.path, "path", p, rc)) return rc;
    if (p.empty()) return invalid("path must not be empty");
    path.assign(p);
  } else if (!bytes_arg(src.data, src.len, "data", bytes, rc)) {
    return rc;
  }
  std::string_view name;
  if (!text_arg(filename, "filename", name, rc)) return rc;
  ms::MediaKind k = ms::MediaKind::photo;
  if ((rc = media_kind_arg(kind, k)) != MS_OK) return rc;
  ms::ValidationPolicy policy;
  if ((rc = validation_policy(opts, policy)) != MS_OK) return rc;
  ms::RefusalReason reason = ms::RefusalReason::none;
  rc = run(src.file ? &path : nullptr, bytes, name, k, policy, &reason);
  if (out_reason) *out_reason = static_cast<int>(reason);
  return rc;
}

int validate_common(ms_media_info** out, int* out_reason, const MediaSource& src, const char* filename, int kind,
                    const ms_validation_options* opts) {
  if (out) *out = nullptr;
  return media_common(out != nullptr, "out", out_reason, src, filename, kind, opts,
                      [&](const std::string* path, std::string_view bytes, std::string_view name, ms::MediaKind k,
                          const ms::ValidationPolicy& policy, ms::RefusalReason* reason) -> int {
                        auto r = path ? ms::validate_media_file(*path, name, k, policy, reason)
                                      : ms::validate_media(bytes, name, k, policy, reason);
                        if (!r.ok()) return fail(r.status());
                        *out = make_media_info(*r);
                        return MS_OK;
                      });
}

int process_common(ms_media_info** out_info, ms_thumbnail_list** out_thumbs, int* out_reason, const MediaSource& src,
                   const char* filename, int kind, const ms_validation_options* opts, const ms_thumbnail_spec* specs,
                   std::size_t spec_count) {
  if (out_info) *out_info = nullptr;
  if (out_thumbs) *out_thumbs = nullptr;
  std::vector<ms::ThumbnailSpec> sp;
  return media_common(out_info != nullptr && out_thumbs != nullptr, "out_info and out_thumbs", out_reason, src,
                      filename, kind, opts,
                      [&](const std::string* path, std::string_view bytes, std::string_view name, ms::MediaKind k,
                          const ms::ValidationPolicy& policy, ms::RefusalReason* reason) -> int {
                        // Specs are checked before the content is read, as the C++ API does.
                        if (int rc = thumbnail_specs(specs, spec_count, sp); rc != MS_OK) return rc;
                        auto r = path ? ms::process_media_file(*path, name, k, sp, policy, reason)
                                      : ms::process_media(bytes, name, k, sp, policy, reason);
                        if (!r.ok()) return fail(r.status());
                        CHolder<ms_media_info, media_info_free_whole> info;
                        info.p = make_media_info(r->info);
                        *out_thumbs = make_thumbnail_list(r->thumbnails);
                        *out_info = info.release();
                        return MS_OK;
                      });
}

}  // namespace

extern "C" {

int ms_media_sniff(const void* head, size_t len) {
  return guard([&]() -> int {
    int rc = MS_OK;
    std::string_view bytes;
    if (!bytes_arg(head, len, "head", bytes, rc)) return rc;
    return static_cast<int>(ms::sniff_media_type(bytes));
  });
}

const char* ms_media_type_mime(int type) {
  if (!valid_media_type(type)) type = 0;
  return ms::media_type_mime(static_cast<ms::MediaType>(type));
}

const char* ms_media_type_extension(int type) {
  if (!valid_media_type(type)) return "";
  return ms::media_type_extension(static_cast<ms::MediaType>(type));
}

const char* ms_refusal_reason_name(int reason) {
  if (reason < 0 || reason > MS_REFUSAL_NO_VIDEO_STREAM) return "unknown";
  return ms::refusal_reason_name(static_cast<ms::RefusalReason>(reason));
}

int ms_validation_options_init(ms_validation_options* opts, unsigned int version) {
  auto defaults = [](ms_validation_options& o) {
    o.relabel_mismatched_extension = 1;
    o.decode_images = 1;
  };
  return init_struct(opts, "opts", version, MS_VALIDATION_OPTIONS_VERSION, "ms_validation_options version", defaults);
}

void ms_media_info_free(ms_media_info* info) { media_info_free_whole(info); }

int ms_media_validate_file(ms_media_info** out, int* out_reason, const char* path, const char* filename, int kind,
                           const ms_validation_options* opts) {
  return guard([&]() -> int {
    return validate_common(out, out_reason, MediaSource{true, path, nullptr, 0}, filename, kind, opts);
  });
}

int ms_media_validate(ms_media_info** out, int* out_reason, const void* data, size_t len, const char* filename,
                      int kind, const ms_validation_options* opts) {
  return guard([&]() -> int {
    return validate_common(out, out_reason, MediaSource{false, nullptr, data, len}, filename, kind, opts);
  });
}

int ms_media_process_file(ms_media_info** out_info, ms_thumbnail_list** out_thumbs, int* out_reason, const char* path,
                          const char* filename, int kind, const ms_validation_options* opts,
                          const ms_thumbnail_spec* specs, size_t spec_count) {
  return guard([&]() -> int {
    return process_common(out_info, out_thumbs, out_reason, MediaSource{true, path, nullptr, 0}, filename, kind, opts,
                          specs, spec_count);
  });
}

int ms_media_process(ms_media_info** out_info, ms_thumbnail_list** out_thumbs, int* out_reason, const void* data,
                     size_t len, const char* filename, int kind, const ms_validation_options* opts,
                     const ms_thumbnail_spec* specs, size_t spec_count) {
  return guard([&]() -> int {
    return process_common(out_info, out_thumbs, out_reason, MediaSource{false, nullptr, data, len}, filename, kind,
                          opts, specs, spec_count);
  });
}

void ms_thumbnail_list_free(ms_thumbnail_list* list) { thumbnail_list_free_whole(list); }

int ms_thumbnails_make(ms_thumbnail_list** out, const void* data, size_t len, const ms_thumbnail_spec* specs,
                       size_t spec_count, uint64_t max_pixels) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = nullptr;
    int rc = MS_OK;
    std::string_view bytes;
    if (!bytes_arg(data, len, "data", bytes, rc)) return rc;
    std::vector<ms::ThumbnailSpec> sp;
    if ((rc = thumbnail_specs(specs, spec_count, sp)) != MS_OK) return rc;
    auto r = ms::make_thumbnails(bytes, sp, max_pixels ? max_pixels : 100'000'000);
    if (!r.ok()) return fail(r.status());
    *out = make_thumbnail_list(*r);
    return MS_OK;
  });
}

int ms_thumbnails_make_file(ms_thumbnail_list** out, const char* path, const ms_thumbnail_spec* specs,
                            size_t spec_count, uint64_t max_pixels) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = nullptr;
    int rc = MS_OK;
    std::string_view p;
    if (!text_arg(path, "path", p, rc)) return rc;
    if (p.empty()) return invalid("path must not be empty");
    std::vector<ms::ThumbnailSpec> sp;
    if ((rc = thumbnail_specs(specs, spec_count, sp)) != MS_OK) return rc;
    auto r = ms::make_thumbnails_file(std::string(p), sp, max_pixels ? max_pixels : 100'000'000);
    if (!r.ok()) return fail(r.status());
    *out = make_thumbnail_list(*r);
    return MS_OK;
  });
}

int ms_perceptual_hash_parse(uint64_t* out, const char* hex) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = 0;
    int rc = MS_OK;
    std::string_view h;
    if (!text_arg(hex, "hex", h, rc)) return rc;
    auto r = ms::parse_perceptual_hash(h);
    if (!r.ok()) return fail(r.status());
    *out = *r;
    return MS_OK;
  });
}

int ms_hamming_distance(uint64_t a, uint64_t b) { return ms::hamming_distance(a, b); }

int ms_jpeg_strip_metadata(void** out, size_t* out_len, const void* jpeg, size_t len, int mode) {
  return guard([&]() -> int {
    if (out == nullptr || out_len == nullptr) return invalid("out and out_len must not be NULL");
    *out = nullptr;
    *out_len = 0;
    int rc = MS_OK;
    std::string_view bytes;
    if (!bytes_arg(jpeg, len, "jpeg", bytes, rc)) return rc;
    if (mode != MS_STRIP_GPS && mode != MS_STRIP_ALL)
      return invalid("strip mode " + std::to_string(mode) + " is unknown");
    auto r = ms::strip_jpeg_metadata(bytes, mode == MS_STRIP_ALL ? ms::StripMode::all : ms::StripMode::gps);
    if (!r.ok()) return fail(r.status());
    *out = dup_bytes(*r);
    *out_len = r->size();
    return MS_OK;
  });
}

}  // extern "C"
