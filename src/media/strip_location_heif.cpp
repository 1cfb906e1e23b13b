// Location stripping of HEIF/HEIC/AVIF: libheif cannot rewrite metadata
// without re-encoding, so the items are edited in place: libheif finds each
// image's Exif and XMP items, their bytes are located in the file, and the
// edited bytes (same length) are written over them. Nothing moves, so every
// box offset stays valid.
#include <libheif/heif.h>

#include <cstring>
#include <exception>
#include <new>
#include <vector>

#include <fmt/format.h>

#include "media/exif.hpp"
#include "media/heif_ptr.hpp"
#include "media/strip_location.hpp"

namespace mediastore::detail {
namespace {

constexpr std::size_t kMaxBlock = 16u << 20;

struct Blocks {
  std::vector<std::string> exif;
  std::vector<std::string> xmp;
};

void collect(heif_image_handle* h, std::vector<heif_item_id>& seen, Blocks& out) {
  const int n = heif_image_handle_get_number_of_metadata_blocks(h, nullptr);
  if (n <= 0 || n > 64) return;
  std::vector<heif_item_id> ids(static_cast<std::size_t>(n));
  const int got = heif_image_handle_get_list_of_metadata_block_IDs(h, nullptr, ids.data(), n);
  for (int i = 0; i < got; ++i) {
    const heif_item_id id = ids[static_cast<std::size_t>(i)];
    bool dup = false;
    for (auto s : seen) dup = dup || s == id;
    if (dup) continue;
    seen.push_back(id);
    const char* type = heif_image_handle_get_metadata_type(h, id);
    const char* content = heif_image_handle_get_metadata_content_type(h, id);
    const bool exif = type && std::strcmp(type, "Exif") == 0;
    const bool xmp =
        type && std::strcmp(type, "mime") == 0 && content && std::strcmp(content, "application/rdf+xml") == 0;
    if (!exif && !xmp) continue;
    const std::size_t size = heif_image_handle_get_metadata_size(h, id);
    if (size == 0 || size > kMaxBlock) continue;
    std::string block(size, '\0');
    if (heif_image_handle_get_metadata(h, id, block.data()).code != heif_error_Ok) continue;
    (exif ? out.exif : out.xmp).push_back(std::move(block));
  }
}

Result<Blocks> read_blocks(const std::string& bytes) {
  HeifPtr<heif_context> ctx(heif_context_alloc());
  if (!ctx) return Status::Internal("heif_context_alloc failed");
  heif_error e = heif_context_read_from_memory_without_copy(ctx.get(), bytes.data(), bytes.size(), nullptr);
  if (e.code != heif_error_Ok) return Status::CorruptMedia(fmt::format("invalid HEIF container: {}", e.message));
  const int n = heif_context_get_number_of_top_level_images(ctx.get());
  if (n <= 0 || n > 4096) return Status::CorruptMedia("HEIF without images");
  std::vector<heif_item_id> images(static_cast<std::size_t>(n));
  const int got = heif_context_get_list_of_top_level_image_IDs(ctx.get(), images.data(), n);
  Blocks out;
  std::vector<heif_item_id> seen;
  for (int i = 0; i < got; ++i) {
    heif_image_handle* raw = nullptr;
    if (heif_context_get_image_handle(ctx.get(), images[static_cast<std::size_t>(i)], &raw).code != heif_error_Ok)
      continue;
    HeifPtr<heif_image_handle> h(raw);
    collect(h.get(), seen, out);
    const int nt = heif_image_handle_get_number_of_thumbnails(h.get());
    if (nt <= 0 || nt > 64) continue;
    std::vector<heif_item_id> thumbs(static_cast<std::size_t>(nt));
    const int gt = heif_image_handle_get_list_of_thumbnail_IDs(h.get(), thumbs.data(), nt);
    for (int k = 0; k < gt; ++k) {
      heif_image_handle* tr = nullptr;
      if (heif_image_handle_get_thumbnail(h.get(), thumbs[static_cast<std::size_t>(k)], &tr).code != heif_error_Ok)
        continue;
      HeifPtr<heif_image_handle> th(tr);
      collect(th.get(), seen, out);
    }
  }
  return out;
}

// Writes `edited` over every copy of `original` in `bytes`.
Status patch(std::string& bytes, const std::string& original, const std::string& edited, const char* what) {
  std::size_t pos = bytes.find(original);
  if (pos == std::string::npos)
    return Status::UnsupportedMedia(
        fmt::format("the {} item is not stored in one piece; its location cannot be removed in place", what));
  for (; pos != std::string::npos; pos = bytes.find(original, pos + original.size()))
    std::memcpy(bytes.data() + pos, edited.data(), edited.size());
  return Status::Ok();
}

// An empty XMP packet exactly `size` bytes long (spaces as padding, which
// the XMP specification provides for); only spaces when too short.
std::string empty_xmp(std::size_t size) {
  const std::string head =
      "<?xpacket begin=\"\xEF\xBB\xBF\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>"
      "<x:xmpmeta xmlns:x=\"adobe:ns:meta/\"/>";
  const std::string tail = "<?xpacket end=\"w\"?>";
  if (size < head.size() + tail.size()) return std::string(size, ' ');
  return head + std::string(size - head.size() - tail.size(), ' ') + tail;
}

Result<bool> strip_unguarded(std::string& bytes) {
  auto blocks = read_blocks(bytes);
  if (!blocks) return blocks.status();
  bool changed = false;
  for (const std::string& b : blocks->exif) {
    // The item: a 4-byte big-endian offset to the TIFF header after those
    // 4 bytes (usually 6, past "Exif\0\0").
    if (b.size() < 8) continue;
    auto u = reinterpret_cast<const unsigned char*>(b.data());
    const std::uint64_t off = (std::uint64_t{u[0]} << 24) | (u[1] << 16) | (u[2] << 8) | u[3];
    if (off > b.size() - 4) continue;
    std::size_t start = static_cast<std::size_t>(4 + off);
    if (std::string_view(b).substr(start, 6) == std::string_view("Exif\0\0", 6)) start += 6;
    std::string tiff = b.substr(start);
    if (!clear_exif_gps(tiff)) continue;
    std::string edited = b.substr(0, start) + tiff;
    MS_RETURN_IF_ERROR(patch(bytes, b, edited, "Exif"));
    changed = true;
  }
  for (const std::string& x : blocks->xmp) {
    if (!xmp_has_location(x)) continue;
    MS_RETURN_IF_ERROR(patch(bytes, x, empty_xmp(x.size()), "XMP"));
    changed = true;
  }
  return changed;
}

}  // namespace

Result<bool> strip_heif_location(std::string& bytes) {
  // libheif is C++ behind its C API and may let an exception through.
  try {
    return strip_unguarded(bytes);
  } catch (const std::bad_alloc&) {
    return Status::TooLarge("out of memory reading the HEIF metadata");
  } catch (const std::exception& e) {
    return Status::CorruptMedia(fmt::format("invalid HEIF container: {}", e.what()));
  }
}

}  // namespace mediastore::detail
