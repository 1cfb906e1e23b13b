// Resampling and orientation of RGB rasters (internal).
#pragma once

#include "media/decode.hpp"

namespace mediastore::detail {

// The resampler's inner loops. All give identical output; `automatic` is the
// fastest this CPU runs (AVX-512BW with VNNI, else AVX2, else SSE2 on x86-64,
// else scalar). avx512 differs from avx2 in the vertical pass only.
enum class ResizeKernel { automatic, scalar, sse2, avx2, avx512 };

// Whether this build and CPU can run `kernel`.
bool resize_kernel_available(ResizeKernel kernel);

// Resamples a w x h RGB image (rows `stride` bytes apart) to dw x dh with a
// separable Lanczos-3 filter (support widened by the scale when shrinking),
// in 14-bit fixed point. Requires dw, dh >= 1. An unavailable kernel means
// `automatic`. Thread-safe (filter weights are cached per thread).
Raster resize_lanczos3(const std::uint8_t* src, int w, int h, std::size_t stride, int dw, int dh,
                       ResizeKernel kernel = ResizeKernel::automatic);

// Applies an EXIF orientation (1..8) to a raster; 1 or out of range returns it unchanged.
Raster apply_orientation(Raster in, int orientation);

// Whether an orientation swaps width and height (5..8).
inline bool orientation_swaps(int o) { return o >= 5 && o <= 8; }

}  // namespace mediastore::detail
