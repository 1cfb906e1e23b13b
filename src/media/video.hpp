// Videos with FFmpeg's libraries (internal): strict opening over the
// library's own I/O, container structure checks, metadata and the poster
// frame.
//
//   video_io.cpp        AVIOContext over an Input, whitelisted demuxer, deadline, av_log routing
//   video_validate.cpp  container structure: truncation, sample tables, trailing data
//   video_probe.cpp     streams, codec whitelist, limits, metadata; the entry point probe_video
//   video_poster.cpp    seek, decode one frame, convert to sRGB (HDR tone-mapped)
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "media/decode.hpp"
#include "media/input.hpp"
#include "mediastore/media.hpp"

extern "C" {
struct AVFormatContext;
struct AVIOContext;
struct AVStream;
}

namespace mediastore::detail {

// A refusal: the reason and a message without the file name.
struct VideoError {
  RefusalReason reason;
  std::string message;
};

// What probe_video is asked to do. Defaults are the default policy's.
struct VideoOptions {
  std::uint64_t max_pixels = 100'000'000;
  std::uint64_t max_duration_ms = 600'000;
  std::uint64_t time_budget_ms = 20'000;
  std::uint64_t poster_time_ms = 1000;
  double poster_fraction = 0.1;
  // Decode the poster frame (proves a frame decodes). Default: true.
  bool decode_poster = true;
  // Keep the poster's pixels (for thumbnails). Default: true.
  bool keep_pixels = true;
  // As DecodeOptions::min_size: the smallest raster wanted, in stored pixels.
  std::function<std::pair<int, int>(int width, int height, int orientation)> min_size;

  static VideoOptions from_policy(const ValidationPolicy& policy);
};

struct ProbedVideo {
  VideoInfo info;
  int width = 0;  // coded size of the video stream
  int height = 0;
  int orientation = 1;  // EXIF equivalent of info.rotation
  std::string capture_time;
  bool has_location = false;
  // The poster frame when decoded with keep_pixels: raster (possibly scaled
  // down to min_size, sRGB), full_width/full_height = the frame size,
  // exif.orientation = orientation and apply_orientation = true.
  DecodedImage poster;
};

// Opens, checks and describes a video whose content sniffed as `type`
// (mp4, quicktime, webm or matroska). Never hands a name or URL to FFmpeg.
// Thread-safe (no shared state but the log callback, installed once).
struct ProbeOutcome {
  bool ok = false;
  ProbedVideo video;
  VideoError error;
};
ProbeOutcome probe_video(MediaType type, const Input& in, const VideoOptions& opt);

// --- video_io.cpp -----------------------------------------------------------

// A steady-clock deadline FFmpeg's I/O checks through its interrupt callback.
struct Deadline {
  std::chrono::steady_clock::time_point at;
  bool expired() const { return std::chrono::steady_clock::now() >= at; }
};

// An open demuxer over an Input: custom AVIOContext, the one demuxer the
// content sniffed as (format_whitelist mov/mp4/... and matroska/webm as a
// second fence), no protocols (protocol_whitelist "none" and an io_open that
// refuses every nested open), bounded probesize/analyzeduration, the
// deadline's interrupt callback. Not copyable.
class Demuxer {
 public:
  // Error: the FFmpeg error as text.
  static Result<std::unique_ptr<Demuxer>> open(MediaType type, const Input& in, const Deadline* deadline);
  ~Demuxer();
  Demuxer(const Demuxer&) = delete;
  Demuxer& operator=(const Demuxer&) = delete;
  AVFormatContext* ctx() const { return fmt_; }

 private:
  Demuxer() = default;
  struct Io;
  std::unique_ptr<Io> io_;
  AVIOContext* avio_ = nullptr;
  AVFormatContext* fmt_ = nullptr;
};

// The decoders FFmpeg may open (its codec_whitelist), comma-separated.
const char* ffmpeg_codec_whitelist();

// FFmpeg's error text for an AVERROR code.
std::string av_error_text(int err);

// Routes av_log into the library's log (component "media", level debug);
// installed once per process, idempotent.
void install_av_log_callback();

// --- video_validate.cpp -----------------------------------------------------

// The byte ranges of the media data (MP4 'mdat' payloads) that sample tables
// may point into; empty for Matroska.
struct ContainerLayout {
  std::vector<std::pair<std::uint64_t, std::uint64_t>> media_ranges;  // [begin, end)
  bool moov_first = false;
};

// Walks the top-level structure (ISO-BMFF boxes, the EBML Segment) before
// FFmpeg sees the file: a box or segment running past the end or a missing
// 'moov' is corrupt (truncated); data after the last box that holds markup or
// another file type is dangerous_content; other non-zero data after it is
// corrupt. Markup in metadata boxes (everything but 'mdat') is dangerous too.
Result<ContainerLayout> check_container(MediaType type, const Input& in, VideoError* error);

// Every index entry (sample) of every stream must lie inside the file and,
// for MP4, inside an 'mdat' payload. Returns false and fills *error otherwise.
bool check_sample_ranges(AVFormatContext* fmt, const Input& in, const ContainerLayout& layout, VideoError* error);

// --- video_poster.cpp -------------------------------------------------------

struct PosterRequest {
  int stream_index = 0;
  std::uint64_t duration_ms = 0;
  int orientation = 1;
  const VideoOptions* options = nullptr;
  const Deadline* deadline = nullptr;
};

// Seeks to the poster keyframe, decodes one frame and converts it to sRGB.
// Fills *error (reason corrupt, unsupported_codec or too_many_pixels) and
// returns false on failure.
bool decode_poster(AVFormatContext* fmt, const PosterRequest& req, DecodedImage* out, VideoInfo* info,
                   VideoError* error);

// The HDR-to-SDR operator of the poster (exposed for tests): `nits` relative
// to SDR white (1.0 = 100 cd/m²) in, display-linear 0..1 out, for a signal
// peaking at `peak` (same unit). Hable's filmic curve normalised to the peak.
float tone_map_hable(float x, float peak);

}  // namespace mediastore::detail
