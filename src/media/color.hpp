// Colour management for thumbnails (internal), with Little CMS 2.
//
// Thumbnails carry no metadata, so no ICC profile: their pixels must be sRGB.
// Decoders hand over the embedded profile (DecodedImage::icc); the thumbnailer
// converts each resized raster to sRGB before encoding it.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "media/decode.hpp"

namespace mediastore::detail {

// A prepared conversion from one RGB profile to sRGB. Immutable; apply() may
// run on several threads at once.
class SrgbTransform {
 public:
  virtual ~SrgbTransform() = default;
  // Converts 8-bit RGB pixels in place.
  virtual void apply(Raster& r) const = 0;
  // "matrix-shaper" (the fast path of color.cpp) or "lcms2".
  virtual const char* kind() const = 0;
};

// The conversion for the ICC profile bytes `icc`, or null when the pixels are
// to be left as they are: no profile (empty), a profile lcms2 cannot parse,
// one that does not describe RGB data (grey, CMYK, device links), or one that
// is sRGB already (checked by converting a grid of colours: every channel
// within 1 of its input). Never fails; a refused profile is logged at debug.
// Relative colorimetric intent (see color.cpp). Matrix/shaper profiles get a
// table-and-matrix fast path (checked against lcms2 when made); others run
// through lcms2. Results (including null ones) are cached by profile bytes in a small
// process-wide LRU, so a profile repeated across uploads (every iPhone writes
// the same Display P3) is parsed once. Thread-safe.
std::shared_ptr<const SrgbTransform> srgb_transform_for(std::string_view icc);

// As srgb_transform_for, but made anew (not cached); `lcms_only` skips the
// matrix/shaper fast path, so that tests can compare the two. Thread-safe.
std::shared_ptr<const SrgbTransform> make_srgb_transform(std::string_view icc, bool lcms_only);

// srgb_transform_for(icc) applied to `r`; returns whether pixels changed
// (false: left as they are). Never fails. Thread-safe.
bool convert_to_srgb(Raster& r, std::string_view icc);

// Tone curves an nclx colour description (HEIF/AVIF, ISO 23091-2 transfer
// characteristics) can name that an ICC profile can express.
enum class NclxTransfer { srgb, bt709, gamma22, gamma28, linear };

// An ICC profile (bytes) for RGB with the given CIE xy primaries and white
// point and tone curve, for images described by nclx instead of ICC; empty if
// lcms2 refuses the primaries. Thread-safe.
std::string icc_from_primaries(double rx, double ry, double gx, double gy, double bx, double by, double wx, double wy,
                               NclxTransfer transfer);

}  // namespace mediastore::detail
