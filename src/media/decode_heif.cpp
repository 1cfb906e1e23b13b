// HEIC / HEIF / AVIF through libheif (primary image; libheif applies the
// container's rotation and mirroring, so EXIF orientation is not applied again).
#include <fmt/format.h>
#include <libheif/heif.h>

#include <cstdint>
#include <cstring>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <new>
#include <string_view>
#include <utility>
#include <vector>

#include "core/log_internal.hpp"
#include "media/color.hpp"
#include "media/decode.hpp"
#include "media/heif_ptr.hpp"

namespace mediastore::detail {
namespace {

void init_once() {
  static std::once_flag once;
  std::call_once(once, [] { heif_init(nullptr); });
}

// ---- structure check before libheif sees the file ----
//
// libheif 1.15 (Debian 12) follows the 'dimg' references of derived images
// (grid, iovl, iden) recursively with no depth limit, decoding grid tiles on
// a thread each: a 600-byte file whose grid lists a derived image (or itself)
// as a tile recurses until the stack or the thread limit breaks (found by
// fuzz_media_validate). Real photos (iPhone HEIC) are grids of coded tiles,
// so a derived image used as the input of a derived image is refused here.

std::uint32_t be32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) | p[3];
}
std::uint32_t be16(const unsigned char* p) { return (std::uint32_t{p[0]} << 8) | p[1]; }

struct Box {
  std::uint32_t type = 0;
  std::size_t body = 0;  // offset of the payload
  std::size_t end = 0;   // offset after the box
};

constexpr std::uint32_t fourcc(const char (&s)[5]) {
  return (std::uint32_t(static_cast<unsigned char>(s[0])) << 24) |
         (std::uint32_t(static_cast<unsigned char>(s[1])) << 16) |
         (std::uint32_t(static_cast<unsigned char>(s[2])) << 8) | std::uint32_t(static_cast<unsigned char>(s[3]));
}

// Reads the box at `pos` within [0, limit) of `d`; false when malformed. A
// box claiming more than its parent holds is cut at the parent's end: the
// check below must see every reference libheif may act on, and libheif 1.15
// reads such a 'dimg' box (a fuzzed file whose self-referencing grid hid
// behind one made it start a thread per recursion until thread creation
// failed).
bool read_box(std::string_view d, std::size_t pos, std::size_t limit, Box& box) {
  const auto* u = reinterpret_cast<const unsigned char*>(d.data());
  if (pos + 8 > limit) return false;
  std::uint64_t size = be32(u + pos);
  box.type = be32(u + pos + 4);
  std::size_t header = 8;
  if (size == 1) {
    if (pos + 16 > limit) return false;
    size = (std::uint64_t{be32(u + pos + 8)} << 32) | be32(u + pos + 12);
    header = 16;
  } else if (size == 0) {
    size = limit - pos;
  }
  if (size < header || pos + header > limit) return false;
  if (size > limit - pos) size = limit - pos;
  box.body = pos + header;
  box.end = pos + static_cast<std::size_t>(size);
  return true;
}

Status check_derivations(const Input& in) {
  // Find the top-level 'meta' box by reading box headers only.
  std::uint64_t pos = 0;
  std::string meta;
  while (pos + 8 <= in.size()) {
    std::string head = in.read_string(pos, 16);
    if (head.size() < 8) break;
    Box b;
    std::uint64_t size = be32(reinterpret_cast<const unsigned char*>(head.data()));
    b.type = be32(reinterpret_cast<const unsigned char*>(head.data()) + 4);
    if (size == 1 && head.size() == 16) {
      const auto* u = reinterpret_cast<const unsigned char*>(head.data());
      size = (std::uint64_t{be32(u + 8)} << 32) | be32(u + 12);
    } else if (size == 0) {
      size = in.size() - pos;
    }
    if (size < 8 || size > in.size() - pos) break;  // libheif reports the damage itself
    if (b.type == fourcc("meta")) {
      if (size > (64u << 20)) return Status::UnsupportedMedia("HEIF metadata box larger than 64 MiB");
      meta = in.read_string(pos, static_cast<std::size_t>(size));
      break;
    }
    pos += size;
  }
  if (meta.size() < 12) return Status::Ok();
  const auto* u = reinterpret_cast<const unsigned char*>(meta.data());
  Box top;
  if (!read_box(meta, 0, meta.size(), top)) return Status::Ok();
  std::map<std::uint32_t, std::uint32_t> item_type;                        // item id -> type
  std::vector<std::pair<std::uint32_t, std::vector<std::uint32_t>>> dimg;  // from -> inputs
  for (std::size_t at = top.body + 4; at < top.end;) {                     // meta is a FullBox
    Box child;
    if (!read_box(meta, at, top.end, child)) break;
    if (child.type == fourcc("iinf") && child.body + 4 <= child.end) {
      const unsigned version = u[child.body];
      std::size_t p = child.body + 4 + (version == 0 ? 2 : 4);
      while (p < child.end) {
        Box infe;
        if (!read_box(meta, p, child.end, infe)) break;
        if (infe.type == fourcc("infe") && infe.body + 4 <= infe.end) {
          const unsigned v = u[infe.body];
          std::size_t q = infe.body + 4;
          if (v >= 2) {
            const std::size_t id_len = v == 2 ? 2 : 4;
            if (q + id_len + 2 + 4 <= infe.end) {
              std::uint32_t id = id_len == 2 ? be16(u + q) : be32(u + q);
              item_type[id] = be32(u + q + id_len + 2);
            }
          }
        }
        p = infe.end;
      }
    } else if (child.type == fourcc("iref") && child.body + 4 <= child.end) {
      const std::size_t id_len = u[child.body] == 0 ? 2 : 4;
      std::size_t p = child.body + 4;
      while (p < child.end) {
        Box ref;
        if (!read_box(meta, p, child.end, ref)) break;
        if (ref.type == fourcc("dimg") && ref.body + id_len + 2 <= ref.end) {
          std::size_t q = ref.body;
          auto read_id = [&](std::size_t at_) { return id_len == 2 ? be16(u + at_) : be32(u + at_); };
          std::uint32_t from = read_id(q);
          q += id_len;
          std::uint32_t count = be16(u + q);
          q += 2;
          std::vector<std::uint32_t> to;
          for (std::uint32_t i = 0; i < count && q + id_len <= ref.end; ++i, q += id_len) to.push_back(read_id(q));
          dimg.emplace_back(from, std::move(to));
        }
        p = ref.end;
      }
    }
    at = child.end;
  }
  auto derived = [&](std::uint32_t id) {
    auto it = item_type.find(id);
    if (it == item_type.end()) return false;
    return it->second == fourcc("grid") || it->second == fourcc("iovl") || it->second == fourcc("iden");
  };
  for (const auto& [from, inputs] : dimg) {
    for (std::uint32_t t : inputs) {
      if (t == from || derived(t))
        return Status::UnsupportedMedia(
            "HEIF image derived from another derived image (nested or self-referencing grid) is refused");
    }
  }
  return Status::Ok();
}

// An ICC profile equal to an nclx colour description whose primaries are not
// sRGB's (BT.709; unspecified is taken as BT.709), so that the thumbnailer
// converts it like an embedded ICC profile; empty for BT.709 primaries and for
// transfer functions an ICC profile cannot carry here (PQ, HLG, log): those
// are left as they are.
std::string icc_for_nclx(const heif_color_profile_nclx& nclx) {
  if (nclx.color_primaries == heif_color_primaries_ITU_R_BT_709_5 ||
      nclx.color_primaries == heif_color_primaries_unspecified)
    return "";
  NclxTransfer transfer;
  switch (nclx.transfer_characteristics) {
    case heif_transfer_characteristic_IEC_61966_2_1:
    case heif_transfer_characteristic_unspecified: transfer = NclxTransfer::srgb; break;
    case heif_transfer_characteristic_ITU_R_BT_709_5:
    case heif_transfer_characteristic_ITU_R_BT_601_6:
    case heif_transfer_characteristic_ITU_R_BT_2020_2_10bit:
    case heif_transfer_characteristic_ITU_R_BT_2020_2_12bit: transfer = NclxTransfer::bt709; break;
    case heif_transfer_characteristic_ITU_R_BT_470_6_System_M: transfer = NclxTransfer::gamma22; break;
    case heif_transfer_characteristic_ITU_R_BT_470_6_System_B_G: transfer = NclxTransfer::gamma28; break;
    case heif_transfer_characteristic_linear: transfer = NclxTransfer::linear; break;
    default:
      MS_LOG(debug, "media", "HEIF nclx transfer characteristics {} not converted to sRGB",
             static_cast<int>(nclx.transfer_characteristics));
      return "";
  }
  return icc_from_primaries(nclx.color_primary_red_x, nclx.color_primary_red_y, nclx.color_primary_green_x,
                            nclx.color_primary_green_y, nclx.color_primary_blue_x, nclx.color_primary_blue_y,
                            nclx.color_primary_white_x, nclx.color_primary_white_y, transfer);
}

struct Opened {
  HeifPtr<heif_context> ctx;
  HeifPtr<heif_image_handle> handle;
};

Status heif_status(const heif_error& e, const char* what) {
  if (e.code == heif_error_Ok) return Status::Ok();
  std::string msg = std::string(what) + ": " + (e.message ? e.message : "libheif error");
  if (e.code == heif_error_Unsupported_feature || e.code == heif_error_Unsupported_filetype)
    return Status::UnsupportedMedia(msg);
  if (e.code == heif_error_Memory_allocation_error) return Status::TooLarge(msg);
  return Status::CorruptMedia(msg);
}

Result<Opened> open(const Input& in) {
  init_once();
  MS_RETURN_IF_ERROR(check_derivations(in));
  Opened o;
  o.ctx.reset(heif_context_alloc());
  if (!o.ctx) return Status::Internal("heif_context_alloc failed");
  // Grid tiles decoded on the calling thread: callers bring their own
  // parallelism (worker threads), and a hostile grid cannot make libheif
  // start threads.
  heif_context_set_max_decoding_threads(o.ctx.get(), 0);
  heif_error e = in.is_file() ? heif_context_read_from_file(o.ctx.get(), in.path().c_str(), nullptr)
                              : heif_context_read_from_memory_without_copy(o.ctx.get(), in.memory().data(),
                                                                           in.memory().size(), nullptr);
  MS_RETURN_IF_ERROR(heif_status(e, "invalid HEIF container"));
  heif_image_handle* h = nullptr;
  MS_RETURN_IF_ERROR(heif_status(heif_context_get_primary_image_handle(o.ctx.get(), &h), "no primary image"));
  o.handle.reset(h);
  return o;
}

}  // namespace

namespace {

// libheif is C++ behind its C API and lets some exceptions through (a failed
// thread start, std::bad_alloc): they end as a refusal, never a crash.
template <class F>
auto contained(const char* what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const std::bad_alloc&) {
    return Status::TooLarge(fmt::format("{}: out of memory", what));
  } catch (const std::exception& e) {
    return Status::CorruptMedia(fmt::format("{}: {}", what, e.what()));
  }
}

Result<std::pair<int, int>> probe_heif_unguarded(const Input& in) {
  auto o = open(in);
  if (!o) return o.status();
  return std::make_pair(heif_image_handle_get_width(o->handle.get()), heif_image_handle_get_height(o->handle.get()));
}

Result<DecodedImage> decode_heif_unguarded(const Input& in, const DecodeOptions& opt) {
  auto o = open(in);
  if (!o) return o.status();
  heif_image_handle* handle = o->handle.get();
  const int w = heif_image_handle_get_width(handle), h = heif_image_handle_get_height(handle);
  MS_RETURN_IF_ERROR(check_pixel_limit(w, h, opt.max_pixels));
  DecodedImage img;
  img.full_width = w;
  img.full_height = h;
  img.apply_orientation = false;
  img.end_offset = in.size();

  heif_item_id exif_id = 0;
  if (heif_image_handle_get_list_of_metadata_block_IDs(handle, "Exif", &exif_id, 1) == 1) {
    std::size_t n = heif_image_handle_get_metadata_size(handle, exif_id);
    if (n > 0 && n <= (4u << 20)) {
      std::string block(n, '\0');
      if (heif_image_handle_get_metadata(handle, exif_id, block.data()).code == heif_error_Ok)
        img.exif = parse_exif_payload(block);
    }
  }

  // The colour space: an ICC profile ('prof' or 'rICC'), else nclx.
  const std::size_t icc_size = heif_image_handle_get_raw_color_profile_size(handle);
  if (icc_size > 0 && icc_size <= (4u << 20)) {
    img.icc.resize(icc_size);
    if (heif_image_handle_get_raw_color_profile(handle, img.icc.data()).code != heif_error_Ok) img.icc.clear();
  } else if (icc_size == 0 && opt.keep_pixels) {
    heif_color_profile_nclx* nclx = nullptr;
    // libheif hands out the profile even with an error (unknown primaries):
    // freed in either case.
    const heif_error e = heif_image_handle_get_nclx_color_profile(handle, &nclx);
    if (e.code == heif_error_Ok && nclx) img.icc = icc_for_nclx(*nclx);
    if (nclx) heif_nclx_color_profile_free(nclx);
  }

  const bool alpha = heif_image_handle_has_alpha_channel(handle) != 0;
  heif_image* raw = nullptr;
  MS_RETURN_IF_ERROR(
      heif_status(heif_decode_image(handle, &raw, heif_colorspace_RGB,
                                    alpha ? heif_chroma_interleaved_RGBA : heif_chroma_interleaved_RGB, nullptr),
                  "cannot decode HEIF image"));
  HeifPtr<heif_image> image(raw);
  int stride = 0;
  const std::uint8_t* plane = heif_image_get_plane_readonly(image.get(), heif_channel_interleaved, &stride);
  const int iw = heif_image_get_width(image.get(), heif_channel_interleaved);
  const int ih = heif_image_get_height(image.get(), heif_channel_interleaved);
  if (!plane || iw <= 0 || ih <= 0) return Status::CorruptMedia("HEIF image without pixels");
  MS_RETURN_IF_ERROR(check_pixel_limit(iw, ih, opt.max_pixels));
  img.raster.width = iw;
  img.raster.height = ih;
  if (!opt.keep_pixels) return img;
  img.raster.rgb.resize(static_cast<std::size_t>(iw) * ih * 3);
  for (int y = 0; y < ih; ++y) {
    const std::uint8_t* src = plane + static_cast<std::size_t>(y) * stride;
    std::uint8_t* dst = img.raster.rgb.data() + static_cast<std::size_t>(y) * iw * 3;
    if (alpha)
      composite_rgba_on_white(src, dst, static_cast<std::size_t>(iw));
    else
      std::memcpy(dst, src, static_cast<std::size_t>(iw) * 3);
  }
  return img;
}

}  // namespace

Result<std::pair<int, int>> probe_heif(const Input& in) {
  return contained("invalid HEIF data", [&] { return probe_heif_unguarded(in); });
}

Result<DecodedImage> decode_heif(const Input& in, const DecodeOptions& opt) {
  return contained("invalid HEIF data", [&] { return decode_heif_unguarded(in, opt); });
}

}  // namespace mediastore::detail
