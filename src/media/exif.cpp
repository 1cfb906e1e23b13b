#include "media/exif.hpp"

#include <cstring>
#include <vector>

namespace mediastore::detail {
namespace {

constexpr int kMaxIfds = 8;  // IFD0, EXIF, GPS, IFD1, interop, ... with room to spare
constexpr unsigned kMaxEntries = 1024;

constexpr std::uint16_t kTagOrientation = 0x0112;
constexpr std::uint16_t kTagExifIfd = 0x8769;
constexpr std::uint16_t kTagGpsIfd = 0x8825;
constexpr std::uint16_t kTagDateTimeOriginal = 0x9003;

struct Tiff {
  std::string_view d;
  bool le = true;
  bool ok(std::uint64_t off, std::uint64_t n) const { return off <= d.size() && n <= d.size() - off; }
  std::uint16_t u16(std::size_t off) const {
    auto p = reinterpret_cast<const unsigned char*>(d.data() + off);
    return le ? static_cast<std::uint16_t>(p[0] | (p[1] << 8)) : static_cast<std::uint16_t>((p[0] << 8) | p[1]);
  }
  std::uint32_t u32(std::size_t off) const {
    auto p = reinterpret_cast<const unsigned char*>(d.data() + off);
    return le ? (p[0] | (p[1] << 8) | (p[2] << 16) | (std::uint32_t{p[3]} << 24))
              : ((std::uint32_t{p[0]} << 24) | (p[1] << 16) | (p[2] << 8) | p[3]);
  }
};

unsigned type_size(std::uint16_t type) {
  switch (type) {
    case 1:
    case 2:
    case 6:
    case 7: return 1;  // BYTE ASCII SBYTE UNDEFINED
    case 3:
    case 8: return 2;  // SHORT SSHORT
    case 4:
    case 9:
    case 11:
    case 13: return 4;  // LONG SLONG FLOAT IFD
    case 5:
    case 10:
    case 12: return 8;  // RATIONAL SRATIONAL DOUBLE
    default: return 0;
  }
}

bool read_header(std::string_view tiff, Tiff& t, std::uint32_t& ifd0) {
  if (tiff.size() < 8) return false;
  if (tiff.substr(0, 4) == std::string_view("II*\0", 4))
    t.le = true;
  else if (tiff.substr(0, 4) == std::string_view("MM\0*", 4))
    t.le = false;
  else
    return false;
  t.d = tiff;
  ifd0 = t.u32(4);
  return true;
}

struct Walker {
  const Tiff& t;
  ExifData& out;
  std::vector<std::uint32_t> visited;
  std::vector<std::uint32_t> gps_ifds = {};  // offsets of the non-empty GPS IFDs seen

  bool enter(std::uint32_t off) {
    if (off < 8 || !t.ok(off, 2)) return false;
    for (auto v : visited)
      if (v == off) return false;  // a loop: an IFD pointing back into the chain
    if (visited.size() >= static_cast<std::size_t>(kMaxIfds)) return false;
    visited.push_back(off);
    return true;
  }

  // kind: 0 = IFD0/IFD1 chain, 1 = EXIF IFD, 2 = GPS IFD
  void walk(std::uint32_t off, int kind) {
    while (enter(off)) {
      const bool is_ifd0 = kind == 0 && visited.size() == 1;
      unsigned n = t.u16(off);
      if (n > kMaxEntries || !t.ok(off + 2, std::uint64_t{n} * 12 + 4)) return;
      if (kind == 2 && n > 0) {
        out.has_gps = true;
        gps_ifds.push_back(off);
      }
      for (unsigned i = 0; i < n; ++i) {
        std::size_t e = off + 2 + i * 12;
        std::uint16_t tag = t.u16(e), type = t.u16(e + 2);
        std::uint32_t count = t.u32(e + 4);
        if (is_ifd0 && tag == kTagOrientation && type == 3 && count >= 1) {
          unsigned v = t.u16(e + 8);
          if (v >= 1 && v <= 8) out.orientation = static_cast<int>(v);
        } else if (kind == 0 && tag == kTagExifIfd && (type == 4 || type == 13) && count == 1) {
          walk(t.u32(e + 8), 1);
        } else if (kind == 0 && tag == kTagGpsIfd && (type == 4 || type == 13) && count == 1) {
          walk(t.u32(e + 8), 2);
        } else if (kind == 1 && tag == kTagDateTimeOriginal && type == 2 && count >= 19 && count <= 64) {
          std::uint32_t voff = t.u32(e + 8);
          if (t.ok(voff, 19)) {
            std::string s(t.d.substr(voff, 19));
            bool printable = true;
            for (char c : s)
              if (c < 0x20 || c > 0x7e) printable = false;
            if (printable) out.datetime_original = s;
          }
        }
      }
      if (kind != 0) return;  // only IFD0 continues into IFD1
      off = t.u32(off + 2 + n * 12);
      if (off == 0) return;
    }
  }
};

}  // namespace

ExifData parse_exif_tiff(std::string_view tiff) noexcept {
  ExifData out;
  Tiff t;
  std::uint32_t ifd0 = 0;
  if (!read_header(tiff, t, ifd0)) return out;
  out.valid = true;
  Walker w{t, out, {}};
  w.walk(ifd0, 0);
  return out;
}

ExifData parse_exif_payload(std::string_view p) noexcept {
  if (p.substr(0, 6) == std::string_view("Exif\0\0", 6)) return parse_exif_tiff(p.substr(6));
  if (p.size() >= 4 && (p[0] == 'I' || p[0] == 'M')) return parse_exif_tiff(p);
  if (p.size() >= 8) {
    // HEIF: 4-byte big-endian offset of the TIFF header after those 4 bytes.
    auto u = reinterpret_cast<const unsigned char*>(p.data());
    std::uint32_t off = (std::uint32_t{u[0]} << 24) | (u[1] << 16) | (u[2] << 8) | u[3];
    if (off <= p.size() - 4) {
      std::string_view rest = p.substr(4 + off);
      if (rest.substr(0, 6) == std::string_view("Exif\0\0", 6)) rest.remove_prefix(6);
      return parse_exif_tiff(rest);
    }
  }
  return ExifData{};
}

namespace {

// Removes every GPSInfo (0x8825) entry of the IFD0/IFD1 chain: the later
// entries and the next-IFD pointer move down by one entry, the count drops,
// and the freed 12 bytes at the end are zeroed. Values are addressed by
// absolute offsets, so moving entries inside their IFD keeps them valid.
bool remove_gps_pointers(std::string& tiff) {
  Tiff t;
  std::uint32_t off = 0;
  if (!read_header(tiff, t, off)) return false;
  bool changed = false;
  std::vector<std::uint32_t> visited;
  while (off >= 8 && visited.size() < static_cast<std::size_t>(kMaxIfds)) {
    for (auto v : visited)
      if (v == off) return changed;
    visited.push_back(off);
    t.d = tiff;
    if (!t.ok(off, 2)) return changed;
    unsigned n = t.u16(off);
    if (n > kMaxEntries || !t.ok(off + 2, std::uint64_t{n} * 12 + 4)) return changed;
    for (unsigned i = 0; i < n;) {
      const std::size_t e = off + 2 + std::size_t{i} * 12;
      if (t.u16(e) != kTagGpsIfd) {
        ++i;
        continue;
      }
      const std::size_t end = off + 2 + std::size_t{n} * 12 + 4;  // just past the next-IFD pointer
      std::memmove(tiff.data() + e, tiff.data() + e + 12, end - e - 12);
      std::memset(tiff.data() + end - 12, 0, 12);
      --n;
      const unsigned char lo = static_cast<unsigned char>(n & 0xff), hi = static_cast<unsigned char>(n >> 8);
      tiff[off] = static_cast<char>(t.le ? lo : hi);
      tiff[off + 1] = static_cast<char>(t.le ? hi : lo);
      t.d = tiff;
      changed = true;
    }
    off = t.u32(off + 2 + std::size_t{n} * 12);
  }
  return changed;
}

// Zeroes the GPS IFDs the reader finds (see clear_exif_gps).
bool zero_gps_ifds(std::string& tiff) noexcept {
  bool changed = false;
  // Clear exactly what the reader finds, and read again: in a hostile block
  // IFDs may overlap, and clearing one may let the walk reach another.
  for (int round = 0; round < 64; ++round) {
    Tiff t;
    std::uint32_t ifd0 = 0;
    if (!read_header(tiff, t, ifd0)) return changed;
    ExifData data;
    Walker w{t, data, {}};
    w.walk(ifd0, 0);
    if (w.gps_ifds.empty()) return changed;
    for (std::uint32_t g : w.gps_ifds) {
      t.d = tiff;
      const unsigned gn = t.u16(g);  // the walk checked g + 2 + 12*gn + 4 is inside
      // Zero the out-of-line values first (they are read through the entries).
      std::vector<std::pair<std::uint32_t, std::uint64_t>> spans;
      for (unsigned k = 0; k < gn; ++k) {
        std::size_t ge = g + 2 + k * 12;
        std::uint64_t bytes = std::uint64_t{type_size(t.u16(ge + 2))} * t.u32(ge + 4);
        if (bytes > 4) {
          std::uint32_t voff = t.u32(ge + 8);
          if (t.ok(voff, bytes)) spans.emplace_back(voff, bytes);
        }
      }
      for (auto [off, len] : spans) std::memset(tiff.data() + off, 0, static_cast<std::size_t>(len));
      std::memset(tiff.data() + g, 0, 2 + std::size_t{gn} * 12);  // count 0 and the entries
      changed = true;
    }
  }
  // Still GPS after 64 rounds: an adversarial block; give up on editing it.
  return changed;
}

}  // namespace

bool clear_exif_gps(std::string& tiff) noexcept {
  bool changed = zero_gps_ifds(tiff);
  // Then the pointers; moving entries may, in a hostile block, make other
  // bytes read as a GPS IFD, so the values are zeroed once more.
  if (remove_gps_pointers(tiff)) changed = true;
  if (zero_gps_ifds(tiff)) changed = true;
  return changed;
}

std::string_view find_jpeg_exif(std::string_view h) noexcept {
  if (h.size() < 4 || static_cast<unsigned char>(h[0]) != 0xFF || static_cast<unsigned char>(h[1]) != 0xD8) return {};
  std::size_t p = 2;
  while (p + 4 <= h.size()) {
    if (static_cast<unsigned char>(h[p]) != 0xFF) return {};
    auto marker = static_cast<unsigned char>(h[p + 1]);
    if (marker == 0xFF) {  // fill byte
      ++p;
      continue;
    }
    if (marker == 0xDA || marker == 0xD9) return {};
    std::size_t len = (static_cast<unsigned char>(h[p + 2]) << 8) | static_cast<unsigned char>(h[p + 3]);
    if (len < 2 || p + 2 + len > h.size()) return {};
    std::string_view payload = h.substr(p + 4, len - 2);
    if (marker == 0xE1 && payload.substr(0, 6) == std::string_view("Exif\0\0", 6)) return payload.substr(6);
    p += 2 + len;
  }
  return {};
}

}  // namespace mediastore::detail
