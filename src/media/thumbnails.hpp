// The thumbnail maker's pieces (internal), shared by make_thumbnails and
// process_media, which makes thumbnails from the decode its validation did.
#pragma once

#include <functional>
#include <utility>
#include <vector>

#include "media/decode.hpp"
#include "mediastore/media.hpp"

namespace mediastore::detail {

using MinSizeFn = std::function<std::pair<int, int>(int width, int height, int orientation)>;

// invalid_argument naming the spec when a box or quality is out of range, or
// when there is no spec.
Status check_thumbnail_specs(const std::vector<ThumbnailSpec>& specs);

// The DecodeOptions::min_size that serves `specs`: at least twice the
// largest thumbnail in each direction. Keeps a reference to `specs`, which
// must outlive the decode.
MinSizeFn thumbnail_min_size(const std::vector<ThumbnailSpec>& specs);

// One thumbnail per spec (in spec order) from a decoded image: orientation
// applied, resampled with Lanczos-3, encoded as JPEG. `specs` must have
// passed check_thumbnail_specs and `img` must hold pixels.
Result<std::vector<Thumbnail>> thumbnails_from_image(const DecodedImage& img, const std::vector<ThumbnailSpec>& specs);

}  // namespace mediastore::detail
