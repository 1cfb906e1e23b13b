// JPEG decoding with libjpeg-turbo through the libjpeg API: DCT-domain scaled
// decoding (1/8, 1/4, 1/2 or 1), CMYK/YCCK and greyscale converted to RGB.
// jpeglib.h needs size_t and FILE declared first.
#include <cstddef>
#include <cstdio>

#include <jpeglib.h>
// After jpeglib.h: the message codes.
#include <jerror.h>

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "media/decode.hpp"

namespace mediastore::detail {
namespace {

constexpr int kMaxScans = 1000;  // progressive files with more scans are hostile (CPU exhaustion)
constexpr long kMaxLibjpegMemory = 1L << 30;

struct ErrorMgr {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
  bool warnings_fatal = false;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void on_error(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<ErrorMgr*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}

void on_message(j_common_ptr cinfo, int level) {
  auto* err = reinterpret_cast<ErrorMgr*>(cinfo->err);
  if (level < 0) {
    // These warnings mean damaged image data (libjpeg fills in grey and
    // carries on); the others (unknown JFIF revision, Adobe transform code,
    // a bad ICC marker) do not affect the pixels.
    const int code = cinfo->err->msg_code;
    const bool damaged = code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER || code == JWRN_HUFF_BAD_CODE ||
                         code == JWRN_ARITH_BAD_CODE || code == JWRN_MUST_RESYNC || code == JWRN_EXTRANEOUS_DATA ||
                         code == JWRN_BOGUS_PROGRESSION || code == JWRN_NOT_SEQUENTIAL;
    if (err->warnings_fatal && damaged) {
      (*cinfo->err->format_message)(cinfo, err->message);
      std::longjmp(err->jump, 1);
    }
    cinfo->err->num_warnings++;
  }
}

void on_output(j_common_ptr) {}

struct Progress {
  jpeg_progress_mgr pub;
};

void on_progress(j_common_ptr cinfo) {
  auto* d = reinterpret_cast<j_decompress_ptr>(cinfo);
  if (d->input_scan_number > kMaxScans) {
    auto* err = reinterpret_cast<ErrorMgr*>(cinfo->err);
    std::snprintf(err->message, sizeof err->message, "more than %d progressive scans", kMaxScans);
    std::longjmp(err->jump, 1);
  }
}

void cmyk_to_rgb(const JSAMPLE* in, std::uint8_t* out, int width, bool inverted) {
  for (int x = 0; x < width; ++x, in += 4, out += 3) {
    unsigned c = in[0], m = in[1], y = in[2], k = in[3];
    if (!inverted) {  // plain CMYK: 0 = no ink
      c = 255 - c;
      m = 255 - m;
      y = 255 - y;
      k = 255 - k;
    }
    // Adobe files store inverted values: R = C*K/255 with C, K as stored.
    out[0] = static_cast<std::uint8_t>((c * k + 127) / 255);
    out[1] = static_cast<std::uint8_t>((m * k + 127) / 255);
    out[2] = static_cast<std::uint8_t>((y * k + 127) / 255);
  }
}

// Joins the ICC_PROFILE chunks among the saved APP2 markers into *icc (ICC.1
// annex B.4: "ICC_PROFILE\0", sequence number from 1, chunk count, data).
// Leaves *icc empty when the chunks are missing, repeated or inconsistent.
// Called between libjpeg calls; holds nothing with a destructor itself.
void assemble_icc(jpeg_saved_marker_ptr list, std::string* icc) {
  constexpr unsigned kHeader = 14;
  const JOCTET* data[256] = {};
  unsigned length[256] = {};
  unsigned count = 0;
  for (jpeg_saved_marker_ptr m = list; m; m = m->next) {
    if (m->marker != JPEG_APP0 + 2 || m->data_length < kHeader || std::memcmp(m->data, "ICC_PROFILE\0", 12) != 0)
      continue;
    const unsigned seq = m->data[12], n = m->data[13];
    if (n == 0 || seq == 0 || seq > n || (count != 0 && n != count) || data[seq - 1]) return;
    count = n;
    data[seq - 1] = m->data + kHeader;
    length[seq - 1] = m->data_length - kHeader;
  }
  std::size_t total = 0;
  for (unsigned i = 0; i < count; ++i) {
    if (!data[i]) return;
    total += length[i];
  }
  icc->reserve(total);
  for (unsigned i = 0; i < count; ++i) icc->append(reinterpret_cast<const char*>(data[i]), length[i]);
}

// A file source with a large buffer. libjpeg-turbo's fast Huffman decoder
// runs only while the buffer holds a worst-case MCU (512 bytes per block:
// 3 KiB for 4:2:0), so jpeg_stdio_src's 4 KiB buffer sent about three
// quarters of every file through the slow decoder; with 128 KiB it is ~2 %.
// Same end-of-file behaviour as jpeg_stdio_src: an empty file is an error, a
// short one gets a JWRN_JPEG_EOF warning and a fake EOI.
// A header-only probe reads far less: 16 KiB.
constexpr std::size_t kFileBuffer = 128 * 1024;
constexpr std::size_t kHeaderFileBuffer = 16 * 1024;

struct FileSource {
  jpeg_source_mgr pub;
  std::FILE* file;
  JOCTET* buffer;
  std::size_t capacity;
  bool at_start;
};

void file_init(j_decompress_ptr cinfo) { reinterpret_cast<FileSource*>(cinfo->src)->at_start = true; }

boolean file_fill(j_decompress_ptr cinfo) {
  auto* src = reinterpret_cast<FileSource*>(cinfo->src);
  std::size_t n = std::fread(src->buffer, 1, src->capacity, src->file);
  if (n == 0) {
    if (src->at_start) ERREXIT(cinfo, JERR_INPUT_EMPTY);
    WARNMS(cinfo, JWRN_JPEG_EOF);
    src->buffer[0] = 0xFF;
    src->buffer[1] = JPEG_EOI;
    n = 2;
  }
  src->pub.next_input_byte = src->buffer;
  src->pub.bytes_in_buffer = n;
  src->at_start = false;
  return TRUE;
}

void file_skip(j_decompress_ptr cinfo, long count) {
  if (count <= 0) return;
  auto* src = reinterpret_cast<FileSource*>(cinfo->src);
  auto left = static_cast<std::size_t>(count);
  while (left > src->pub.bytes_in_buffer) {
    left -= src->pub.bytes_in_buffer;
    file_fill(cinfo);  // a short file ends in a fake EOI: the loop ends
  }
  src->pub.next_input_byte += left;
  src->pub.bytes_in_buffer -= left;
}

void file_term(j_decompress_ptr) {}

void use_file_source(j_decompress_ptr cinfo, FileSource* src, std::FILE* file, std::vector<JOCTET>& buffer) {
  src->pub.init_source = file_init;
  src->pub.fill_input_buffer = file_fill;
  src->pub.skip_input_data = file_skip;
  src->pub.resync_to_restart = jpeg_resync_to_restart;
  src->pub.term_source = file_term;
  src->pub.bytes_in_buffer = 0;
  src->pub.next_input_byte = nullptr;
  src->file = file;
  src->buffer = buffer.data();
  src->capacity = buffer.size();
  src->at_start = true;
  cinfo->src = &src->pub;
}

enum class Stage { header, full };

// Buffers the decoder needs, owned by the caller (see run()).
struct Scratch {
  std::vector<JSAMPLE> row;
  std::vector<JOCTET> input;
};

// Everything with a destructor lives in `out`/`msg`, outside this frame, so
// that longjmp skips no destructor.
bool run(const Input& in, const DecodeOptions* opt, Stage stage, DecodedImage* out, std::string* msg,
         Scratch* scratch) {
  std::vector<JSAMPLE>* row = &scratch->row;
  if (in.is_file()) scratch->input.resize(stage == Stage::header ? kHeaderFileBuffer : kFileBuffer);
  jpeg_decompress_struct cinfo;
  FileSource file_source;
  ErrorMgr err;
  Progress progress;
  std::memset(&cinfo, 0, sizeof cinfo);
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = on_error;
  err.pub.emit_message = on_message;
  err.pub.output_message = on_output;
  err.warnings_fatal = opt && opt->strict;
  err.message[0] = '\0';
  if (setjmp(err.jump)) {
    *msg = err.message;
    jpeg_destroy_decompress(&cinfo);
    return false;
  }
  jpeg_create_decompress(&cinfo);
  cinfo.mem->max_memory_to_use = kMaxLibjpegMemory;
  progress.pub.progress_monitor = on_progress;
  cinfo.progress = &progress.pub;
  if (in.is_file()) {
    std::rewind(in.file());
    use_file_source(&cinfo, &file_source, in.file(), scratch->input);
  } else {
    jpeg_mem_src(&cinfo, reinterpret_cast<const unsigned char*>(in.memory().data()),
                 static_cast<unsigned long>(in.memory().size()));
  }
  if (stage == Stage::full) {
    jpeg_save_markers(&cinfo, JPEG_APP0 + 1, 0xFFFF);
    jpeg_save_markers(&cinfo, JPEG_APP0 + 2, 0xFFFF);  // ICC profile
  }
  if (stage == Stage::full && opt->strict) {
    // Comments and application segments are where a polyglot hides its markup.
    jpeg_save_markers(&cinfo, JPEG_COM, 0xFFFF);
    for (int m = 0; m < 16; ++m)
      if (m != 1) jpeg_save_markers(&cinfo, JPEG_APP0 + m, 0xFFFF);
  }
  jpeg_read_header(&cinfo, TRUE);
  out->full_width = static_cast<int>(cinfo.image_width);
  out->full_height = static_cast<int>(cinfo.image_height);
  if (stage == Stage::header) {
    jpeg_destroy_decompress(&cinfo);
    return true;
  }
  {  // scoped: nothing with a destructor may be alive when libjpeg longjmps
    Status limit = check_pixel_limit(out->full_width, out->full_height, opt->max_pixels);
    if (!limit.ok()) {
      *msg = "!" + limit.message();  // '!' marks a limit refusal for the caller
      jpeg_destroy_decompress(&cinfo);
      return false;
    }
  }
  bool have_exif = false;
  for (jpeg_saved_marker_ptr m = cinfo.marker_list; m; m = m->next) {
    const char* data = reinterpret_cast<const char*>(m->data);
    if (opt->strict) out->metadata_text.append(data, m->data_length);
    if (m->marker != JPEG_APP0 + 1 || have_exif) continue;
    if (m->data_length >= 6 && std::memcmp(data, "Exif\0\0", 6) == 0) {
      out->exif = parse_exif_payload(std::string_view(data, m->data_length));
      have_exif = true;
    }
  }

  assemble_icc(cinfo.marker_list, &out->icc);

  const bool cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
  cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
  // The smallest of the scales 1/8, 1/4, 1/2 and 1 whose output still meets
  // the wanted size. Only these have libjpeg-turbo's SIMD IDCTs: the other
  // N/8 run scalar code that is slower than a full decode (5/8 costs 1.2-1.75x
  // 8/8, 7/8 up to 3.5x) and less accurate (one corpus photo resized to 800
  // wide: 38.1 dB from 5/8, 49.2 dB from 4/8; docs/benchmarks.md).
  int want_w = 0, want_h = 0;
  if (!opt->keep_pixels) {
    want_w = want_h = 1;
  } else if (opt->min_size) {
    auto [w, h] = opt->min_size(out->full_width, out->full_height, out->exif.orientation);
    want_w = w;
    want_h = h;
  }
  cinfo.scale_denom = 8;
  cinfo.scale_num = 8;
  if (want_w > 0 || want_h > 0) {
    for (unsigned num = 1; num <= 8; num *= 2) {
      cinfo.scale_num = num;
      jpeg_calc_output_dimensions(&cinfo);
      if (static_cast<int>(cinfo.output_width) >= want_w && static_cast<int>(cinfo.output_height) >= want_h) break;
    }
  }
  jpeg_start_decompress(&cinfo);
  const int w = static_cast<int>(cinfo.output_width), h = static_cast<int>(cinfo.output_height);
  out->raster.width = w;
  out->raster.height = h;
  // Validation keeps one row only; the pixels are not wanted.
  const bool keep = opt->keep_pixels;
  out->raster.rgb.resize(keep ? static_cast<std::size_t>(w) * h * 3 : 0);  // not zeroed: every row is written
  row->resize(static_cast<std::size_t>(w) * cinfo.output_components);
  while (cinfo.output_scanline < cinfo.output_height) {
    std::uint8_t* dst =
        keep ? out->raster.rgb.data() + static_cast<std::size_t>(cinfo.output_scanline) * w * 3 : nullptr;
    if (cmyk || !keep) {
      JSAMPROW r = row->data();
      jpeg_read_scanlines(&cinfo, &r, 1);
      if (cmyk && keep) cmyk_to_rgb(row->data(), dst, w, cinfo.saw_Adobe_marker);
    } else {
      JSAMPROW rows[4];
      unsigned left = cinfo.output_height - cinfo.output_scanline;
      unsigned n = left < 4 ? left : 4;
      for (unsigned i = 0; i < n; ++i) rows[i] = dst + static_cast<std::size_t>(i) * w * 3;
      jpeg_read_scanlines(&cinfo, rows, n);
    }
  }
  jpeg_finish_decompress(&cinfo);
  if (in.is_file()) {
    off_t pos = ftello(in.file());
    if (pos >= 0) out->end_offset = static_cast<std::uint64_t>(pos) - cinfo.src->bytes_in_buffer;
  } else {
    out->end_offset = in.size() - cinfo.src->bytes_in_buffer;
  }
  jpeg_destroy_decompress(&cinfo);
  return true;
}

}  // namespace

Result<std::pair<int, int>> probe_jpeg(const Input& in) {
  DecodedImage img;
  std::string msg;
  Scratch scratch;
  if (!run(in, nullptr, Stage::header, &img, &msg, &scratch))
    return Status::CorruptMedia("invalid JPEG header: " + msg);
  return std::make_pair(img.full_width, img.full_height);
}

Result<DecodedImage> decode_jpeg(const Input& in, const DecodeOptions& opt) {
  DecodedImage img;
  std::string msg;
  Scratch scratch;
  if (!run(in, &opt, Stage::full, &img, &msg, &scratch)) {
    if (!msg.empty() && msg[0] == '!') return Status::TooLarge(msg.substr(1));
    return Status::CorruptMedia("invalid JPEG data: " + msg);
  }
  return img;
}

}  // namespace mediastore::detail
