// Media: type detection by content, validation against a policy, metadata,
// thumbnails and lossless metadata stripping.
//
//   auto info = mediastore::validate_media_file("/spool/abc", "IMG_1.jpg", MediaKind::photo, policy);
//   if (!info) refuse(info.status());          // code + a message naming the file
//   auto thumbs = mediastore::make_thumbnails_file("/spool/abc", mediastore::default_thumbnail_specs());
//
// Types are always detected from content, never from the file name. Images
// are decoded with libjpeg-turbo (JPEG, DCT-domain scaled), stb_image (PNG,
// GIF first frame, BMP), libwebp (WebP) and libheif (HEIC/HEIF/AVIF). Videos
// (MP4/QuickTime, WebM/Matroska) are opened with FFmpeg's libraries over the
// library's own I/O (never a file name or URL handed to FFmpeg), under a
// demuxer and decoder whitelist and a time budget; one frame (the poster) is
// decoded for their thumbnails.
//
// Thread-safety: every function here is reentrant; distinct calls may run on
// distinct threads at once. Nothing here prints. The only global state is
// FFmpeg's log callback, installed once on the first video opened: it routes
// FFmpeg's messages to the library's log (component "media", level debug).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "mediastore/config.hpp"
#include "mediastore/export.hpp"
#include "mediastore/status.hpp"

namespace mediastore {

// What the content really is (decided from its bytes).
enum class MediaType {
  unknown = 0,
  // images
  jpeg,
  png,
  gif,
  webp,
  bmp,
  heic,
  heif,
  avif,
  // videos
  mp4,
  quicktime,
  webm,
  matroska,
  // dangerous look-alikes: always refused
  html,
  svg,
  php,
  zip,
  pdf,
  elf,
  pe,
};

// "image/jpeg", "video/mp4", "text/html", ...; "application/octet-stream" for unknown.
MS_API const char* media_type_mime(MediaType type) noexcept;
// Short human name: "JPEG image", "PNG image", "MP4 video", "HTML document", ...
MS_API const char* media_type_description(MediaType type) noexcept;
// Canonical file extension without the dot: "jpg", "png", "mp4"; "" for unknown
// and for the dangerous types.
MS_API const char* media_type_extension(MediaType type) noexcept;
MS_API bool media_type_is_image(MediaType type) noexcept;
MS_API bool media_type_is_video(MediaType type) noexcept;
// HTML, SVG, PHP, ZIP, PDF, ELF, PE.
MS_API bool media_type_is_dangerous(MediaType type) noexcept;

// Detects the type from the first bytes of a file (at least 64 are needed for
// a confident answer; 4096 are plenty). Never reads past `head`.
MS_API MediaType sniff_media_type(std::string_view head) noexcept;

// What the caller says the upload is.
enum class MediaKind { photo, video };
MS_API const char* media_kind_name(MediaKind kind) noexcept;

// The rules a validation applies. Defaults are the service's.
struct MS_API ValidationPolicy {
  // Allowed MIME types per kind.
  // Default photo: image/jpeg image/png image/gif image/webp image/heic image/heif
  std::vector<std::string> photo_mime_types;
  // Default video: video/mp4 video/quicktime video/webm video/x-matroska
  std::vector<std::string> video_mime_types;
  // Files larger than this are refused (too_large). Default: 100 MiB
  // (Config::max_upload_size).
  std::uint64_t max_upload_size = 104857600;
  // width*height above this is refused from the header, before decoding. Default: 100 MP.
  std::uint64_t max_pixels = 100'000'000;
  // When the extension names another accepted media type than the content
  // (".jpg" that is a PNG), accept and relabel (true) or refuse (false). Default: true.
  bool relabel_mismatched_extension = true;
  // Decode images completely to prove they are valid; for videos, decode
  // the poster frame. Default: true.
  bool decode_images = true;
  // Videos longer than this (declared duration) are refused (too_long).
  // Default: 10 min (Config::max_video_duration).
  std::uint64_t max_video_duration_ms = 600'000;
  // Wall-clock budget for opening, checking and decoding one video; past it
  // FFmpeg's I/O is interrupted and the video refused (corrupt). Default: 20 s.
  std::uint64_t video_time_budget_ms = 20'000;
  // The poster frame: the first keyframe at or after
  // min(poster_time_ms, poster_fraction * duration), so 1 s into clips of
  // 10 s or more and 10 % in for shorter ones. Defaults: 1000 ms, 0.1.
  std::uint64_t poster_time_ms = 1000;
  double poster_fraction = 0.1;

  ValidationPolicy();
  // The defaults with max_upload_size taken from the configuration.
  static ValidationPolicy from_config(const Config& config);
};

// Why a validation refused a file. Each maps to one ErrorCode (see
// refusal_reason_code).
enum class RefusalReason {
  none = 0,            // accepted
  empty,               // zero bytes                                  -> invalid_argument
  file_too_large,      // over max_upload_size                        -> too_large
  too_many_pixels,     // width*height over max_pixels (from header)  -> too_large
  unknown_type,        // not a recognised image or video             -> unsupported_media
  dangerous_content,   // HTML/SVG/PHP/ZIP/PDF/ELF/PE, or such content
                       // hidden inside an image (polyglot)           -> unsupported_media
  type_not_allowed,    // a real media type the policy does not accept -> unsupported_media
  extension_mismatch,  // the file name's extension disagrees with the content
                       // and cannot be relabelled                    -> invalid_argument
  corrupt,             // truncated or undecodable                    -> corrupt_media
  unsupported_codec,   // a container we recognise but cannot decode  -> unsupported_media
  unreadable,          // the file cannot be read                     -> io_error
  malware,             // the virus scanner found a signature in it   -> unsupported_media
  unscanned,           // the virus scanner could not scan it in full
                       // (over its size limits) and the policy refuses
                       // what was not scanned                        -> too_large
  too_long,            // a video over max_video_duration_ms          -> too_large
  no_video_stream,     // a video container without a video stream
                       // (audio only)                                -> unsupported_media
};
MS_API const char* refusal_reason_name(RefusalReason reason) noexcept;
MS_API ErrorCode refusal_reason_code(RefusalReason reason) noexcept;

// What probing learned about an accepted video (MediaInfo::video). Names are
// FFmpeg's (codec "h264", "hevc", "vp9", "av1"; profile "High", "Main 10").
struct VideoInfo {
  std::string container;     // "mp4", "quicktime", "webm" or "matroska" (from the content)
  std::string video_codec;   // "h264", "hevc", "vp8", "vp9", "av1", "mpeg4"
  std::string codec_tag;     // the sample entry for MP4/QuickTime ("avc1", "hvc1", "hev1"); "" otherwise
  std::string profile;       // "" when unknown
  std::string pixel_format;  // "yuv420p", "yuv420p10le", ...; "" when unknown
  int bit_depth = 8;         // bits per luma sample
  std::string audio_codec;   // "aac", "opus", ...; "" without audio
  std::uint64_t duration_ms = 0;
  int rotation = 0;             // clockwise degrees to display: 0, 90, 180 or 270 (display matrix)
  double frame_rate = 0;        // average frames per second; 0 when unknown
  std::uint64_t bit_rate = 0;   // bits per second over the whole file; 0 when unknown
  bool hdr = false;             // PQ (SMPTE 2084) or HLG (ARIB STD-B67) transfer
  std::string color_transfer;   // "bt709", "smpte2084", "arib-std-b67", ...; "" unspecified
  std::string color_primaries;  // "bt709", "bt2020", ...; "" unspecified
  bool moov_first = false;      // MP4/QuickTime: the index precedes the media data (faststart)
};

// What validation learned about an accepted file.
struct MediaInfo {
  MediaType type = MediaType::unknown;
  std::string mime;  // media_type_mime(type)
  MediaKind kind = MediaKind::photo;
  std::uint64_t byte_size = 0;
  std::string sha256;  // lower-case hex of the whole content
  int width = 0;       // stored pixel size (before orientation); videos: the coded frame size
  int height = 0;
  // EXIF orientation 1..8 still to apply; 1 when absent. Always 1 for
  // HEIF/AVIF: the decoder applies the container's rotation, so width and
  // height are already as displayed. Videos: the display matrix's rotation
  // as the EXIF value that does the same (90 -> 6, 180 -> 3, 270 -> 8).
  int orientation = 1;
  int display_width = 0;  // size once the orientation is applied
  int display_height = 0;
  // EXIF DateTimeOriginal "YYYY:MM:DD HH:MM:SS"; "" when absent. Videos: the
  // same form from com.apple.quicktime.creationdate (local time as written)
  // or else the container's creation_time (UTC).
  std::string capture_time;
  // An EXIF GPS block with at least one entry; videos: location metadata
  // (QuickTime/MP4 ©xyz, com.apple.quicktime.location.ISO6709, Matroska tags).
  bool has_gps = false;
  bool relabelled = false;  // the extension disagreed with the content
  std::string filename;     // the name to store: the given one, or with the
                            // extension corrected when relabelled
  std::string note;         // e.g. "photo.jpg is a PNG image; relabelled photo.png"
  // Filled by process_media when it makes thumbnails (of an image or a
  // video's poster frame; empty
  // otherwise), from the smallest thumbnail's raster as displayed (uncropped),
  // like the thumbnails composited onto white: the ThumbHash is opaque. See
  // image_hashes.
  std::string thumbhash;  // ThumbHash, standard base64 with padding
  std::string phash;      // 64-bit perceptual hash, 16 lower-case hex digits
  VideoInfo video;        // videos only; default values for images
};

// The metadata of an accepted file as text, the map an upload's result
// carries: "media_type", "mime", "sha256", "width", "height",
// "display_width", "display_height", "orientation", "capture_time",
// "has_gps", "filename"; "note", "thumbhash" and "phash" (when non-empty); for videos also
// "container", "video_codec", "codec_tag", "video_profile", "pixel_format",
// "bit_depth", "audio_codec" (when there is audio), "duration_ms",
// "rotation", "frame_rate" (3 decimals), "bit_rate", "hdr", "color_transfer",
// "color_primaries", "moov_first", "has_location" (= has_gps).
MS_API std::map<std::string, std::string> media_metadata(const MediaInfo& info);

// Validates a file on disk. `filename` is the name the user gave (used for the
// extension check and in messages); `kind` what the upload claims to be.
// On refusal the Status carries refusal_reason_code(reason) and a message
// such as "file.gif is a PNG image" or "x.png: 12000x12000 = 144 MP exceeds the
// 100 MP limit"; *reason (if given) receives the reason (none on success).
// Reads the file in bounded chunks; image decoding of a JPEG is DCT-scaled.
MS_API Result<MediaInfo> validate_media_file(const std::string& path, std::string_view filename, MediaKind kind,
                                             const ValidationPolicy& policy = ValidationPolicy(),
                                             RefusalReason* reason = nullptr);
// Same for content in memory (not copied; must outlive the call).
MS_API Result<MediaInfo> validate_media(std::string_view bytes, std::string_view filename, MediaKind kind,
                                        const ValidationPolicy& policy = ValidationPolicy(),
                                        RefusalReason* reason = nullptr);

// How a thumbnail fills its box.
enum class FitMode {
  inside,  // scaled to fit entirely inside the box, aspect kept
  cover,   // scaled to cover the box, then centre-cropped to it
};

struct ThumbnailSpec {
  std::string name;  // "small", "medium", "large"
  int width = 0;     // the box, > 0
  int height = 0;
  FitMode fit = FitMode::inside;  // Default: inside
  int quality = 85;               // JPEG quality 1..100. Default: 85
  bool progressive = false;       // progressive JPEG. Default: false
  // The encodings made of this size, in this order, each once, not empty
  // (see Config::thumbnail_formats). All are encoded from the same resized
  // raster. AVIF needs thumbnail_format_available(avif). Default: {jpeg}.
  std::vector<ThumbnailFormat> formats{ThumbnailFormat::jpeg};
  // WebP (lossy, method 4) and AVIF qualities 1..100. The defaults give the
  // large thumbnail the SSIM of the JPEG at 85 (bench/thumbnails/formats.py).
  int webp_quality = 88;  // Default: 88
  int avif_quality = 78;  // AV1, 4:2:0, 8 bit. Default: 78
};

// small 150x150, medium 300x300, large 800x600; fit inside, quality 85, baseline, JPEG only.
MS_API std::vector<ThumbnailSpec> default_thumbnail_specs();
// default_thumbnail_specs() with config.thumbnail_formats as every spec's formats.
MS_API std::vector<ThumbnailSpec> thumbnail_specs_from_config(const Config& config);

// One encoding of one thumbnail size: what the store step writes as
// thumb_<name>.<extension> with `content_type`.
struct Thumbnail {
  std::string name;  // the spec's name
  int width = 0;     // actual pixel size (the same for every format of a spec)
  int height = 0;
  ThumbnailFormat format = ThumbnailFormat::jpeg;
  std::string extension;     // thumbnail_format_extension(format): "jpg", "webp", "avif"
  std::string content_type;  // thumbnail_format_content_type(format): "image/jpeg", ...
  // The encoded image: sRGB, no EXIF/XMP/comments. JPEG: YCbCr 4:2:0 with a
  // JFIF header only; WebP: lossy VP8, no ICC chunk; AVIF: AV1 4:2:0 8-bit
  // with an nclx box saying sRGB.
  std::string bytes;
  // The same bytes as `bytes` when format is jpeg, empty otherwise: the name
  // older callers read. Deprecated: read `bytes`; removed once the C ABI and
  // the upload workflow do.
  std::string jpeg;
};

// Makes one thumbnail per spec and format (spec order, then the spec's
// format order) from an image, decoding it once and resampling once per
// spec: EXIF
// orientation applied, never upscaled, alpha composited onto white, the
// first frame of an animation. A JPEG is decoded by libjpeg-turbo at the
// smallest of the DCT scales 1/8, 1/4, 1/2 and 1 (the ones with SIMD code)
// still at least twice the largest thumbnail in each dimension after EXIF
// orientation (never the full raster when a scaled decode serves), then
// resampled with a Lanczos-3 filter. Images over `max_pixels` are refused
// (too_large) from the header. A video's thumbnails come from its poster
// frame (see ValidationPolicy::poster_time_ms; the default policy's budgets
// apply), rotated as its display matrix says and converted to sRGB (HDR
// tone-mapped). Non-media gives unsupported_media; undecodable or truncated
// data corrupt_media; a spec asking for AVIF where no AV1 encoder exists,
// unsupported_media.
MS_API Result<std::vector<Thumbnail>> make_thumbnails_file(const std::string& path,
                                                           const std::vector<ThumbnailSpec>& specs,
                                                           std::uint64_t max_pixels = 100'000'000);
MS_API Result<std::vector<Thumbnail>> make_thumbnails(std::string_view bytes, const std::vector<ThumbnailSpec>& specs,
                                                      std::uint64_t max_pixels = 100'000'000);

// An accepted upload's verdict with its thumbnails.
struct ProcessedMedia {
  MediaInfo info;
  // One per spec and format (spec order, then the spec's format order);
  // videos: from the poster frame.
  std::vector<Thumbnail> thumbnails;
};

// validate_media_file and make_thumbnails_file in one pass over an image: the
// decode that proves the image valid (strict: damaged data is refused) runs
// at the scale the thumbnails need, and the thumbnails are made from it, so a
// photo is decoded once instead of twice. Refusals are exactly
// validate_media_file's (same reasons, codes and messages; *reason receives
// the reason, none on success). A video is probed and its poster frame
// decoded once, for both the verdict and the thumbnails.
// With policy.decode_images false the decode is lenient, as
// make_thumbnails_file's. Empty `specs`: validation only. Invalid specs give
// invalid_argument before the file is read. With thumbnails, info.thumbhash
// and info.phash are computed from the smallest thumbnail's raster (see
// image_hashes). `on_validated` (may be empty) is called once the file is
// accepted, before the thumbnails are resampled and encoded (for progress
// reporting). Thread-safe: no shared state; each call owns its buffers.
MS_API Result<ProcessedMedia> process_media_file(const std::string& path, std::string_view filename, MediaKind kind,
                                                 const std::vector<ThumbnailSpec>& specs,
                                                 const ValidationPolicy& policy = ValidationPolicy(),
                                                 RefusalReason* reason = nullptr,
                                                 const std::function<void()>& on_validated = {});
// Same for content in memory (not copied; must outlive the call).
MS_API Result<ProcessedMedia> process_media(std::string_view bytes, std::string_view filename, MediaKind kind,
                                            const std::vector<ThumbnailSpec>& specs,
                                            const ValidationPolicy& policy = ValidationPolicy(),
                                            RefusalReason* reason = nullptr,
                                            const std::function<void()>& on_validated = {});

// Placeholders and near-duplicate detection.
//
// ThumbHash (https://evanw.github.io/thumbhash/): a ~25-byte DCT summary of
// an image from which a client paints a blurred placeholder. Chosen over
// BlurHash because it keeps the aspect ratio and alpha, carries more detail
// in fewer bytes, and needs no component counts chosen by the caller.
// Encoded byte for byte as the reference implementation (the `thumbhash`
// npm package) does on the same RGBA pixels.
//
// The perceptual hash is a pHash: the signs of the 8x8 lowest-frequency DCT
// coefficients of a 32x32 grey version of the image against their median.
// Chosen over dHash because it looks at the whole image's structure rather
// than at neighbouring pixel differences, so re-encoding, rescaling and small
// colour changes move few bits while different photos differ in about half.

// ThumbHash of `width` x `height` RGBA pixels (rows packed, non-premultiplied
// alpha); both sides 1..100. Returns the binary hash (5 to 25 bytes);
// invalid_argument on a bad size or null pixels. Thread-safe.
MS_API Result<std::string> thumbhash_encode(const std::uint8_t* rgba, int width, int height);

// The image a ThumbHash describes, as the reference decoder renders it: at
// most 32 pixels on the longer side, RGBA.
struct ThumbHashImage {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> rgba;  // width*height*4
};
// Decodes a binary ThumbHash; invalid_argument when it is too short for its
// own header. Thread-safe.
MS_API Result<ThumbHashImage> thumbhash_decode(std::string_view hash);

// 64-bit pHash of `width` x `height` RGB pixels (rows packed, sRGB).
// invalid_argument on an empty size or null pixels. Thread-safe.
MS_API Result<std::uint64_t> perceptual_hash(const std::uint8_t* rgb, int width, int height);
// Bits in which two perceptual hashes differ, 0..64.
MS_API int hamming_distance(std::uint64_t a, std::uint64_t b) noexcept;
// Reads the 16 hex digits MediaInfo::phash holds; invalid_argument otherwise.
MS_API Result<std::uint64_t> parse_perceptual_hash(std::string_view hex);
// Distance at or below which two photos count as the same picture
// (re-encoded, rescaled or stripped of metadata). On the Debian wallpapers
// the tests use, such copies are at most 2 apart and different photos at
// least 22.
inline constexpr int kSimilarImageDistance = 10;

struct ImageHashes {
  std::string thumbhash;  // ThumbHash, standard base64 with padding
  std::string phash;      // perceptual_hash as 16 lower-case hex digits
};
// The placeholder and perceptual hash of an RGB image (a photo's smallest
// thumbnail, a video's poster frame): the ThumbHash of the image resampled
// (Lanczos-3) to fit 100x100 (opaque), the pHash of the image. Thread-safe.
MS_API Result<ImageHashes> image_hashes(const std::uint8_t* rgb, int width, int height);

enum class StripMode {
  gps,  // the location: empty the EXIF GPS IFD and take its pointer (0x8825) out of
        // IFD0 (in place, same length, the other tags kept), drop XMP packets
        // naming a place (GPS, City/State/Country, IPTC locations), extended
        // XMP, and a Photoshop/IPTC APP13 with location datasets
  all,  // drop EXIF, XMP, IPTC/Photoshop, comments and every other APPn except
        // JFIF (APP0), ICC profile (APP2) and Adobe (APP14), which decoding needs
};

// Removes metadata from a JPEG without re-encoding: the entropy-coded data is
// copied byte for byte. invalid_argument if `jpeg` is not a JPEG,
// corrupt_media if its segment structure is broken.
MS_API Result<std::string> strip_jpeg_metadata(std::string_view jpeg, StripMode mode);

// Removes the location from a media file without re-encoding it (the
// privacy option Config::strip_location applies to stored originals).
// `type` is what the content is (MediaInfo::type). Reads `in_path`; when it
// holds a location, writes the content without it to `out_path` (through a
// temporary file in the same folder, renamed into place: a failure leaves
// neither) and returns true; when it holds none, writes nothing and returns
// false (the input is the result as it is). What goes, per type:
//  - JPEG: strip_jpeg_metadata(StripMode::gps) (the entropy-coded data is
//    copied byte for byte; orientation, dates and the other EXIF tags kept);
//  - PNG: the GPS of the eXIf chunk (same length, CRC redone), XMP iTXt
//    naming a place or compressed, ImageMagick's "Raw profile type" text;
//  - WebP: the GPS of the EXIF chunk, an XMP chunk naming a place;
//  - HEIC/HEIF/AVIF: the GPS of every image's Exif item and XMP items naming
//    a place (overwritten in place by an empty packet: nothing moves);
//  - MP4/QuickTime/WebM/Matroska: a remux with stream copy (no re-encode)
//    without the container, stream and chapter metadata keys naming a
//    location (containing "location", e.g. "location" for ©xyz/loci and
//    com.apple.quicktime.location.ISO6709, or ending in "ISO6709"); other
//    keys (creation_time, make, model, com.apple.quicktime.creationdate),
//    the display matrix, chapters and faststart are kept. Streams the
//    muxer cannot carry (timed metadata tracks without a codec) are dropped.
//    Location in timed metadata tracks (GoPro GPMF, dashcam GPS) is not
//    looked at;
//  - GIF, BMP: nothing to remove (false).
// Other types: unsupported_media. Malformed structure: corrupt_media;
// a missing input: not_found; unreadable input or unwritable output: io_error; a HEIF location that
// cannot be edited in place: unsupported_media; a video remux past
// `time_budget_ms`: timeout. Every message names `in_path`. Default budget:
// 120 s. Thread-safe (reentrant).
MS_API Result<bool> strip_location_file(const std::string& in_path, const std::string& out_path, MediaType type,
                                        std::uint64_t time_budget_ms = 120'000);

}  // namespace mediastore
