#include "media/encode_jpeg.hpp"

// jpeglib.h needs size_t and FILE declared first.
#include <cstddef>
#include <cstdio>

#include <jpeglib.h>

#include <csetjmp>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace mediastore::detail {
namespace {

struct ErrorMgr {
  jpeg_error_mgr pub;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

[[noreturn]] void on_error(j_common_ptr cinfo) {
  auto* err = reinterpret_cast<ErrorMgr*>(cinfo->err);
  (*cinfo->err->format_message)(cinfo, err->message);
  std::longjmp(err->jump, 1);
}
void on_output(j_common_ptr) {}

// No C++ object with a destructor lives in this frame (longjmp).
bool run(const Raster* image, int quality, bool progressive, unsigned char** buf, unsigned long* size, char* msg) {
  jpeg_compress_struct cinfo;
  ErrorMgr err;
  std::memset(&cinfo, 0, sizeof cinfo);
  cinfo.err = jpeg_std_error(&err.pub);
  err.pub.error_exit = on_error;
  err.pub.output_message = on_output;
  if (setjmp(err.jump)) {
    std::memcpy(msg, err.message, JMSG_LENGTH_MAX);
    jpeg_destroy_compress(&cinfo);
    return false;
  }
  jpeg_create_compress(&cinfo);
  jpeg_mem_dest(&cinfo, buf, size);
  cinfo.image_width = static_cast<JDIMENSION>(image->width);
  cinfo.image_height = static_cast<JDIMENSION>(image->height);
  cinfo.input_components = 3;
  cinfo.in_color_space = JCS_RGB;
  jpeg_set_defaults(&cinfo);
  jpeg_set_quality(&cinfo, quality, TRUE);
  cinfo.optimize_coding = TRUE;
  cinfo.dct_method = JDCT_ISLOW;
  if (progressive) jpeg_simple_progression(&cinfo);
  jpeg_start_compress(&cinfo, TRUE);
  const std::size_t line = static_cast<std::size_t>(image->width) * 3;
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = const_cast<JSAMPROW>(image->rgb.data() + cinfo.next_scanline * line);
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  return true;
}

}  // namespace

Result<std::string> encode_jpeg(const Raster& image, int quality, bool progressive) {
  if (image.width <= 0 || image.height <= 0 ||
      image.rgb.size() != static_cast<std::size_t>(image.width) * image.height * 3)
    return Status::InvalidArgument("encode_jpeg: empty or inconsistent raster");
  if (quality < 1 || quality > 100) return Status::InvalidArgument("JPEG quality must be 1..100");
  unsigned char* buf = nullptr;
  unsigned long size = 0;
  char msg[JMSG_LENGTH_MAX] = {};
  bool ok = run(&image, quality, progressive, &buf, &size, msg);
  std::string out;
  if (ok) out.assign(reinterpret_cast<const char*>(buf), size);
  std::free(buf);
  if (!ok) return Status::Internal(std::string("JPEG encoding failed: ") + msg);
  return out;
}

}  // namespace mediastore::detail
