// ThumbHash (https://evanw.github.io/thumbhash/), written from the format's
// description. The encoder must produce the reference implementation's bytes
// (the `thumbhash` npm package, checked by tests/js), so it does the same
// double-precision operations in the same order, and rounds as JavaScript's
// Math.round does (half up). src/CMakeLists.txt builds it with
// -ffp-contract=off: fusing a*b+c would change the last bits.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <numbers>

#include <fmt/format.h>

#include "core/crypto.hpp"
#include "media/hashes.hpp"
#include "media/resize.hpp"

namespace mediastore {
namespace {

constexpr double kPi = std::numbers::pi;

int js_round(double x) { return static_cast<int>(std::floor(x + 0.5)); }

// Math.cos as V8 computes it: fdlibm 5.3's cos (V8's src/base/ieee754.cc).
// glibc's cos differs from it in the last bit for about 3 % of ThumbHash's
// arguments, which flips a quantised coefficient now and then, so the
// reference's cos is needed for identical bytes. Arguments here are in
// [0, 7 pi]; this covers fdlibm's small and medium ranges (|x| < 2^19 pi/2)
// and leaves larger ones to std::cos.
std::int32_t high_word(double x) { return static_cast<std::int32_t>(std::bit_cast<std::uint64_t>(x) >> 32); }

// cos(x + y) for |x| <= pi/4, y the tail of the reduced argument.
double fdlibm_kernel_cos(double x, double y) {
  constexpr double C1 = 4.16666666666666019037e-02, C2 = -1.38888888888741095749e-03, C3 = 2.48015872894767294178e-05,
                   C4 = -2.75573143513906633035e-07, C5 = 2.08757232129817482790e-09, C6 = -1.13596475577881948265e-11;
  const std::int32_t ix = high_word(x) & 0x7FFFFFFF;
  if (ix < 0x3E400000 && static_cast<int>(x) == 0) return 1.0;
  const double z = x * x;
  const double r = z * (C1 + z * (C2 + z * (C3 + z * (C4 + z * (C5 + z * C6)))));
  if (ix < 0x3FD33333) return 1.0 - (0.5 * z - (z * r - x * y));
  // 1 - qx and z/2 - qx are exact; qx is |x|/4 cut to its high word, or 0.28125.
  const double qx =
      ix > 0x3FE90000
          ? 0.28125
          : std::bit_cast<double>(static_cast<std::uint64_t>(static_cast<std::uint32_t>(ix - 0x00200000)) << 32);
  return (1.0 - qx) - ((0.5 * z - qx) - (z * r - x * y));
}

// sin(x + y) for |x| <= pi/4.
double fdlibm_kernel_sin(double x, double y) {
  constexpr double S1 = -1.66666666666666324348e-01, S2 = 8.33333333332248946124e-03, S3 = -1.98412698298579493134e-04,
                   S4 = 2.75573137070700676789e-06, S5 = -2.50507602534068634195e-08, S6 = 1.58969099521155010221e-10;
  const std::int32_t ix = high_word(x) & 0x7FFFFFFF;
  if (ix < 0x3E400000 && static_cast<int>(x) == 0) return x;
  const double z = x * x, v = z * x;
  const double r = S2 + z * (S3 + z * (S4 + z * (S5 + z * S6)));
  return x - ((z * (0.5 * y - v * r) - y) - v * S1);
}

double js_cos(double x) {
  const std::int32_t hx = high_word(x), ix = hx & 0x7FFFFFFF;
  if (ix <= 0x3FE921FB) return fdlibm_kernel_cos(x, 0.0);  // |x| <= pi/4
  if (ix > 0x413921FB) return std::cos(x);                 // beyond the medium range (never used here)
  // x = n pi/2 + (y0 + y1), pi/2 in three 33-bit pieces (Cody-Waite).
  constexpr double invpio2 = 6.36619772367581382433e-01, pio2_1 = 1.57079632673412561417e+00,
                   pio2_1t = 6.07710050650619224932e-11, pio2_2 = 6.07710050630396597660e-11,
                   pio2_2t = 2.02226624879595063154e-21, pio2_3 = 2.02226624871116645580e-21,
                   pio2_3t = 8.47842766036889956997e-32;
  double y0, y1;
  std::int32_t n;
  if (ix < 0x4002D97C) {  // |x| < 3pi/4: n = +-1
    const double sign = hx > 0 ? 1.0 : -1.0;
    double z = x - sign * pio2_1;
    const double tail = ix != 0x3FF921FB ? pio2_1t : pio2_2t;
    if (ix == 0x3FF921FB) z -= sign * pio2_2;  // near pi/2: one more piece of pi/2
    y0 = z - sign * tail;
    y1 = (z - y0) - sign * tail;
    n = hx > 0 ? 1 : -1;
  } else {
    // The high words of n pi/2 for n = 1..32: when x's equals one, cancellation is likely.
    static constexpr std::int32_t npio2_hw[] = {
        0x3FF921FB, 0x400921FB, 0x4012D97C, 0x401921FB, 0x401F6A7A, 0x4022D97C, 0x4025FDBB, 0x402921FB,
        0x402C463A, 0x402F6A7A, 0x4031475C, 0x4032D97C, 0x40346B9C, 0x4035FDBB, 0x40378FDB, 0x403921FB,
        0x403AB41B, 0x403C463A, 0x403DD85A, 0x403F6A7A, 0x40407E4C, 0x4041475C, 0x4042106C, 0x4042D97C,
        0x4043A28C, 0x40446B9C, 0x404534AC, 0x4045FDBB, 0x4046C6CB, 0x40478FDB, 0x404858EB, 0x404921FB,
    };
    const double t0 = std::fabs(x);
    n = static_cast<std::int32_t>(t0 * invpio2 + 0.5);
    const double fn = static_cast<double>(n);
    double r = t0 - fn * pio2_1;
    double w = fn * pio2_1t;
    y0 = r - w;
    if (!(n < 32 && ix != npio2_hw[n - 1])) {
      const std::int32_t j = ix >> 20;
      if (j - ((high_word(y0) >> 20) & 0x7FF) > 16) {  // a second piece of pi/2
        double t = r;
        w = fn * pio2_2;
        r = t - w;
        w = fn * pio2_2t - ((t - r) - w);
        y0 = r - w;
        if (j - ((high_word(y0) >> 20) & 0x7FF) > 49) {  // and a third
          t = r;
          w = fn * pio2_3;
          r = t - w;
          w = fn * pio2_3t - ((t - r) - w);
          y0 = r - w;
        }
      }
    }
    y1 = (r - y0) - w;
    if (hx < 0) {
      y0 = -y0;
      y1 = -y1;
      n = -n;
    }
  }
  switch (n & 3) {
    case 0: return fdlibm_kernel_cos(y0, y1);
    case 1: return -fdlibm_kernel_sin(y0, y1);
    case 2: return -fdlibm_kernel_cos(y0, y1);
    default: return fdlibm_kernel_sin(y0, y1);
  }
}

struct Channel {
  double dc = 0;
  std::vector<double> ac;  // normalised to 0..1
  double scale = 0;
};

// DCT of one channel: coefficients (cx, cy) with cx * ny < nx * (ny - cy),
// the triangle ThumbHash keeps.
Channel encode_channel(const std::vector<double>& channel, int w, int h, int nx, int ny) {
  Channel out;
  std::vector<double> fx(static_cast<std::size_t>(w));
  for (int cy = 0; cy < ny; ++cy) {
    for (int cx = 0; cx * ny < nx * (ny - cy); ++cx) {
      double f = 0;
      for (int x = 0; x < w; ++x) fx[x] = js_cos(kPi / w * cx * (x + 0.5));
      for (int y = 0; y < h; ++y) {
        const double fy = js_cos(kPi / h * cy * (y + 0.5));
        for (int x = 0; x < w; ++x)
          f += channel[static_cast<std::size_t>(x) + static_cast<std::size_t>(y) * w] * fx[x] * fy;
      }
      f /= static_cast<double>(w * h);
      if (cx || cy) {
        out.ac.push_back(f);
        out.scale = std::max(out.scale, std::abs(f));
      } else {
        out.dc = f;
      }
    }
  }
  if (out.scale != 0)
    for (double& v : out.ac) v = 0.5 + 0.5 / out.scale * v;
  return out;
}

}  // namespace

Result<std::string> thumbhash_encode(const std::uint8_t* rgba, int w, int h) {
  if (!rgba) return Status::InvalidArgument("thumbhash_encode: no pixels");
  if (w < 1 || h < 1 || w > detail::kThumbHashMaxSide || h > detail::kThumbHashMaxSide)
    return Status::InvalidArgument(fmt::format("thumbhash_encode: {}x{} does not fit in 100x100", w, h));
  const std::size_t n = static_cast<std::size_t>(w) * h;

  double avg_r = 0, avg_g = 0, avg_b = 0, avg_a = 0;
  for (std::size_t i = 0, j = 0; i < n; ++i, j += 4) {
    const double alpha = rgba[j + 3] / 255.0;
    avg_r += alpha / 255 * rgba[j];
    avg_g += alpha / 255 * rgba[j + 1];
    avg_b += alpha / 255 * rgba[j + 2];
    avg_a += alpha;
  }
  if (avg_a != 0) {
    avg_r /= avg_a;
    avg_g /= avg_a;
    avg_b /= avg_a;
  }

  const bool has_alpha = avg_a < static_cast<double>(n);
  const int l_limit = has_alpha ? 5 : 7;  // fewer luminance bits when alpha needs room
  const int longer = std::max(w, h);
  const int lx = std::max(1, js_round(static_cast<double>(l_limit * w) / longer));
  const int ly = std::max(1, js_round(static_cast<double>(l_limit * h) / longer));
  std::vector<double> l(n), p(n), q(n), a(n);
  // RGBA to LPQA, composited onto the average colour.
  for (std::size_t i = 0, j = 0; i < n; ++i, j += 4) {
    const double alpha = rgba[j + 3] / 255.0;
    const double r = avg_r * (1 - alpha) + alpha / 255 * rgba[j];
    const double g = avg_g * (1 - alpha) + alpha / 255 * rgba[j + 1];
    const double b = avg_b * (1 - alpha) + alpha / 255 * rgba[j + 2];
    l[i] = (r + g + b) / 3;
    p[i] = (r + g) / 2 - b;
    q[i] = r - g;
    a[i] = alpha;
  }

  const Channel lc = encode_channel(l, w, h, std::max(3, lx), std::max(3, ly));
  const Channel pc = encode_channel(p, w, h, 3, 3);
  const Channel qc = encode_channel(q, w, h, 3, 3);
  Channel ac;
  if (has_alpha) ac = encode_channel(a, w, h, 5, 5);

  const bool landscape = w > h;
  const std::uint32_t header24 = static_cast<std::uint32_t>(js_round(63 * lc.dc)) |
                                 (static_cast<std::uint32_t>(js_round(31.5 + 31.5 * pc.dc)) << 6) |
                                 (static_cast<std::uint32_t>(js_round(31.5 + 31.5 * qc.dc)) << 12) |
                                 (static_cast<std::uint32_t>(js_round(31 * lc.scale)) << 18) |
                                 (static_cast<std::uint32_t>(has_alpha) << 23);
  const std::uint32_t header16 =
      static_cast<std::uint32_t>(landscape ? ly : lx) | (static_cast<std::uint32_t>(js_round(63 * pc.scale)) << 3) |
      (static_cast<std::uint32_t>(js_round(63 * qc.scale)) << 9) | (static_cast<std::uint32_t>(landscape) << 15);
  std::string hash;
  hash += static_cast<char>(header24 & 255);
  hash += static_cast<char>((header24 >> 8) & 255);
  hash += static_cast<char>((header24 >> 16) & 255);
  hash += static_cast<char>(header16 & 255);
  hash += static_cast<char>((header16 >> 8) & 255);
  if (has_alpha)
    hash += static_cast<char>(static_cast<unsigned>(js_round(15 * ac.dc)) |
                              (static_cast<unsigned>(js_round(15 * ac.scale)) << 4));
  const std::size_t ac_start = hash.size();
  std::size_t ac_index = 0;
  auto put = [&](const Channel& c) {
    for (double f : c.ac) {
      const std::size_t at = ac_start + (ac_index >> 1);
      if (at >= hash.size()) hash.resize(at + 1, '\0');
      hash[at] = static_cast<char>(static_cast<unsigned char>(hash[at]) |
                                   (static_cast<unsigned>(js_round(15 * f)) << ((ac_index & 1) << 2)));
      ++ac_index;
    }
  };
  put(lc);
  put(pc);
  put(qc);
  if (has_alpha) put(ac);
  return hash;
}

Result<ThumbHashImage> thumbhash_decode(std::string_view hash_text) {
  const auto* hash = reinterpret_cast<const unsigned char*>(hash_text.data());
  if (hash_text.size() < 5) return Status::InvalidArgument("ThumbHash too short: it needs at least 5 bytes");
  const std::uint32_t header24 = hash[0] | (std::uint32_t{hash[1]} << 8) | (std::uint32_t{hash[2]} << 16);
  const std::uint32_t header16 = hash[3] | (std::uint32_t{hash[4]} << 8);
  const double l_dc = (header24 & 63) / 63.0;
  const double p_dc = ((header24 >> 6) & 63) / 31.5 - 1;
  const double q_dc = ((header24 >> 12) & 63) / 31.5 - 1;
  const double l_scale = ((header24 >> 18) & 31) / 31.0;
  const bool has_alpha = (header24 >> 23) != 0;
  const double p_scale = ((header16 >> 3) & 63) / 63.0;
  const double q_scale = ((header16 >> 9) & 63) / 63.0;
  const bool landscape = (header16 >> 15) != 0;
  const int lx0 = landscape ? (has_alpha ? 5 : 7) : static_cast<int>(header16 & 7);
  const int ly0 = landscape ? static_cast<int>(header16 & 7) : (has_alpha ? 5 : 7);
  const int lx = std::max(3, lx0), ly = std::max(3, ly0);
  if (has_alpha && hash_text.size() < 6) return Status::InvalidArgument("ThumbHash with alpha too short");
  const double a_dc = has_alpha ? (hash[5] & 15) / 15.0 : 1;
  const double a_scale = has_alpha ? (hash[5] >> 4) / 15.0 : 0;

  // AC factors; missing bytes read as zero (as in the reference, where they are undefined -> 0).
  const std::size_t ac_start = has_alpha ? 6 : 5;
  std::size_t ac_index = 0;
  auto decode_channel = [&](int nx, int ny, double scale) {
    std::vector<double> ac;
    for (int cy = 0; cy < ny; ++cy)
      for (int cx = cy ? 0 : 1; cx * ny < nx * (ny - cy); ++cx) {
        const std::size_t at = ac_start + (ac_index >> 1);
        const unsigned byte = at < hash_text.size() ? hash[at] : 0;
        ac.push_back((((byte >> ((ac_index & 1) << 2)) & 15) / 7.5 - 1) * scale);
        ++ac_index;
      }
    return ac;
  };
  const auto l_ac = decode_channel(lx, ly, l_scale);
  const auto p_ac = decode_channel(3, 3, p_scale * 1.25);  // the reference boosts saturation by 1.25
  const auto q_ac = decode_channel(3, 3, q_scale * 1.25);
  const auto a_ac = has_alpha ? decode_channel(5, 5, a_scale) : std::vector<double>{};

  const double ratio = lx0 == 0 || ly0 == 0 ? 1.0 : static_cast<double>(lx0) / ly0;
  ThumbHashImage out;
  out.width = js_round(ratio > 1 ? 32 : 32 * ratio);
  out.height = js_round(ratio > 1 ? 32 / ratio : 32);
  if (out.width < 1 || out.height < 1) return Status::InvalidArgument("ThumbHash with an empty aspect ratio");
  out.rgba.resize(static_cast<std::size_t>(out.width) * out.height * 4);
  const int nfx = std::max(lx, has_alpha ? 5 : 3), nfy = std::max(ly, has_alpha ? 5 : 3);
  std::vector<double> fx(static_cast<std::size_t>(nfx)), fy(static_cast<std::size_t>(nfy));
  auto to_byte = [](double v) { return static_cast<std::uint8_t>(std::max(0.0, 255 * std::min(1.0, v))); };
  std::size_t i = 0;
  for (int y = 0; y < out.height; ++y) {
    for (int x = 0; x < out.width; ++x, i += 4) {
      double l = l_dc, p = p_dc, q = q_dc, a = a_dc;
      for (int cx = 0; cx < nfx; ++cx) fx[cx] = js_cos(kPi / out.width * (x + 0.5) * cx);
      for (int cy = 0; cy < nfy; ++cy) fy[cy] = js_cos(kPi / out.height * (y + 0.5) * cy);
      std::size_t j = 0;
      for (int cy = 0; cy < ly; ++cy) {
        const double fy2 = fy[cy] * 2;
        for (int cx = cy ? 0 : 1; cx * ly < lx * (ly - cy); ++cx, ++j) l += l_ac[j] * fx[cx] * fy2;
      }
      j = 0;
      for (int cy = 0; cy < 3; ++cy) {
        const double fy2 = fy[cy] * 2;
        for (int cx = cy ? 0 : 1; cx < 3 - cy; ++cx, ++j) {
          const double f = fx[cx] * fy2;
          p += p_ac[j] * f;
          q += q_ac[j] * f;
        }
      }
      if (has_alpha) {
        j = 0;
        for (int cy = 0; cy < 5; ++cy) {
          const double fy2 = fy[cy] * 2;
          for (int cx = cy ? 0 : 1; cx < 5 - cy; ++cx, ++j) a += a_ac[j] * fx[cx] * fy2;
        }
      }
      const double b = l - 2.0 / 3 * p;
      const double r = (3 * l - b + q) / 2;
      const double g = r - q;
      out.rgba[i] = to_byte(r);
      out.rgba[i + 1] = to_byte(g);
      out.rgba[i + 2] = to_byte(b);
      out.rgba[i + 3] = to_byte(a);
    }
  }
  return out;
}

std::vector<std::uint8_t> detail::thumbhash_input(const Raster& image, int* width, int* height) {
  const double scale = std::min(1.0, static_cast<double>(kThumbHashMaxSide) / std::max(image.width, image.height));
  const int w = std::clamp(static_cast<int>(std::lround(image.width * scale)), 1, kThumbHashMaxSide);
  const int h = std::clamp(static_cast<int>(std::lround(image.height * scale)), 1, kThumbHashMaxSide);
  const Raster small = (w == image.width && h == image.height)
                           ? image
                           : resize_lanczos3(image.rgb.data(), image.width, image.height,
                                             static_cast<std::size_t>(image.width) * 3, w, h);
  std::vector<std::uint8_t> rgba(static_cast<std::size_t>(w) * h * 4);
  for (std::size_t i = 0, n = static_cast<std::size_t>(w) * h; i < n; ++i) {
    rgba[i * 4] = small.rgb[i * 3];
    rgba[i * 4 + 1] = small.rgb[i * 3 + 1];
    rgba[i * 4 + 2] = small.rgb[i * 3 + 2];
    rgba[i * 4 + 3] = 255;
  }
  *width = w;
  *height = h;
  return rgba;
}

}  // namespace mediastore
