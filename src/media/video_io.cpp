// FFmpeg over the library's own I/O: an AVIOContext reading an Input, the
// one demuxer the content sniffed as, no protocols, bounded probing and an
// interrupt deadline; av_log routed into the library's log.
extern "C" {
#include <libavformat/avformat.h>
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <libavutil/mem.h>
}

#include <cstdarg>
#include <cstdio>
#include <mutex>

#include "core/log_internal.hpp"
#include "media/video.hpp"

namespace mediastore::detail {
namespace {

constexpr int kIoBuffer = 64 * 1024;
constexpr const char* kFormatWhitelist = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm";
// Header probing reads at most this much, and looks at most this far into
// the streams (µs), when FFmpeg gathers stream parameters.
constexpr const char* kProbeSize = "5000000";
constexpr const char* kAnalyzeDuration = "5000000";

void av_log_to_library(void* avcl, int level, const char* format, va_list vl) {
  if (level > AV_LOG_VERBOSE || !log_enabled(LogLevel::debug)) return;
  char line[1024];
  int print_prefix = 1;
  va_list copy;
  va_copy(copy, vl);
  av_log_format_line2(avcl, level, format, copy, line, sizeof line, &print_prefix);
  va_end(copy);
  std::string_view text(line);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.remove_suffix(1);
  if (text.empty()) return;
  MS_LOGF(debug, "media", (std::vector<LogField>{{"ffmpeg_level", std::to_string(level)}}), "ffmpeg: {}", text);
}

int interrupt_cb(void* opaque) { return static_cast<const Deadline*>(opaque)->expired() ? 1 : 0; }

// Nested opens (MOV data references, HLS-style playlists, ...) are refused.
int refuse_io_open(AVFormatContext*, AVIOContext**, const char*, int, AVDictionary**) { return AVERROR(EPERM); }

}  // namespace

struct Demuxer::Io {
  const Input* in = nullptr;
  std::uint64_t pos = 0;

  static int read(void* opaque, std::uint8_t* buf, int size) {
    auto* io = static_cast<Io*>(opaque);
    if (size <= 0) return 0;
    std::size_t n = io->in->read_at(io->pos, buf, static_cast<std::size_t>(size));
    if (n == 0) return AVERROR_EOF;
    io->pos += n;
    return static_cast<int>(n);
  }

  static std::int64_t seek(void* opaque, std::int64_t offset, int whence) {
    auto* io = static_cast<Io*>(opaque);
    const auto size = static_cast<std::int64_t>(io->in->size());
    std::int64_t target = 0;
    switch (whence & ~AVSEEK_FORCE) {
      case AVSEEK_SIZE: return size;
      case SEEK_SET: target = offset; break;
      case SEEK_CUR: target = static_cast<std::int64_t>(io->pos) + offset; break;
      case SEEK_END: target = size + offset; break;
      default: return AVERROR(EINVAL);
    }
    if (target < 0) return AVERROR(EINVAL);
    io->pos = static_cast<std::uint64_t>(target);
    return target;
  }
};

void install_av_log_callback() {
  static std::once_flag once;
  std::call_once(once, [] { av_log_set_callback(av_log_to_library); });
}

std::string av_error_text(int err) {
  char buf[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(err, buf, sizeof buf);
  return buf;
}

const char* ffmpeg_codec_whitelist() {
  // Decoder names (FFmpeg matches its codec_whitelist against them): the
  // accepted video codecs and audio codecs, native and library wrappers.
  return "h264,hevc,vp8,vp9,libvpx,libvpx-vp9,av1,libdav1d,libaom-av1,mpeg4,"
         "aac,aac_fixed,aac_latm,mp3,mp3float,opus,libopus,vorbis,libvorbis,flac,alac,ac3,ac3_fixed,eac3,"
         "pcm_s16le,pcm_s16be,pcm_s24le,pcm_s24be,pcm_s32le,pcm_s32be,pcm_f32le,pcm_f32be";
}

Result<std::unique_ptr<Demuxer>> Demuxer::open(MediaType type, const Input& in, const Deadline* deadline) {
  install_av_log_callback();
  const bool bmff = type == MediaType::mp4 || type == MediaType::quicktime;
  const AVInputFormat* iformat = av_find_input_format(bmff ? "mov" : "matroska");
  if (!iformat) return Status::Internal("FFmpeg has no demuxer for " + std::string(media_type_description(type)));

  std::unique_ptr<Demuxer> d(new Demuxer());
  d->io_ = std::make_unique<Io>();
  d->io_->in = &in;
  auto* buf = static_cast<unsigned char*>(av_malloc(kIoBuffer));
  if (!buf) return Status::Internal("out of memory for the video I/O buffer");
  d->avio_ = avio_alloc_context(buf, kIoBuffer, 0, d->io_.get(), &Io::read, nullptr, &Io::seek);
  if (!d->avio_) {
    av_free(buf);
    return Status::Internal("out of memory for the video I/O context");
  }
  d->fmt_ = avformat_alloc_context();
  if (!d->fmt_) return Status::Internal("out of memory for the video demuxer");
  d->fmt_->pb = d->avio_;
  d->fmt_->flags |= AVFMT_FLAG_CUSTOM_IO;
  d->fmt_->interrupt_callback.callback = interrupt_cb;
  d->fmt_->interrupt_callback.opaque = const_cast<Deadline*>(deadline);
  d->fmt_->io_open = refuse_io_open;

  AVDictionary* opts = nullptr;
  av_dict_set(&opts, "format_whitelist", kFormatWhitelist, 0);
  av_dict_set(&opts, "protocol_whitelist", "none", 0);
  av_dict_set(&opts, "codec_whitelist", ffmpeg_codec_whitelist(), 0);
  av_dict_set(&opts, "probesize", kProbeSize, 0);
  av_dict_set(&opts, "analyzeduration", kAnalyzeDuration, 0);
  av_dict_set(&opts, "max_streams", "32", 0);
  av_dict_set(&opts, "fpsprobesize", "30", 0);
  AVFormatContext* fmt = d->fmt_;
  int rc = avformat_open_input(&fmt, nullptr, iformat, &opts);
  av_dict_free(&opts);
  if (rc < 0) {
    d->fmt_ = nullptr;  // avformat_open_input freed it (the custom AVIOContext stays ours)
    if (deadline && deadline->expired()) return Status::Timeout("opening the video took longer than its time budget");
    return Status::CorruptMedia("cannot open the container: " + av_error_text(rc));
  }
  return d;
}

Demuxer::~Demuxer() {
  if (fmt_) avformat_close_input(&fmt_);
  if (avio_) {
    av_freep(&avio_->buffer);
    avio_context_free(&avio_);
  }
}

}  // namespace mediastore::detail
