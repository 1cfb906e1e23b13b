// Image decoders behind one interface (internal). Every decoder produces
// 8-bit RGB with any alpha already composited onto white.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <new>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "media/exif.hpp"
#include "media/input.hpp"
#include "mediastore/media.hpp"

namespace mediastore::detail {

// An allocator whose value-initialisation (vector::resize, vector(n)) leaves
// the bytes uninitialised: pixel buffers are always overwritten completely,
// and zero-filling them first cost 3-5 % of thumbnailing.
template <class T>
struct UninitAllocator : std::allocator<T> {
  using value_type = T;
  UninitAllocator() noexcept = default;
  template <class U>
  UninitAllocator(const UninitAllocator<U>&) noexcept {}  // NOLINT: implicit, as allocators are
  template <class U>
  void construct(U* p) noexcept(std::is_nothrow_default_constructible_v<U>) {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};
using PixelBuffer = std::vector<std::uint8_t, UninitAllocator<std::uint8_t>>;

struct Raster {
  int width = 0;
  int height = 0;
  PixelBuffer rgb;  // width*height*3, rows packed; resize() leaves new bytes uninitialised
};

struct DecodeOptions {
  // Refuse (too_large) when width*height of the header exceeds this, before
  // any pixel memory is allocated.
  std::uint64_t max_pixels = 100'000'000;
  // Given the full stored size and the EXIF orientation, the smallest decoded
  // size wanted, in stored (unrotated) pixels. A decoder that can scale while
  // decoding picks the smallest scale at or above it (JPEG: of 1/8, 1/4, 1/2
  // and 1); others decode at full size. Empty: full size.
  std::function<std::pair<int, int>(int width, int height, int orientation)> min_size;
  // Strict decode, for validation: damaged data that a decoder would paper
  // over (libjpeg fills grey and warns) is an error, and comment/metadata
  // payloads a browser could read as text are collected in metadata_text.
  // Default: false (lenient: the pixels are what matter).
  bool strict = false;
  // Keep the decoded pixels. false: the caller only wants to know the image
  // decodes, so the decoder may use its cheapest complete decode (every byte
  // still parsed) and leaves raster.rgb empty. Default: true.
  bool keep_pixels = true;
};

struct DecodedImage {
  Raster raster;       // possibly scaled (see DecodeOptions::min_size)
  int full_width = 0;  // the stored size from the header
  int full_height = 0;
  ExifData exif;
  bool apply_orientation = true;  // false when the decoder applied it already (HEIF)
  std::uint64_t end_offset = 0;   // where the image data ended (after JPEG EOI / PNG IEND), 0 unknown
  std::string metadata_text;      // strict: comment/metadata payloads a browser could read as text
  std::string icc;                // the embedded ICC profile (bytes) the pixels are in; empty: none (sRGB)
};

// Reads just the header: stored width and height.
Result<std::pair<int, int>> probe_image(MediaType type, const Input& in);
Result<DecodedImage> decode_image(MediaType type, const Input& in, const DecodeOptions& opt);

Result<DecodedImage> decode_jpeg(const Input& in, const DecodeOptions& opt);
Result<std::pair<int, int>> probe_jpeg(const Input& in);
Result<DecodedImage> decode_stb(const Input& in, const DecodeOptions& opt);  // PNG, GIF, BMP
Result<std::pair<int, int>> probe_stb(const Input& in);
Result<DecodedImage> decode_webp(const Input& in, const DecodeOptions& opt);
Result<std::pair<int, int>> probe_webp(const Input& in);
Result<DecodedImage> decode_heif(const Input& in, const DecodeOptions& opt);  // HEIC, HEIF, AVIF
Result<std::pair<int, int>> probe_heif(const Input& in);

// "12000x12000 = 144 MP exceeds the 100 MP limit" or ok.
Status check_pixel_limit(int width, int height, std::uint64_t max_pixels);

// Composites RGBA (or grey+alpha expanded to RGBA) rows onto white into RGB.
void composite_rgba_on_white(const std::uint8_t* rgba, std::uint8_t* rgb, std::size_t pixels);

}  // namespace mediastore::detail
