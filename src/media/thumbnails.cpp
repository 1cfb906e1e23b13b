// Thumbnails: one decode (DCT-scaled for JPEG) serves every size.
#include <algorithm>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "media/color.hpp"
#include "media/decode.hpp"
#include "media/encode.hpp"
#include "media/encode_jpeg.hpp"
#include "media/hashes.hpp"
#include "media/resize.hpp"
#include "media/sniff.hpp"
#include "media/thumbnails.hpp"
#include "media/video.hpp"
#include "mediastore/media.hpp"

namespace mediastore {
namespace {

using detail::Raster;

constexpr int kMaxBox = 10000;

struct Plan {
  int resized_w, resized_h;  // the whole image scaled, in displayed orientation
  int out_w, out_h;          // after the crop (cover) or equal (inside)
};

// Never upscales: the scale is capped at 1.
Plan plan_for(const ThumbnailSpec& s, int ow, int oh) {
  const double sx = static_cast<double>(s.width) / ow, sy = static_cast<double>(s.height) / oh;
  double scale = s.fit == FitMode::inside ? std::min(sx, sy) : std::max(sx, sy);
  scale = std::min(scale, 1.0);
  Plan p;
  p.resized_w = std::clamp(static_cast<int>(std::lround(ow * scale)), 1, ow);
  p.resized_h = std::clamp(static_cast<int>(std::lround(oh * scale)), 1, oh);
  p.out_w = s.fit == FitMode::inside ? p.resized_w : std::min(p.resized_w, s.width);
  p.out_h = s.fit == FitMode::inside ? p.resized_h : std::min(p.resized_h, s.height);
  return p;
}

}  // namespace

Status detail::check_thumbnail_specs(const std::vector<ThumbnailSpec>& specs) {
  if (specs.empty()) return Status::InvalidArgument("no thumbnail specs given");
  for (const auto& s : specs) {
    if (s.width <= 0 || s.height <= 0 || s.width > kMaxBox || s.height > kMaxBox)
      return Status::InvalidArgument(
          fmt::format("thumbnail spec '{}': box {}x{} must be 1..{} on each side", s.name, s.width, s.height, kMaxBox));
    if (s.quality < 1 || s.quality > 100)
      return Status::InvalidArgument(fmt::format("thumbnail spec '{}': quality {} must be 1..100", s.name, s.quality));
    if (s.webp_quality < 1 || s.webp_quality > 100)
      return Status::InvalidArgument(
          fmt::format("thumbnail spec '{}': webp_quality {} must be 1..100", s.name, s.webp_quality));
    if (s.avif_quality < 1 || s.avif_quality > 100)
      return Status::InvalidArgument(
          fmt::format("thumbnail spec '{}': avif_quality {} must be 1..100", s.name, s.avif_quality));
    if (s.formats.empty()) return Status::InvalidArgument(fmt::format("thumbnail spec '{}': no formats", s.name));
    for (std::size_t i = 0; i < s.formats.size(); ++i) {
      const ThumbnailFormat f = s.formats[i];
      if (f != ThumbnailFormat::jpeg && f != ThumbnailFormat::webp && f != ThumbnailFormat::avif)
        return Status::InvalidArgument(
            fmt::format("thumbnail spec '{}': unknown format {}", s.name, static_cast<int>(f)));
      if (std::find(s.formats.begin(), s.formats.begin() + static_cast<std::ptrdiff_t>(i), f) !=
          s.formats.begin() + static_cast<std::ptrdiff_t>(i))
        return Status::InvalidArgument(
            fmt::format("thumbnail spec '{}': format {} listed twice", s.name, thumbnail_format_name(f)));
      if (!thumbnail_format_available(f))
        return Status::UnsupportedMedia(
            fmt::format("thumbnail spec '{}': AVIF asked for, but this libheif has no AV1 encoder", s.name));
    }
  }
  return Status::Ok();
}

namespace {

Raster crop_center(const Raster& in, int w, int h) {
  if (w == in.width && h == in.height) return in;
  Raster out;
  out.width = w;
  out.height = h;
  out.rgb.resize(static_cast<std::size_t>(w) * h * 3);
  const int x0 = (in.width - w) / 2, y0 = (in.height - h) / 2;
  for (int y = 0; y < h; ++y)
    std::memcpy(&out.rgb[static_cast<std::size_t>(y) * w * 3],
                &in.rgb[(static_cast<std::size_t>(y + y0) * in.width + x0) * 3], static_cast<std::size_t>(w) * 3);
  return out;
}

}  // namespace

detail::MinSizeFn detail::thumbnail_min_size(const std::vector<ThumbnailSpec>& specs) {
  // Smallest decode that keeps at least twice the pixels of the largest
  // thumbnail in each direction (enough for the Lanczos filter to work on).
  return [&specs](int w, int h, int orientation) {
    const bool swap = detail::orientation_swaps(orientation);
    const int ow = swap ? h : w, oh = swap ? w : h;
    int need_w = 1, need_h = 1;
    for (const auto& s : specs) {
      Plan p = plan_for(s, ow, oh);
      need_w = std::max(need_w, std::min(ow, 2 * p.resized_w));
      need_h = std::max(need_h, std::min(oh, 2 * p.resized_h));
    }
    return swap ? std::make_pair(need_h, need_w) : std::make_pair(need_w, need_h);
  };
}

namespace {

Result<std::string> encode_as(ThumbnailFormat format, const Raster& image, const ThumbnailSpec& s) {
  switch (format) {
    case ThumbnailFormat::jpeg: return detail::encode_jpeg(image, s.quality, s.progressive);
    case ThumbnailFormat::webp: return detail::encode_webp(image, s.webp_quality);
    case ThumbnailFormat::avif: return detail::encode_avif(image, s.avif_quality);
  }
  return Status::InvalidArgument("unknown thumbnail format");
}

}  // namespace

Result<detail::ThumbnailSet> detail::thumbnails_from_image(const DecodedImage& img,
                                                           const std::vector<ThumbnailSpec>& specs, bool with_hashes) {
  const int orientation = img.apply_orientation ? img.exif.orientation : 1;
  const bool swap = detail::orientation_swaps(orientation);
  // Plans are made on the full size so that every decode scale gives the same output size.
  const int full_w = img.apply_orientation ? img.full_width : img.raster.width;
  const int full_h = img.apply_orientation ? img.full_height : img.raster.height;
  const int ow = swap ? full_h : full_w, oh = swap ? full_w : full_h;

  // Largest first, so that each smaller size can be resampled from a larger
  // result that is still at least twice its size (same quality, far fewer
  // filter taps than going back to the decoded raster each time).
  std::vector<std::size_t> order(specs.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto area = [&](std::size_t i) {
    Plan p = plan_for(specs[i], ow, oh);
    return static_cast<std::int64_t>(p.resized_w) * p.resized_h;
  };
  std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return area(x) > area(y); });
  // Thumbnails carry no ICC profile, so pixels in another colour space
  // (Display P3, Adobe RGB) are converted to sRGB: each raster resampled from
  // the decoded one, after resampling (far fewer pixels); the smaller sizes
  // resampled from a converted result are sRGB already. Null: no conversion.
  const auto to_srgb = detail::srgb_transform_for(img.icc);
  std::vector<Raster> resized;  // stored orientation, uncropped
  resized.reserve(specs.size());
  // Per spec, its encodings in the spec's format order.
  std::vector<std::vector<Thumbnail>> per_spec(specs.size());
  for (std::size_t idx : order) {
    const ThumbnailSpec& s = specs[idx];
    Plan p = plan_for(s, ow, oh);
    const int sw = swap ? p.resized_h : p.resized_w, sh = swap ? p.resized_w : p.resized_h;
    const Raster* src = &img.raster;
    for (const Raster& r : resized)
      if ((r.width >= 2 * sw && r.height >= 2 * sh) || (r.width == sw && r.height == sh))
        if (static_cast<std::int64_t>(r.width) * r.height < static_cast<std::int64_t>(src->width) * src->height)
          src = &r;
    Raster r = (sw == src->width && sh == src->height)
                   ? *src
                   : detail::resize_lanczos3(src->rgb.data(), src->width, src->height,
                                             static_cast<std::size_t>(src->width) * 3, sw, sh);
    if (to_srgb && src == &img.raster) to_srgb->apply(r);
    resized.push_back(std::move(r));
    // Copies only when rotating or cropping.
    const Raster* result = &resized.back();
    Raster oriented, cropped;
    if (orientation >= 2 && orientation <= 8) {
      oriented = detail::apply_orientation(*result, orientation);
      result = &oriented;
    }
    if (result->width != p.out_w || result->height != p.out_h) {
      cropped = crop_center(*result, p.out_w, p.out_h);
      result = &cropped;
    }
    // Every format from this one raster: one encode each, no resampling.
    for (ThumbnailFormat f : s.formats) {
      auto bytes = encode_as(f, *result, s);
      if (!bytes)
        return bytes.status().with_context(fmt::format("thumbnail '{}' as {}", s.name, thumbnail_format_name(f)));
      Thumbnail t;
      t.name = s.name;
      t.width = result->width;
      t.height = result->height;
      t.format = f;
      t.extension = thumbnail_format_extension(f);
      t.content_type = thumbnail_format_content_type(f);
      t.bytes = std::move(*bytes);
      if (f == ThumbnailFormat::jpeg) t.jpeg = t.bytes;
      per_spec[idx].push_back(std::move(t));
    }
  }
  ThumbnailSet out;
  for (auto& v : per_spec)
    for (auto& t : v) out.thumbnails.push_back(std::move(t));
  if (with_hashes && !resized.empty()) {
    // The smallest raster (resized is largest first), uncropped, as displayed.
    out.hashed = detail::apply_orientation(resized.back(), orientation);
    auto hashes = detail::hashes_of(out.hashed);
    if (!hashes) return hashes.status();
    out.hashes = std::move(*hashes);
  }
  return out;
}

namespace {

Result<std::vector<Thumbnail>> thumbnails_from(const detail::Input& in, const std::vector<ThumbnailSpec>& specs,
                                               std::uint64_t max_pixels) {
  MS_RETURN_IF_ERROR(detail::check_thumbnail_specs(specs));
  if (in.size() == 0) return Status::InvalidArgument(in.path() + " is empty");
  const MediaType type = sniff_media_type(in.read_string(0, 4096));
  if (media_type_is_video(type)) {
    detail::VideoOptions opt;  // the default policy's budgets
    opt.max_pixels = max_pixels;
    opt.min_size = detail::thumbnail_min_size(specs);
    detail::ProbeOutcome probed = detail::probe_video(type, in, opt);
    if (!probed.ok) return Status(refusal_reason_code(probed.error.reason), in.path() + ": " + probed.error.message);
    auto made = detail::thumbnails_from_image(probed.video.poster, specs, false);
    if (!made) return made.status();
    return std::move(made->thumbnails);
  }
  if (!media_type_is_image(type))
    return Status::UnsupportedMedia(fmt::format("{} is {}, not an image", in.path(), detail::with_article(type)));

  detail::DecodeOptions opt;
  opt.max_pixels = max_pixels;
  opt.min_size = detail::thumbnail_min_size(specs);
  auto decoded = detail::decode_image(type, in, opt);
  if (!decoded) return decoded.status().with_context(in.path());
  auto made = detail::thumbnails_from_image(*decoded, specs, false);
  if (!made) return made.status();
  return std::move(made->thumbnails);
}

}  // namespace

std::vector<ThumbnailSpec> default_thumbnail_specs() {
  return {
      ThumbnailSpec{"small", 150, 150, FitMode::inside, 85, false},
      ThumbnailSpec{"medium", 300, 300, FitMode::inside, 85, false},
      ThumbnailSpec{"large", 800, 600, FitMode::inside, 85, false},
  };
}

std::vector<ThumbnailSpec> thumbnail_specs_from_config(const Config& config) {
  auto specs = default_thumbnail_specs();
  for (auto& s : specs) s.formats = config.thumbnail_formats;
  return specs;
}

Result<std::vector<Thumbnail>> make_thumbnails_file(const std::string& path, const std::vector<ThumbnailSpec>& specs,
                                                    std::uint64_t max_pixels) {
  auto in = detail::Input::open_file(path);
  if (!in) return in.status();
  return thumbnails_from(*in, specs, max_pixels);
}

Result<std::vector<Thumbnail>> make_thumbnails(std::string_view bytes, const std::vector<ThumbnailSpec>& specs,
                                               std::uint64_t max_pixels) {
  return thumbnails_from(detail::Input::from_memory(bytes), specs, max_pixels);
}

}  // namespace mediastore
