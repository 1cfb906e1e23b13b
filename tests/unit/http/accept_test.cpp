// Thumbnail format negotiation from the Accept header (src/http/accept.cpp).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "http/accept.hpp"

using namespace mediastore;
using mediastore::detail::accepted_thumbnail_formats;

namespace {

std::vector<ThumbnailFormat> of(const std::string& accept) { return accepted_thumbnail_formats(&accept); }

const std::vector<ThumbnailFormat> kJpeg{ThumbnailFormat::jpeg};
const std::vector<ThumbnailFormat> kWebp{ThumbnailFormat::webp, ThumbnailFormat::jpeg};
const std::vector<ThumbnailFormat> kAll{ThumbnailFormat::avif, ThumbnailFormat::webp, ThumbnailFormat::jpeg};

}  // namespace

TEST_CASE("accept: AVIF and WebP only when named; JPEG always, last") {
  CHECK(accepted_thumbnail_formats(nullptr) == kJpeg);
  CHECK(of("") == kJpeg);
  CHECK(of("*/*") == kJpeg);
  CHECK(of("image/*") == kJpeg);
  CHECK(of("application/json") == kJpeg);
  CHECK(of("image/webp") == kWebp);
  CHECK(of("image/webp,*/*") == kWebp);
  // Chrome's and Firefox's image Accept headers.
  CHECK(of("image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8") == kAll);
  CHECK(of("image/avif,image/webp,*/*") == kAll);
  // AVIF first whatever the order or the q values of the two.
  CHECK(of("image/webp;q=1, image/avif;q=0.5") == kAll);
  CHECK(of(" IMAGE/AVIF ; Q=0.9 , Image/WebP") == kAll);
}

TEST_CASE("accept: q=0 refuses a format; malformed q values count as accepting") {
  CHECK(of("image/avif;q=0, image/webp") == kWebp);
  CHECK(of("image/avif;q=0.000,image/webp;q=0") == kJpeg);
  CHECK(of("image/avif;q=0.001").front() == ThumbnailFormat::avif);
  CHECK(of("image/avif;q=zero").front() == ThumbnailFormat::avif);
  CHECK(of("image/avif;level=1;q=0") == std::vector<ThumbnailFormat>{ThumbnailFormat::jpeg});
  CHECK(of("image/avifx, image/web, ;;,,") == kJpeg);
  // Listed twice, once refused: the other entry counts.
  CHECK(of("image/webp;q=0, image/webp;q=0.5") == kWebp);
}
