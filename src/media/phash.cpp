// The perceptual hash (pHash) and the hashes the thumbnailer records.
#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <numbers>

#include <fmt/format.h>

#include "core/crypto.hpp"
#include "media/hashes.hpp"
#include "media/resize.hpp"

namespace mediastore {
namespace {

constexpr int kGrid = 32;  // the grey image the DCT runs on
constexpr int kBand = 8;   // coefficients 1..8 in each direction (DC left out)

std::uint64_t phash_of(const detail::Raster& image) {
  const detail::Raster g = (image.width == kGrid && image.height == kGrid)
                               ? image
                               : detail::resize_lanczos3(image.rgb.data(), image.width, image.height,
                                                         static_cast<std::size_t>(image.width) * 3, kGrid, kGrid);
  std::array<double, kGrid * kGrid> grey{};
  for (int i = 0; i < kGrid * kGrid; ++i)  // BT.601 luma of the sRGB values
    grey[i] = 0.299 * g.rgb[i * 3] + 0.587 * g.rgb[i * 3 + 1] + 0.114 * g.rgb[i * 3 + 2];
  // cos((2x+1) u pi / 2N) for u in 1..kBand.
  std::array<std::array<double, kGrid>, kBand> basis{};
  for (int u = 0; u < kBand; ++u)
    for (int x = 0; x < kGrid; ++x) basis[u][x] = std::cos((2 * x + 1) * (u + 1) * std::numbers::pi / (2 * kGrid));
  // Separable DCT-II restricted to the band: rows first, then columns.
  std::array<std::array<double, kBand>, kGrid> rows{};
  for (int y = 0; y < kGrid; ++y)
    for (int u = 0; u < kBand; ++u) {
      double s = 0;
      for (int x = 0; x < kGrid; ++x) s += grey[y * kGrid + x] * basis[u][x];
      rows[y][u] = s;
    }
  std::array<double, kBand * kBand> coef{};
  for (int v = 0; v < kBand; ++v)
    for (int u = 0; u < kBand; ++u) {
      double s = 0;
      for (int y = 0; y < kGrid; ++y) s += rows[y][u] * basis[v][y];
      coef[v * kBand + u] = s;
    }
  std::array<double, kBand* kBand> sorted = coef;
  std::nth_element(sorted.begin(), sorted.begin() + 32, sorted.end());
  const double hi = sorted[32];
  const double lo = *std::max_element(sorted.begin(), sorted.begin() + 32);
  const double median = (lo + hi) / 2;
  std::uint64_t hash = 0;
  for (int i = 0; i < kBand * kBand; ++i) hash = (hash << 1) | (coef[i] > median ? 1u : 0u);
  return hash;
}

}  // namespace

Result<std::uint64_t> perceptual_hash(const std::uint8_t* rgb, int width, int height) {
  if (!rgb || width < 1 || height < 1) return Status::InvalidArgument("perceptual_hash: empty image");
  detail::Raster r;
  r.width = width;
  r.height = height;
  r.rgb.assign(rgb, rgb + static_cast<std::size_t>(width) * height * 3);
  return phash_of(r);
}

int hamming_distance(std::uint64_t a, std::uint64_t b) noexcept { return std::popcount(a ^ b); }

Result<std::uint64_t> parse_perceptual_hash(std::string_view hex) {
  if (hex.size() != 16 || hex.find_first_not_of("0123456789abcdefABCDEF") != std::string_view::npos)
    return Status::InvalidArgument(fmt::format("a perceptual hash is 16 hex digits, got '{}'", hex));
  std::uint64_t v = 0;
  for (char c : hex) {
    const int d = c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
    v = (v << 4) | static_cast<std::uint64_t>(d);
  }
  return v;
}

Result<ImageHashes> detail::hashes_of(const Raster& image) {
  if (image.width < 1 || image.height < 1) return Status::InvalidArgument("image_hashes: empty image");
  int w = 0, h = 0;
  const auto rgba = thumbhash_input(image, &w, &h);
  auto th = thumbhash_encode(rgba.data(), w, h);
  if (!th) return th.status();
  ImageHashes out;
  out.thumbhash = base64_encode(*th);
  out.phash = fmt::format("{:016x}", phash_of(image));
  return out;
}

Result<ImageHashes> image_hashes(const std::uint8_t* rgb, int width, int height) {
  if (!rgb || width < 1 || height < 1) return Status::InvalidArgument("image_hashes: empty image");
  detail::Raster r;
  r.width = width;
  r.height = height;
  r.rgb.assign(rgb, rgb + static_cast<std::size_t>(width) * height * 3);
  return detail::hashes_of(r);
}

}  // namespace mediastore
