// Resampling and orientation of RGB rasters (internal).
#pragma once

#include "media/decode.hpp"

namespace mediastore::detail {

// Resamples a w x h RGB image (rows `stride` bytes apart) to dw x dh with a
// separable Lanczos-3 filter (support widened by the scale when shrinking),
// in 14-bit fixed point. Requires dw, dh >= 1.
Raster resize_lanczos3(const std::uint8_t* src, int w, int h, std::size_t stride, int dw, int dh);

// Applies an EXIF orientation (1..8) to a raster; 1 or out of range returns it unchanged.
Raster apply_orientation(Raster in, int orientation);

// Whether an orientation swaps width and height (5..8).
inline bool orientation_swaps(int o) { return o >= 5 && o <= 8; }

}  // namespace mediastore::detail
