// Thumbnail encoders besides JPEG (internal): WebP with libwebp, AVIF with
// libheif's AV1 encoder. Each takes a packed sRGB raster and returns the file.
#pragma once

#include <string>

#include "media/decode.hpp"

namespace mediastore::detail {

// Lossy WebP (VP8), quality 1..100, method 4, no metadata chunks.
Result<std::string> encode_webp(const Raster& image, int quality);

// AVIF: AV1 still image, YCbCr 4:2:0 8-bit (BT.601 matrix, full range), an
// nclx box saying sRGB primaries and transfer, quality 1..100, one encoder
// thread. unsupported_media when libheif has no AV1 encoder.
Result<std::string> encode_avif(const Raster& image, int quality);

}  // namespace mediastore::detail
