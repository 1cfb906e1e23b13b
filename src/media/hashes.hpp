// Placeholder and perceptual hashes of decoded rasters (internal).
#pragma once

#include <vector>

#include "media/decode.hpp"
#include "mediastore/media.hpp"

namespace mediastore::detail {

// The largest side of the raster a ThumbHash is computed from.
inline constexpr int kThumbHashMaxSide = 100;

// The RGBA pixels image_hashes() hands to the ThumbHash encoder: `image`
// resampled with Lanczos-3 to fit 100x100 (aspect kept, never upscaled),
// alpha 255. *width / *height receive its size.
std::vector<std::uint8_t> thumbhash_input(const Raster& image, int* width, int* height);

// image_hashes() of a raster.
Result<ImageHashes> hashes_of(const Raster& image);

}  // namespace mediastore::detail
