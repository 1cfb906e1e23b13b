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

struct ThumbnailSet {
  std::vector<Thumbnail> thumbnails;  // per spec (spec order), its formats in order
  ImageHashes hashes;                 // empty unless asked for
  Raster hashed;                      // the raster the hashes were computed from (with_hashes)
};

// The thumbnails of a decoded image: per spec one resampled raster
// (orientation applied, Lanczos-3), encoded in each of the spec's formats.
// With `with_hashes`, also the ThumbHash and pHash of the smallest raster
// (uncropped, as displayed). `specs` must have passed check_thumbnail_specs
// and `img` must hold pixels.
Result<ThumbnailSet> thumbnails_from_image(const DecodedImage& img, const std::vector<ThumbnailSpec>& specs,
                                           bool with_hashes);

}  // namespace mediastore::detail
