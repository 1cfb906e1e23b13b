// The poster frame: seek, decode one frame cheaply, convert to sRGB.
//
// Seek rule: the first keyframe at or after min(poster_time_ms,
// poster_fraction * duration); when there is none (one keyframe at the
// start), the first frame. The decoder skips the loop filter and
// non-reference frames (the keyframe it stops at is a reference frame), runs
// on one thread and refuses frames above the pixel limit.
//
// Colour: libswscale converts YUV to RGB with the matrix and range the frame
// declares (unspecified: BT.709 from 720 lines up, else BT.601), scaling down
// in the same pass to the size the thumbnails need. SDR BT.709/BT.601 video
// is shown as is (its primaries are sRGB's). Frames with BT.2020 primaries or
// a PQ/HLG transfer go through linear light in floating point:
//   1. linearise: PQ (SMPTE ST 2084) to absolute luminance; HLG (ARIB
//      STD-B67) inverse OETF then the BT.2100 OOTF for a 1000 cd/m² display
//      (system gamma 1.2); SDR wide gamut with the BT.1886 gamma 2.4;
//      everything scaled so that 1.0 is SDR white (100 cd/m²);
//   2. BT.2020 to BT.709 primaries (3x3 matrix in linear light, negatives
//      clipped);
//   3. HDR only: Hable's filmic curve on max(R,G,B), normalised so that the
//      signal peak (MaxCLL, else the mastering display's peak, else
//      1000 cd/m²) maps to 1, the three channels scaled by the same factor
//      (hue kept; FFmpeg's `tonemap=hable:desat=0` does the same);
//   4. the sRGB transfer function, 8 bits.
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/mastering_display_metadata.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>
}

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <memory>

#include <fmt/format.h>

#include "media/video.hpp"

namespace mediastore::detail {
namespace {

constexpr int kMaxPackets = 4096;  // packets fed to the decoder before giving up on a frame

struct CodecCtxFree {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
struct FrameFree {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
struct PacketFree {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
struct SwsFree {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};

const AVCodec* find_decoder(AVCodecID id) {
  // FFmpeg 5.1's native AV1 decoder needs hardware; dav1d decodes in software.
  if (id == AV_CODEC_ID_AV1)
    if (const AVCodec* c = avcodec_find_decoder_by_name("libdav1d")) return c;
  return avcodec_find_decoder(id);
}

int sws_colorspace(AVColorSpace cs, int height) {
  switch (cs) {
    case AVCOL_SPC_BT709: return SWS_CS_ITU709;
    case AVCOL_SPC_FCC: return SWS_CS_FCC;
    case AVCOL_SPC_BT470BG:
    case AVCOL_SPC_SMPTE170M: return SWS_CS_ITU601;
    case AVCOL_SPC_SMPTE240M: return SWS_CS_SMPTE240M;
    case AVCOL_SPC_BT2020_NCL:
    case AVCOL_SPC_BT2020_CL: return SWS_CS_BT2020;
    default: return height >= 720 ? SWS_CS_ITU709 : SWS_CS_ITU601;
  }
}

bool full_range(const AVFrame* f) {
  if (f->color_range == AVCOL_RANGE_JPEG) return true;
  const auto fmt = static_cast<AVPixelFormat>(f->format);
  return fmt == AV_PIX_FMT_YUVJ420P || fmt == AV_PIX_FMT_YUVJ422P || fmt == AV_PIX_FMT_YUVJ444P ||
         fmt == AV_PIX_FMT_YUVJ440P;
}

float pq_to_linear(float e) {  // SMPTE ST 2084 EOTF, cd/m²
  constexpr float m1 = 0.1593017578125f, m2 = 78.84375f, c1 = 0.8359375f, c2 = 18.8515625f, c3 = 18.6875f;
  const float p = std::pow(std::max(e, 0.0f), 1.0f / m2);
  return 10000.0f * std::pow(std::max(p - c1, 0.0f) / (c2 - c3 * p), 1.0f / m1);
}

float hlg_inverse_oetf(float e) {  // ARIB STD-B67, scene light 0..1
  constexpr float a = 0.17883277f, b = 0.28466892f, c = 0.55991073f;
  e = std::clamp(e, 0.0f, 1.0f);
  return e <= 0.5f ? e * e / 3.0f : (std::exp((e - c) / a) + b) / 12.0f;
}

float srgb_oetf(float x) {
  x = std::clamp(x, 0.0f, 1.0f);
  return x <= 0.0031308f ? 12.92f * x : 1.055f * std::pow(x, 1.0f / 2.4f) - 0.055f;
}

float hable(float x) {
  constexpr float A = 0.15f, B = 0.50f, C = 0.10f, D = 0.20f, E = 0.02f, F = 0.30f;
  return (x * (x * A + B * C) + D * E) / (x * (x * A + B) + D * F) - E / F;
}

enum class Transfer { sdr, pq, hlg };

// The signal peak relative to SDR white for PQ: MaxCLL, else the mastering
// display's peak, else 1000 cd/m².
float pq_peak(const AVFrame* f) {
  if (const AVFrameSideData* sd = av_frame_get_side_data(f, AV_FRAME_DATA_CONTENT_LIGHT_LEVEL)) {
    const auto* cll = reinterpret_cast<const AVContentLightMetadata*>(sd->data);
    if (cll->MaxCLL > 0) return static_cast<float>(cll->MaxCLL) / 100.0f;
  }
  if (const AVFrameSideData* sd = av_frame_get_side_data(f, AV_FRAME_DATA_MASTERING_DISPLAY_METADATA)) {
    const auto* md = reinterpret_cast<const AVMasteringDisplayMetadata*>(sd->data);
    if (md->has_luminance && md->max_luminance.den > 0) {
      const double peak = av_q2d(md->max_luminance);
      if (peak > 100) return static_cast<float>(peak / 100.0);
    }
  }
  return 10.0f;
}

// 16-bit RGB (native endian, non-linear) to 8-bit sRGB in linear light: see the top of the file.
void linear_light_to_srgb(const std::uint16_t* src, std::size_t src_stride_px, Raster& out, Transfer trc, bool bt2020,
                          float peak) {
  constexpr int kLut = 4096;
  std::vector<float> lin(kLut);
  for (int i = 0; i < kLut; ++i) {
    const float e = static_cast<float>(i) / (kLut - 1);
    switch (trc) {
      case Transfer::pq: lin[static_cast<std::size_t>(i)] = pq_to_linear(e) / 100.0f; break;
      case Transfer::hlg: lin[static_cast<std::size_t>(i)] = hlg_inverse_oetf(e); break;
      case Transfer::sdr: lin[static_cast<std::size_t>(i)] = std::pow(e, 2.4f); break;
    }
  }
  std::array<std::uint8_t, kLut> enc{};
  for (int i = 0; i < kLut; ++i)
    enc[static_cast<std::size_t>(i)] =
        static_cast<std::uint8_t>(std::lround(255.0f * srgb_oetf(static_cast<float>(i) / (kLut - 1))));
  static constexpr float k2020to709[3][3] = {{1.6604910f, -0.5876411f, -0.0728499f},
                                             {-0.1245505f, 1.1328999f, -0.0083494f},
                                             {-0.0181508f, -0.1005789f, 1.1187297f}};
  const float norm = trc == Transfer::sdr ? 1.0f : 1.0f / hable(peak);
  for (int y = 0; y < out.height; ++y) {
    const std::uint16_t* s = src + static_cast<std::size_t>(y) * src_stride_px;
    std::uint8_t* d = &out.rgb[static_cast<std::size_t>(y) * out.width * 3];
    for (int x = 0; x < out.width; ++x, s += 3, d += 3) {
      float c[3] = {lin[s[0] >> 4], lin[s[1] >> 4], lin[s[2] >> 4]};
      if (trc == Transfer::hlg) {
        // BT.2100 OOTF for a 1000 cd/m² display: Fd = 1000 * Ys^0.2 * E, then /100.
        const float ys = 0.2627f * c[0] + 0.6780f * c[1] + 0.0593f * c[2];
        const float gain = 10.0f * std::pow(std::max(ys, 1e-6f), 0.2f);
        for (float& v : c) v *= gain;
      }
      if (bt2020) {
        float r[3];
        for (int i = 0; i < 3; ++i)
          r[i] = std::max(0.0f, k2020to709[i][0] * c[0] + k2020to709[i][1] * c[1] + k2020to709[i][2] * c[2]);
        std::memcpy(c, r, sizeof r);
      }
      if (trc != Transfer::sdr) {
        const float m = std::max({c[0], c[1], c[2]});
        if (m > 1e-6f) {
          const float scale = hable(m) * norm / m;
          for (float& v : c) v *= scale;
        }
      }
      for (int i = 0; i < 3; ++i)
        d[i] = enc[static_cast<std::size_t>(std::lround(std::clamp(c[i], 0.0f, 1.0f) * (kLut - 1)))];
    }
  }
}

bool convert_frame(const AVFrame* f, const AVCodecParameters* par, const PosterRequest& req, DecodedImage* out,
                   VideoError* error) {
  int dw = f->width, dh = f->height;
  if (req.options->min_size) {
    auto need = req.options->min_size(f->width, f->height, req.orientation);
    dw = std::clamp(need.first, 1, f->width);
    dh = std::clamp(need.second, 1, f->height);
  }
  AVColorTransferCharacteristic trc = f->color_trc != AVCOL_TRC_UNSPECIFIED ? f->color_trc : par->color_trc;
  AVColorPrimaries prim = f->color_primaries != AVCOL_PRI_UNSPECIFIED ? f->color_primaries : par->color_primaries;
  AVColorSpace cs = f->colorspace != AVCOL_SPC_UNSPECIFIED ? f->colorspace : par->color_space;
  const Transfer transfer = trc == AVCOL_TRC_SMPTE2084      ? Transfer::pq
                            : trc == AVCOL_TRC_ARIB_STD_B67 ? Transfer::hlg
                                                            : Transfer::sdr;
  const bool bt2020 = prim == AVCOL_PRI_BT2020;
  const bool linear_path = transfer != Transfer::sdr || bt2020;

  const AVPixelFormat dst_fmt = linear_path ? AV_PIX_FMT_RGB48 : AV_PIX_FMT_RGB24;
  std::unique_ptr<SwsContext, SwsFree> sws(sws_getContext(
      f->width, f->height, static_cast<AVPixelFormat>(f->format), dw, dh, dst_fmt,
      SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT | SWS_FULL_CHR_H_INP, nullptr, nullptr, nullptr));
  if (!sws) {
    const char* name = av_get_pix_fmt_name(static_cast<AVPixelFormat>(f->format));
    *error = {RefusalReason::unsupported_codec,
              fmt::format("cannot convert the pixel format {} to RGB", name ? name : "(unknown)")};
    return false;
  }
  // The matrix and range the stream declares, to full-range RGB. A format
  // without a YUV matrix (RGB) makes this fail harmlessly.
  (void)sws_setColorspaceDetails(sws.get(), sws_getCoefficients(sws_colorspace(cs, f->height)), full_range(f) ? 1 : 0,
                                 sws_getCoefficients(SWS_CS_DEFAULT), 1, 0, 1 << 16, 1 << 16);
  out->raster.width = dw;
  out->raster.height = dh;
  out->raster.rgb.resize(static_cast<std::size_t>(dw) * dh * 3);
  if (!linear_path) {
    std::uint8_t* dst[4] = {out->raster.rgb.data(), nullptr, nullptr, nullptr};
    int stride[4] = {dw * 3, 0, 0, 0};
    sws_scale(sws.get(), f->data, f->linesize, 0, f->height, dst, stride);
  } else {
    std::vector<std::uint16_t> wide(static_cast<std::size_t>(dw) * dh * 3);
    std::uint8_t* dst[4] = {reinterpret_cast<std::uint8_t*>(wide.data()), nullptr, nullptr, nullptr};
    int stride[4] = {dw * 6, 0, 0, 0};
    sws_scale(sws.get(), f->data, f->linesize, 0, f->height, dst, stride);
    linear_light_to_srgb(wide.data(), static_cast<std::size_t>(dw) * 3, out->raster, transfer, bt2020,
                         transfer == Transfer::pq ? pq_peak(f) : 10.0f);
  }
  out->full_width = f->width;
  out->full_height = f->height;
  out->exif.orientation = req.orientation;
  out->apply_orientation = true;
  return true;
}

void seek_to_poster(AVFormatContext* fmt, const PosterRequest& req) {
  AVStream* st = fmt->streams[req.stream_index];
  const auto target_ms =
      static_cast<std::int64_t>(std::min<double>(static_cast<double>(req.options->poster_time_ms),
                                                 req.options->poster_fraction * static_cast<double>(req.duration_ms)));
  const std::int64_t start = st->start_time != AV_NOPTS_VALUE ? st->start_time : 0;
  const std::int64_t ts =
      start + av_rescale_q(std::max<std::int64_t>(target_ms, 0), AVRational{1, 1000}, st->time_base);
  // Forward seek: the first keyframe at or after ts. Without one, the start.
  if (target_ms <= 0 || av_seek_frame(fmt, req.stream_index, ts, 0) < 0)
    (void)av_seek_frame(fmt, req.stream_index, start, AVSEEK_FLAG_BACKWARD);  // already at the start if this fails
}

}  // namespace

float tone_map_hable(float x, float peak) { return hable(x) / hable(peak); }

bool decode_poster(AVFormatContext* fmt, const PosterRequest& req, DecodedImage* out, VideoInfo* info,
                   VideoError* error) {
  AVStream* st = fmt->streams[req.stream_index];
  const AVCodec* codec = find_decoder(st->codecpar->codec_id);
  if (!codec) {
    *error = {RefusalReason::unsupported_codec,
              fmt::format("no decoder for {} in this FFmpeg build", avcodec_get_name(st->codecpar->codec_id))};
    return false;
  }
  std::unique_ptr<AVCodecContext, CodecCtxFree> ctx(avcodec_alloc_context3(codec));
  std::unique_ptr<AVFrame, FrameFree> frame(av_frame_alloc());
  std::unique_ptr<AVPacket, PacketFree> pkt(av_packet_alloc());
  if (!ctx || !frame || !pkt) {
    *error = {RefusalReason::unreadable, "out of memory for the video decoder"};
    return false;
  }
  int rc = avcodec_parameters_to_context(ctx.get(), st->codecpar);
  if (rc < 0) {
    *error = {RefusalReason::corrupt, "invalid codec parameters: " + av_error_text(rc)};
    return false;
  }
  ctx->pkt_timebase = st->time_base;
  ctx->thread_count = 1;
  ctx->max_pixels = static_cast<std::int64_t>(std::min<std::uint64_t>(req.options->max_pixels, INT32_MAX));
  ctx->skip_loop_filter = AVDISCARD_ALL;
  ctx->skip_frame = AVDISCARD_NONREF;
  AVDictionary* opts = nullptr;
  av_dict_set(&opts, "codec_whitelist", ffmpeg_codec_whitelist(), 0);
  rc = avcodec_open2(ctx.get(), codec, &opts);
  av_dict_free(&opts);
  if (rc < 0) {
    *error = {RefusalReason::corrupt, fmt::format("cannot open the {} decoder: {}", codec->name, av_error_text(rc))};
    return false;
  }
  if (info->profile.empty() && ctx->profile != FF_PROFILE_UNKNOWN)
    if (const char* p = avcodec_profile_name(ctx->codec_id, ctx->profile)) info->profile = p;

  seek_to_poster(fmt, req);
  std::string last_error = "no frame in the stream";
  bool got = false, flushed = false;
  for (int packets = 0; !got && packets < kMaxPackets; ++packets) {
    if (req.deadline->expired()) {
      *error = {RefusalReason::corrupt, "decoding took longer than the time budget"};
      return false;
    }
    if (!flushed) {
      rc = av_read_frame(fmt, pkt.get());
      if (rc < 0) {
        if (rc != AVERROR_EOF) last_error = "reading the stream: " + av_error_text(rc);
        flushed = true;
        rc = avcodec_send_packet(ctx.get(), nullptr);
      } else if (pkt->stream_index != req.stream_index) {
        av_packet_unref(pkt.get());
        continue;
      } else {
        rc = avcodec_send_packet(ctx.get(), pkt.get());
        av_packet_unref(pkt.get());
        if (rc < 0 && rc != AVERROR(EAGAIN)) last_error = "decoding: " + av_error_text(rc);
      }
    }
    rc = avcodec_receive_frame(ctx.get(), frame.get());
    if (rc == 0) {
      got = true;
    } else if (rc == AVERROR_EOF || (flushed && rc == AVERROR(EAGAIN))) {
      break;
    } else if (rc != AVERROR(EAGAIN)) {
      last_error = "decoding: " + av_error_text(rc);
    }
  }
  if (!got) {
    *error = {RefusalReason::corrupt, "no video frame could be decoded (" + last_error + ")"};
    return false;
  }
  Status limit = check_pixel_limit(frame->width, frame->height, req.options->max_pixels);
  if (!limit.ok()) {
    *error = {limit.code() == ErrorCode::too_large ? RefusalReason::too_many_pixels : RefusalReason::corrupt,
              "decoded frame: " + limit.message()};
    return false;
  }
  if (const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(static_cast<AVPixelFormat>(frame->format))) {
    if (info->pixel_format.empty()) info->pixel_format = desc->name;
    info->bit_depth = desc->comp[0].depth;
  }
  if (!req.options->keep_pixels) {
    out->full_width = frame->width;
    out->full_height = frame->height;
    return true;
  }
  return convert_frame(frame.get(), st->codecpar, req, out, error);
}

}  // namespace mediastore::detail
