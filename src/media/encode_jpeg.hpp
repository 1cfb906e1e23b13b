// JPEG encoding with libjpeg-turbo (internal): baseline or progressive,
// YCbCr 4:2:0, optimized Huffman tables, a JFIF header and nothing else.
#pragma once

#include <string>

#include "media/decode.hpp"

namespace mediastore::detail {

Result<std::string> encode_jpeg(const Raster& image, int quality, bool progressive);

}  // namespace mediastore::detail
