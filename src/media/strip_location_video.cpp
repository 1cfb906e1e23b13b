// Location stripping of videos: a remux with FFmpeg's libraries (stream
// copy, no decoder opened) that leaves out the metadata keys naming a
// location. The input is read through the library's own I/O (Demuxer); the
// output is the caller's temporary file, opened with the file protocol only.
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/dict.h>
#include <libavutil/mem.h>
}

#include <algorithm>
#include <cctype>
#include <vector>

#include <fmt/format.h>

#include "core/log_internal.hpp"
#include "media/strip_location.hpp"
#include "media/video.hpp"

namespace mediastore::detail {
namespace {

bool has_location(const AVDictionary* d) {
  const AVDictionaryEntry* e = nullptr;
  while ((e = av_dict_get(d, "", e, AV_DICT_IGNORE_SUFFIX)))
    if (is_location_key(e->key)) return true;
  return false;
}

// Copies `from` into `*to` without the location keys (and, for MP4/MOV,
// without the ftyp fields the muxer writes itself).
int copy_metadata(const AVDictionary* from, AVDictionary** to, bool skip_brands) {
  const AVDictionaryEntry* e = nullptr;
  while ((e = av_dict_get(from, "", e, AV_DICT_IGNORE_SUFFIX))) {
    const std::string_view k = e->key;
    if (is_location_key(k)) continue;
    if (skip_brands && (k == "major_brand" || k == "minor_version" || k == "compatible_brands")) continue;
    if (int rc = av_dict_set(to, e->key, e->value, 0); rc < 0) return rc;
  }
  return 0;
}

// Keys in reverse-DNS form (com.apple.quicktime.*) are written by the MOV
// muxer only with use_metadata_tags.
bool has_reverse_dns_key(const AVDictionary* d) {
  const AVDictionaryEntry* e = nullptr;
  while ((e = av_dict_get(d, "", e, AV_DICT_IGNORE_SUFFIX)))
    if (!is_location_key(e->key) && std::string_view(e->key).find('.') != std::string_view::npos) return true;
  return false;
}

struct OutputDeleter {
  void operator()(AVFormatContext* oc) const {
    if (oc->pb) avio_closep(&oc->pb);
    avformat_free_context(oc);
  }
};

struct PacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};

Status av_fail(const char* what, int rc) {
  return Status::CorruptMedia(fmt::format("{}: {}", what, av_error_text(rc)));
}

}  // namespace

bool is_location_key(std::string_view key) noexcept {
  std::string k(key);
  std::transform(k.begin(), k.end(), k.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (k.find("location") != std::string::npos) return true;
  if (k == "xyz" || k == "\xc2\xa9xyz") return true;
  return k.size() >= 7 && k.compare(k.size() - 7, 7, "iso6709") == 0;
}

Result<bool> strip_video_location(MediaType type, const std::string& in_path, const std::string& out_path,
                                  std::uint64_t time_budget_ms) {
  const char* muxer = nullptr;
  switch (type) {
    case MediaType::mp4: muxer = "mp4"; break;
    case MediaType::quicktime: muxer = "mov"; break;
    case MediaType::webm: muxer = "webm"; break;
    case MediaType::matroska: muxer = "matroska"; break;
    default: return Status::InvalidArgument(fmt::format("not a video: {}", media_type_description(type)));
  }
  auto in = Input::open_file(in_path);
  if (!in) return in.status();
  Deadline deadline{std::chrono::steady_clock::now() + std::chrono::milliseconds(time_budget_ms)};
  auto dm = Demuxer::open(type, *in, &deadline);
  if (!dm) return dm.status();
  AVFormatContext* ic = (*dm)->ctx();

  bool found = has_location(ic->metadata);
  for (unsigned i = 0; i < ic->nb_streams; ++i) found = found || has_location(ic->streams[i]->metadata);
  for (unsigned i = 0; i < ic->nb_chapters; ++i) found = found || has_location(ic->chapters[i]->metadata);
  if (!found) return false;

  const bool bmff = type == MediaType::mp4 || type == MediaType::quicktime;
  bool faststart = false;
  if (bmff) {
    VideoError ve;
    auto layout = check_container(type, *in, &ve);
    if (!layout) return Status::CorruptMedia(ve.message.empty() ? layout.status().message() : ve.message);
    faststart = layout->moov_first;
  }

  AVFormatContext* raw = nullptr;
  if (int rc = avformat_alloc_output_context2(&raw, nullptr, muxer, nullptr); rc < 0 || !raw)
    return Status::Internal(fmt::format("FFmpeg has no {} muxer", muxer));
  std::unique_ptr<AVFormatContext, OutputDeleter> oc(raw);
  oc->interrupt_callback = ic->interrupt_callback;
  if (int rc = copy_metadata(ic->metadata, &oc->metadata, bmff); rc < 0) return av_fail("copying metadata", rc);
  bool reverse_dns = has_reverse_dns_key(ic->metadata);

  std::vector<int> map(ic->nb_streams, -1);
  for (unsigned i = 0; i < ic->nb_streams; ++i) {
    const AVStream* is = ic->streams[i];
    const AVCodecParameters* par = is->codecpar;
    const bool av = par->codec_type == AVMEDIA_TYPE_VIDEO || par->codec_type == AVMEDIA_TYPE_AUDIO ||
                    par->codec_type == AVMEDIA_TYPE_SUBTITLE;
    if (!av && avformat_query_codec(oc->oformat, par->codec_id, FF_COMPLIANCE_NORMAL) != 1) {
      MS_LOGF(info, "media", {}, "location strip: stream {} ({}) cannot be remuxed into {} and is left out", i,
              av_get_media_type_string(par->codec_type) ? av_get_media_type_string(par->codec_type) : "unknown", muxer);
      continue;
    }
    AVStream* os = avformat_new_stream(oc.get(), nullptr);
    if (!os) return Status::Internal("out of memory for an output stream");
    if (int rc = avcodec_parameters_copy(os->codecpar, par); rc < 0) return av_fail("copying stream parameters", rc);
    // The sample entry (hvc1 vs hev1, ...) is kept where the muxer knows it.
    unsigned tag = 0;
    if (oc->oformat->codec_tag && av_codec_get_id(oc->oformat->codec_tag, par->codec_tag) != par->codec_id &&
        av_codec_get_tag2(oc->oformat->codec_tag, par->codec_id, &tag))
      os->codecpar->codec_tag = 0;
    os->time_base = is->time_base;
    os->avg_frame_rate = is->avg_frame_rate;
    os->r_frame_rate = is->r_frame_rate;
    os->sample_aspect_ratio = is->sample_aspect_ratio;
    os->disposition = is->disposition;
    if (int rc = copy_metadata(is->metadata, &os->metadata, false); rc < 0) return av_fail("copying metadata", rc);
    reverse_dns = reverse_dns || has_reverse_dns_key(is->metadata);
    for (int k = 0; k < is->nb_side_data; ++k) {
      const AVPacketSideData& sd = is->side_data[k];
      std::uint8_t* dst = av_stream_new_side_data(os, sd.type, sd.size);
      if (!dst) return Status::Internal("out of memory for stream side data");
      std::memcpy(dst, sd.data, sd.size);
    }
    map[i] = os->index;
  }
  if (oc->nb_streams == 0) return Status::CorruptMedia("no stream can be remuxed");

  // Chapters, their metadata filtered too (as the ffmpeg program copies them).
  if (ic->nb_chapters > 0) {
    oc->chapters = static_cast<AVChapter**>(av_calloc(ic->nb_chapters, sizeof(AVChapter*)));
    if (!oc->chapters) return Status::Internal("out of memory for chapters");
    for (unsigned i = 0; i < ic->nb_chapters; ++i) {
      const AVChapter* c = ic->chapters[i];
      auto* n = static_cast<AVChapter*>(av_mallocz(sizeof(AVChapter)));
      if (!n) return Status::Internal("out of memory for a chapter");
      oc->chapters[oc->nb_chapters++] = n;
      n->id = c->id;
      n->time_base = c->time_base;
      n->start = c->start;
      n->end = c->end;
      if (int rc = copy_metadata(c->metadata, &n->metadata, false); rc < 0) return av_fail("copying metadata", rc);
    }
  }

  // Our own output file, by the file protocol only (faststart reopens it).
  std::string url("file:");
  url += out_path;
  oc->url = av_strdup(url.c_str());
  oc->protocol_whitelist = av_strdup("file");
  if (!oc->url || !oc->protocol_whitelist) return Status::Internal("out of memory");
  AVDictionary* popts = nullptr;
  av_dict_set(&popts, "protocol_whitelist", "file", 0);
  int rc = avio_open2(&oc->pb, url.c_str(), AVIO_FLAG_WRITE, &oc->interrupt_callback, &popts);
  av_dict_free(&popts);
  if (rc < 0) return Status::IoError(fmt::format("cannot write '{}': {}", out_path, av_error_text(rc)));

  AVDictionary* mopts = nullptr;
  if (bmff) {
    std::string flags;
    if (faststart) flags += "+faststart";
    if (reverse_dns) flags += "+use_metadata_tags";
    if (!flags.empty()) av_dict_set(&mopts, "movflags", flags.c_str(), 0);
  }
  rc = avformat_write_header(oc.get(), &mopts);
  av_dict_free(&mopts);
  if (rc < 0) return av_fail("writing the container header", rc);

  std::unique_ptr<AVPacket, PacketDeleter> pkt(av_packet_alloc());
  if (!pkt) return Status::Internal("out of memory for a packet");
  while (true) {
    rc = av_read_frame(ic, pkt.get());
    if (rc == AVERROR_EOF) break;
    if (rc < 0) {
      if (deadline.expired()) return Status::Timeout("the remux took longer than its time budget");
      return av_fail("reading the video", rc);
    }
    const int si = pkt->stream_index;
    if (si < 0 || static_cast<unsigned>(si) >= ic->nb_streams || map[static_cast<std::size_t>(si)] < 0) {
      av_packet_unref(pkt.get());
      continue;
    }
    const int oi = map[static_cast<std::size_t>(si)];
    av_packet_rescale_ts(pkt.get(), ic->streams[si]->time_base, oc->streams[oi]->time_base);
    pkt->stream_index = oi;
    pkt->pos = -1;
    rc = av_interleaved_write_frame(oc.get(), pkt.get());  // takes the packet's reference
    if (rc < 0) {
      if (deadline.expired()) return Status::Timeout("the remux took longer than its time budget");
      return av_fail("writing the video", rc);
    }
  }
  rc = av_write_trailer(oc.get());
  if (rc < 0) return av_fail("finishing the container", rc);
  rc = avio_closep(&oc->pb);
  if (rc < 0) return Status::IoError(fmt::format("cannot write '{}': {}", out_path, av_error_text(rc)));
  return true;
}

}  // namespace mediastore::detail
