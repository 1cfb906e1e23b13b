// Probing a video: container structure, streams against the codec
// whitelist, the pixel and duration limits from the declared parameters
// (before anything is decoded), metadata, then the poster frame.
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/display.h>
#include <libavutil/pixdesc.h>
}

#include <algorithm>
#include <cctype>
#include <cmath>

#include <fmt/format.h>

#include "media/video.hpp"

namespace mediastore::detail {
namespace {

bool video_codec_accepted(AVCodecID id) {
  switch (id) {
    case AV_CODEC_ID_H264:
    case AV_CODEC_ID_HEVC:
    case AV_CODEC_ID_VP8:
    case AV_CODEC_ID_VP9:
    case AV_CODEC_ID_AV1:
    case AV_CODEC_ID_MPEG4: return true;
    default: return false;
  }
}

bool audio_codec_accepted(AVCodecID id) {
  switch (id) {
    case AV_CODEC_ID_AAC:
    case AV_CODEC_ID_AAC_LATM:
    case AV_CODEC_ID_MP3:
    case AV_CODEC_ID_OPUS:
    case AV_CODEC_ID_VORBIS:
    case AV_CODEC_ID_FLAC:
    case AV_CODEC_ID_ALAC:
    case AV_CODEC_ID_AC3:
    case AV_CODEC_ID_EAC3:
    case AV_CODEC_ID_PCM_S16LE:
    case AV_CODEC_ID_PCM_S16BE:
    case AV_CODEC_ID_PCM_S24LE:
    case AV_CODEC_ID_PCM_S24BE:
    case AV_CODEC_ID_PCM_S32LE:
    case AV_CODEC_ID_PCM_S32BE:
    case AV_CODEC_ID_PCM_F32LE:
    case AV_CODEC_ID_PCM_F32BE: return true;
    default: return false;
  }
}

const char* container_name(MediaType type) {
  switch (type) {
    case MediaType::mp4: return "mp4";
    case MediaType::quicktime: return "quicktime";
    case MediaType::webm: return "webm";
    default: return "matroska";
  }
}

// Clockwise degrees to display, as FFmpeg's own autorotation reads the
// display matrix (the inverse of av_display_rotation_get, snapped to 90°).
int rotation_of(const AVStream* st) {
  const std::uint8_t* m = av_stream_get_side_data(st, AV_PKT_DATA_DISPLAYMATRIX, nullptr);
  if (!m) return 0;
  const double ccw = av_display_rotation_get(reinterpret_cast<const std::int32_t*>(m));
  if (std::isnan(ccw)) return 0;
  long theta = std::lround(-ccw / 90.0) * 90;
  theta %= 360;
  if (theta < 0) theta += 360;
  return static_cast<int>(theta);
}

int orientation_for_rotation(int rotation) {
  switch (rotation) {
    case 90: return 6;
    case 180: return 3;
    case 270: return 8;
    default: return 1;
  }
}

std::string dict_get(const AVDictionary* d, const char* key) {
  const AVDictionaryEntry* e = av_dict_get(d, key, nullptr, 0);
  return e && e->value ? e->value : "";
}

// "2023-05-01T12:34:56+0200" / "2023-05-01T10:34:56.000000Z" -> "2023:05:01 12:34:56".
std::string exif_time(const std::string& iso) {
  if (iso.size() < 19) return "";
  static constexpr const char* kShape = "dddd-dd-ddTdd:dd:dd";
  std::string out = iso.substr(0, 19);
  for (int i = 0; i < 19; ++i) {
    const char want = kShape[i];
    const char c = out[static_cast<std::size_t>(i)];
    if (want == 'd' ? !std::isdigit(static_cast<unsigned char>(c)) : (want == 'T' ? (c != 'T' && c != ' ') : c != want))
      return "";
  }
  out[4] = out[7] = ':';
  out[10] = ' ';
  if (out.compare(0, 4, "0000") == 0 || out.compare(0, 4, "1904") == 0) return "";  // unset QuickTime times
  return out;
}

bool has_location_tag(const AVDictionary* d) {
  const AVDictionaryEntry* e = nullptr;
  while ((e = av_dict_get(d, "", e, AV_DICT_IGNORE_SUFFIX))) {
    std::string key = e->key;
    std::transform(key.begin(), key.end(), key.begin(), [](unsigned char c) { return std::tolower(c); });
    if (key.find("location") != std::string::npos && e->value && e->value[0]) return true;
  }
  return false;
}

std::string name_or_empty(const char* n) {
  if (!n || std::string_view(n) == "unknown" || std::string_view(n) == "reserved") return "";
  return n;
}

}  // namespace

VideoOptions VideoOptions::from_policy(const ValidationPolicy& p) {
  VideoOptions o;
  o.max_pixels = p.max_pixels;
  o.max_duration_ms = p.max_video_duration_ms;
  o.time_budget_ms = p.video_time_budget_ms;
  o.poster_time_ms = p.poster_time_ms;
  o.poster_fraction = p.poster_fraction;
  o.decode_poster = p.decode_images;
  return o;
}

ProbeOutcome probe_video(MediaType type, const Input& in, const VideoOptions& opt) {
  ProbeOutcome out;
  auto fail = [&](RefusalReason r, std::string m) {
    out.ok = false;
    out.error = {r, std::move(m)};
    return out;
  };
  const Deadline deadline{std::chrono::steady_clock::now() + std::chrono::milliseconds(opt.time_budget_ms)};
  auto over_budget = [&] {
    return fail(RefusalReason::corrupt,
                fmt::format("processing took longer than the {} ms budget for a video", opt.time_budget_ms));
  };

  VideoError error{};
  auto layout = check_container(type, in, &error);
  if (!layout) return fail(error.reason, error.message);

  auto demuxer = Demuxer::open(type, in, &deadline);
  if (!demuxer) {
    if (demuxer.status().code() == ErrorCode::timeout) return over_budget();
    return fail(RefusalReason::corrupt, demuxer.status().message());
  }
  AVFormatContext* fmt = (*demuxer)->ctx();

  // Streams: the codecs must be accepted, whatever is decoded later.
  int video = -1;
  const AVStream* audio = nullptr;
  for (unsigned i = 0; i < fmt->nb_streams; ++i) {
    const AVStream* st = fmt->streams[i];
    const AVCodecParameters* par = st->codecpar;
    if (par->codec_type == AVMEDIA_TYPE_VIDEO) {
      if (st->disposition & AV_DISPOSITION_ATTACHED_PIC) continue;  // cover art: never decoded
      if (!video_codec_accepted(par->codec_id))
        return fail(RefusalReason::unsupported_codec,
                    fmt::format("video codec {} is not accepted (accepted: h264, hevc, vp8, vp9, av1, mpeg4)",
                                avcodec_get_name(par->codec_id)));
      if (video < 0) video = static_cast<int>(i);
    } else if (par->codec_type == AVMEDIA_TYPE_AUDIO) {
      if (!audio_codec_accepted(par->codec_id))
        return fail(RefusalReason::unsupported_codec,
                    fmt::format("audio codec {} is not accepted", avcodec_get_name(par->codec_id)));
      if (!audio) audio = st;
    }
    // Subtitle, data (timecode, Apple metadata) and attachment streams are never decoded.
  }
  if (video < 0) {
    if (audio)
      return fail(RefusalReason::no_video_stream, fmt::format("no video stream: the file holds {} audio only",
                                                              avcodec_get_name(audio->codecpar->codec_id)));
    return fail(RefusalReason::no_video_stream, "no video stream");
  }
  AVStream* vst = fmt->streams[video];

  // Limits from the declared parameters, before anything is decoded.
  const AVCodecParameters* par = vst->codecpar;
  Status limit = check_pixel_limit(par->width, par->height, opt.max_pixels);
  if (!limit.ok())
    return fail(limit.code() == ErrorCode::too_large ? RefusalReason::too_many_pixels : RefusalReason::corrupt,
                "video stream: " + limit.message());
  std::int64_t duration_us = fmt->duration;
  if (duration_us == AV_NOPTS_VALUE || duration_us < 0) {
    duration_us = 0;
    if (vst->duration != AV_NOPTS_VALUE && vst->duration > 0)
      duration_us = av_rescale_q(vst->duration, vst->time_base, AVRational{1, AV_TIME_BASE});
  }
  const auto duration_ms = static_cast<std::uint64_t>(duration_us / 1000);
  if (duration_ms > opt.max_duration_ms)
    return fail(RefusalReason::too_long, fmt::format("{:.1f} min exceeds the {:.1f} min limit for videos",
                                                     static_cast<double>(duration_ms) / 60000.0,
                                                     static_cast<double>(opt.max_duration_ms) / 60000.0));
  if (!check_sample_ranges(fmt, in, *layout, &error)) return fail(error.reason, error.message);

  // Stream parameters FFmpeg only learns from the data (profile, pixel
  // format, frame rate), with the whitelisted decoders, single-threaded and
  // with the pixel limit.
  std::vector<AVDictionary*> stream_opts(fmt->nb_streams, nullptr);
  for (auto& d : stream_opts) {
    av_dict_set(&d, "threads", "1", 0);
    av_dict_set(&d, "max_pixels", std::to_string(std::min<std::uint64_t>(opt.max_pixels, INT32_MAX)).c_str(), 0);
    av_dict_set(&d, "codec_whitelist", ffmpeg_codec_whitelist(), 0);
  }
  const int info_rc = avformat_find_stream_info(fmt, stream_opts.data());
  for (auto& d : stream_opts) av_dict_free(&d);
  if (deadline.expired()) return over_budget();
  if (info_rc < 0) return fail(RefusalReason::corrupt, "cannot read the streams: " + av_error_text(info_rc));

  ProbedVideo& v = out.video;
  VideoInfo& vi = v.info;
  vi.container = container_name(type);
  vi.video_codec = avcodec_get_name(par->codec_id);
  if (par->codec_tag && (type == MediaType::mp4 || type == MediaType::quicktime)) {
    char tag[AV_FOURCC_MAX_STRING_SIZE] = {};
    av_fourcc_make_string(tag, par->codec_tag);
    vi.codec_tag = tag;
  }
  vi.profile = name_or_empty(avcodec_profile_name(par->codec_id, par->profile));
  const auto pix = static_cast<AVPixelFormat>(par->format);
  if (const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(pix)) {
    vi.pixel_format = desc->name;
    vi.bit_depth = desc->comp[0].depth;
  }
  if (audio) vi.audio_codec = avcodec_get_name(audio->codecpar->codec_id);
  vi.duration_ms = duration_ms;
  vi.rotation = rotation_of(vst);
  AVRational fr = vst->avg_frame_rate.num > 0 && vst->avg_frame_rate.den > 0 ? vst->avg_frame_rate : vst->r_frame_rate;
  if (fr.num > 0 && fr.den > 0) vi.frame_rate = av_q2d(fr);
  if (fmt->bit_rate > 0) vi.bit_rate = static_cast<std::uint64_t>(fmt->bit_rate);
  vi.hdr = par->color_trc == AVCOL_TRC_SMPTE2084 || par->color_trc == AVCOL_TRC_ARIB_STD_B67;
  vi.color_transfer = name_or_empty(av_color_transfer_name(par->color_trc));
  vi.color_primaries = name_or_empty(av_color_primaries_name(par->color_primaries));
  vi.moov_first = layout->moov_first;

  v.width = par->width;
  v.height = par->height;
  v.orientation = orientation_for_rotation(vi.rotation);
  v.capture_time = exif_time(dict_get(fmt->metadata, "com.apple.quicktime.creationdate"));
  if (v.capture_time.empty()) v.capture_time = exif_time(dict_get(fmt->metadata, "creation_time"));
  if (v.capture_time.empty()) v.capture_time = exif_time(dict_get(vst->metadata, "creation_time"));
  v.has_location = has_location_tag(fmt->metadata) || has_location_tag(vst->metadata);

  if (opt.decode_poster) {
    PosterRequest req;
    req.stream_index = video;
    req.duration_ms = duration_ms;
    req.orientation = v.orientation;
    req.options = &opt;
    req.deadline = &deadline;
    if (!decode_poster(fmt, req, &v.poster, &vi, &error)) {
      if (deadline.expired()) return over_budget();
      return fail(error.reason, error.message);
    }
  }
  out.ok = true;
  return out;
}

}  // namespace mediastore::detail
