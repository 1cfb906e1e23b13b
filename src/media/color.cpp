// Colour management with Little CMS 2: embedded RGB profiles to sRGB.
//
// Thread safety: every transform is created in a cmsContext of its own (the
// THR functions), so creating transforms on several threads at once shares no
// lcms2 state; a finished lcms2 transform is immutable apart from its 1-pixel
// cache, which cmsFLAGS_NOCACHE turns off, so cmsDoTransform may run on one
// transform from several threads (lcms2 documents NOCACHE as the flag for
// transforms shared between threads; since 2.3 the cache is per call anyway).
// The matrix/shaper fast path is plain read-only tables.
#include "media/color.hpp"

#include <lcms2.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>
#include <list>
#include <mutex>
#include <type_traits>
#include <vector>

#include "core/log_internal.hpp"

namespace mediastore::detail {
namespace {

constexpr std::size_t kCacheEntries = 8;
// Real profiles are a few hundred bytes (matrix/shaper: Display P3, Adobe
// RGB) to a few hundred KB (camera LUT profiles); larger ones are ignored.
constexpr std::size_t kMaxProfileBytes = 4u << 20;

void log_lcms(cmsContext, cmsUInt32Number code, const char* text) {
  MS_LOG(debug, "media", "lcms2 error {}: {}", code, text ? text : "");
}

struct ContextDeleter {
  void operator()(cmsContext c) const { cmsDeleteContext(c); }
};
using ContextPtr = std::unique_ptr<std::remove_pointer_t<cmsContext>, ContextDeleter>;

ContextPtr new_context() {
  ContextPtr ctx(cmsCreateContext(nullptr, nullptr));
  if (ctx) cmsSetLogErrorHandlerTHR(ctx.get(), log_lcms);
  return ctx;
}

struct ProfileCloser {
  void operator()(void* p) const { cmsCloseProfile(p); }
};
using ProfilePtr = std::unique_ptr<void, ProfileCloser>;

class LcmsTransform final : public SrgbTransform {
 public:
  LcmsTransform(ContextPtr ctx, cmsHTRANSFORM xf) : ctx_(std::move(ctx)), xf_(xf) {}
  ~LcmsTransform() override { cmsDeleteTransform(xf_); }  // before ctx_ goes
  LcmsTransform(const LcmsTransform&) = delete;
  LcmsTransform& operator=(const LcmsTransform&) = delete;

  const char* kind() const override { return "lcms2"; }

  void apply(Raster& r) const override {
    if (r.width <= 0 || r.height <= 0 || r.rgb.size() < static_cast<std::size_t>(r.width) * r.height * 3) return;
    // In place: input and output have the same pixel format and size, and
    // lcms2 reads each pixel before writing it.
    const auto stride = static_cast<cmsUInt32Number>(r.width) * 3;
    cmsDoTransformLineStride(xf_, r.rgb.data(), r.rgb.data(), static_cast<cmsUInt32Number>(r.width),
                             static_cast<cmsUInt32Number>(r.height), stride, stride, 0, 0);
  }

 private:
  ContextPtr ctx_;
  cmsHTRANSFORM xf_;
};

// A 18x18x18 grid of colours (0, 15, ..., 255), RGB packed.
std::vector<std::uint8_t> colour_grid() {
  constexpr int kSteps = 18;
  std::vector<std::uint8_t> grid;
  grid.reserve(kSteps * kSteps * kSteps * 3);
  for (int r = 0; r < kSteps; ++r)
    for (int g = 0; g < kSteps; ++g)
      for (int b = 0; b < kSteps; ++b)
        grid.insert(grid.end(), {static_cast<std::uint8_t>(r * 15), static_cast<std::uint8_t>(g * 15),
                                 static_cast<std::uint8_t>(b * 15)});
  return grid;
}

// Whether the transform leaves the colour grid within 1 of where it was: an
// sRGB profile by another vendor, or close enough that converting would only
// add rounding.
bool is_identity(cmsHTRANSFORM xf) {
  const std::vector<std::uint8_t> in = colour_grid();
  std::vector<std::uint8_t> out(in.size());
  cmsDoTransform(xf, in.data(), out.data(), static_cast<cmsUInt32Number>(in.size() / 3));
  for (std::size_t i = 0; i < in.size(); ++i)
    if (std::abs(int{in[i]} - int{out[i]}) > 1) return false;
  return true;
}

// The common case, a matrix/shaper profile (Display P3, Adobe RGB, most
// cameras), as three tables and a matrix: tone curve to linear light, one 3x3
// matrix to linear sRGB (both through the D50 connection space), sRGB
// encoding from a fine table. About 3x faster than lcms2's 8-bit path, whose
// per-pixel cost is mostly its generic pack/unpack calls. Used only when it
// agrees with lcms2 in floating point within 1 on the colour grid.
class MatrixShaperTransform final : public SrgbTransform {
 public:
  static constexpr int kEncodeSize = 1 << 14;  // linear steps: <= 0.2 of an 8-bit level near black

  const char* kind() const override { return "matrix-shaper"; }

  void apply(Raster& r) const override {
    if (r.width <= 0 || r.height <= 0) return;
    const std::size_t n = static_cast<std::size_t>(r.width) * r.height;
    if (r.rgb.size() < n * 3) return;
    std::uint8_t* p = r.rgb.data();
    for (std::size_t i = 0; i < n; ++i, p += 3) convert(p, p);
  }

  void convert(const std::uint8_t* in, std::uint8_t* out) const {
    const float lr = linear_[0][in[0]], lg = linear_[1][in[1]], lb = linear_[2][in[2]];
    const float x = m_[0] * lr + m_[1] * lg + m_[2] * lb;
    const float y = m_[3] * lr + m_[4] * lg + m_[5] * lb;
    const float z = m_[6] * lr + m_[7] * lg + m_[8] * lb;
    out[0] = encode(x);
    out[1] = encode(y);
    out[2] = encode(z);
  }

  float linear_[3][256];
  float m_[9];
  std::uint8_t encode_[kEncodeSize];

 private:
  std::uint8_t encode(float v) const {
    constexpr float kScale = kEncodeSize - 1;
    // v is finite: the tables and the matrix are checked finite when built.
    const int i = static_cast<int>(std::clamp(v, 0.f, 1.f) * kScale + 0.5f);
    return encode_[std::min(i, kEncodeSize - 1)];
  }
};

double srgb_encode(double v) { return v <= 0.0031308 ? 12.92 * v : 1.055 * std::pow(v, 1 / 2.4) - 0.055; }

// The fast form of in -> sRGB, or null when the profile is not a plain
// matrix/shaper one or the fast form disagrees with lcms2.
std::shared_ptr<const SrgbTransform> matrix_shaper(cmsContext ctx, cmsHPROFILE in, cmsHPROFILE srgb) {
  if (!cmsIsMatrixShaper(in) || cmsIsCLUT(in, INTENT_RELATIVE_COLORIMETRIC, LCMS_USED_AS_INPUT)) return nullptr;
  auto t = std::make_shared<MatrixShaperTransform>();
  const cmsTagSignature trc[3] = {cmsSigRedTRCTag, cmsSigGreenTRCTag, cmsSigBlueTRCTag};
  const cmsTagSignature colorant[3] = {cmsSigRedColorantTag, cmsSigGreenColorantTag, cmsSigBlueColorantTag};
  double a[9], s[9];  // columns: the colorants (XYZ, D50) of `in` and of sRGB
  for (int c = 0; c < 3; ++c) {
    const auto* curve = static_cast<const cmsToneCurve*>(cmsReadTag(in, trc[c]));
    const auto* xyz = static_cast<const cmsCIEXYZ*>(cmsReadTag(in, colorant[c]));
    const auto* sxyz = static_cast<const cmsCIEXYZ*>(cmsReadTag(srgb, colorant[c]));
    if (!curve || !xyz || !sxyz) return nullptr;
    for (int i = 0; i < 256; ++i) {
      const float v = cmsEvalToneCurveFloat(curve, static_cast<float>(i) / 255.f);
      t->linear_[c][i] = std::isfinite(v) ? std::clamp(v, 0.f, 1.f) : 0.f;
    }
    a[c] = xyz->X, a[3 + c] = xyz->Y, a[6 + c] = xyz->Z;
    s[c] = sxyz->X, s[3 + c] = sxyz->Y, s[6 + c] = sxyz->Z;
  }
  const double det =
      s[0] * (s[4] * s[8] - s[5] * s[7]) - s[1] * (s[3] * s[8] - s[5] * s[6]) + s[2] * (s[3] * s[7] - s[4] * s[6]);
  if (std::abs(det) < 1e-9) return nullptr;
  const double si[9] = {
      (s[4] * s[8] - s[5] * s[7]) / det, (s[2] * s[7] - s[1] * s[8]) / det, (s[1] * s[5] - s[2] * s[4]) / det,
      (s[5] * s[6] - s[3] * s[8]) / det, (s[0] * s[8] - s[2] * s[6]) / det, (s[2] * s[3] - s[0] * s[5]) / det,
      (s[3] * s[7] - s[4] * s[6]) / det, (s[1] * s[6] - s[0] * s[7]) / det, (s[0] * s[4] - s[1] * s[3]) / det};
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 3; ++j) {
      double v = 0;
      for (int k = 0; k < 3; ++k) v += si[i * 3 + k] * a[k * 3 + j];
      if (!std::isfinite(v) || std::abs(v) > 100) return nullptr;
      t->m_[i * 3 + j] = static_cast<float>(v);
    }
  for (int i = 0; i < MatrixShaperTransform::kEncodeSize; ++i)
    t->encode_[i] = static_cast<std::uint8_t>(
        std::lround(255 * srgb_encode(static_cast<double>(i) / (MatrixShaperTransform::kEncodeSize - 1))));

  // Checked against lcms2 in floating point on the colour grid.
  cmsHTRANSFORM exact =
      cmsCreateTransformTHR(ctx, in, TYPE_RGB_FLT, srgb, TYPE_RGB_FLT, INTENT_RELATIVE_COLORIMETRIC, cmsFLAGS_NOCACHE);
  if (!exact) return nullptr;
  const std::vector<std::uint8_t> grid = colour_grid();
  const std::size_t n = grid.size() / 3;
  std::vector<float> fin(grid.begin(), grid.end()), fout(grid.size());
  for (float& v : fin) v /= 255.f;
  cmsDoTransform(exact, fin.data(), fout.data(), static_cast<cmsUInt32Number>(n));
  cmsDeleteTransform(exact);
  for (std::size_t i = 0; i < n; ++i) {
    std::uint8_t got[3];
    t->convert(&grid[i * 3], got);
    for (int c = 0; c < 3; ++c) {
      const long want = std::lround(std::clamp(fout[i * 3 + c], 0.f, 1.f) * 255.f);
      if (std::abs(long{got[c]} - want) > 1) {
        MS_LOG(debug, "media", "ICC matrix/shaper fast path disagrees with lcms2; lcms2 used");
        return nullptr;
      }
    }
  }
  return t;
}

std::shared_ptr<const SrgbTransform> create(std::string_view icc, bool lcms_only) {
  if (icc.size() > kMaxProfileBytes) {
    MS_LOG(debug, "media", "ICC profile of {} bytes ignored (limit {})", icc.size(), kMaxProfileBytes);
    return nullptr;
  }
  ContextPtr ctx = new_context();
  if (!ctx) return nullptr;
  ProfilePtr in(cmsOpenProfileFromMemTHR(ctx.get(), icc.data(), static_cast<cmsUInt32Number>(icc.size())));
  if (!in) {
    MS_LOG(debug, "media", "ICC profile of {} bytes cannot be parsed; pixels left as they are", icc.size());
    return nullptr;
  }
  const cmsProfileClassSignature cls = cmsGetDeviceClass(in.get());
  if (cmsGetColorSpace(in.get()) != cmsSigRgbData || cls == cmsSigLinkClass || cls == cmsSigAbstractClass ||
      cls == cmsSigNamedColorClass) {
    MS_LOG(debug, "media",
           "ICC profile is not an RGB device profile (space {:#x}, class {:#x}); pixels left as they are",
           static_cast<unsigned>(cmsGetColorSpace(in.get())), static_cast<unsigned>(cls));
    return nullptr;
  }
  ProfilePtr srgb(cmsCreate_sRGBProfileTHR(ctx.get()));
  if (!srgb) return nullptr;
  // Relative colorimetric: colours inside sRGB keep their exact colorimetry
  // and only out-of-gamut ones are clipped, which is what browsers do when
  // they show the original on an sRGB screen, so the thumbnail looks like the
  // photo it stands for. (Perceptual would compress the whole gamut, but
  // matrix/shaper profiles - Display P3, Adobe RGB, nearly every camera -
  // carry no perceptual tables, so lcms2 would use colorimetric anyway.)
  cmsHTRANSFORM xf = cmsCreateTransformTHR(ctx.get(), in.get(), TYPE_RGB_8, srgb.get(), TYPE_RGB_8,
                                           INTENT_RELATIVE_COLORIMETRIC, cmsFLAGS_NOCACHE);
  std::shared_ptr<const SrgbTransform> fast =
      xf && !lcms_only ? matrix_shaper(ctx.get(), in.get(), srgb.get()) : nullptr;
  in.reset();  // profiles go before their context, which the transform keeps
  srgb.reset();
  if (!xf) {
    MS_LOG(debug, "media", "no transform from the embedded ICC profile to sRGB; pixels left as they are");
    return nullptr;
  }
  auto t = std::make_shared<LcmsTransform>(std::move(ctx), xf);
  if (is_identity(xf)) return nullptr;
  if (fast) return fast;  // owns no lcms2 object; `t` and its context go now
  return t;
}

struct Entry {
  std::size_t hash;
  std::string bytes;
  std::shared_ptr<const SrgbTransform> transform;
};

struct Cache {
  std::mutex mu;
  std::list<Entry> lru;  // most recently used first
};

// Never destroyed: threads still making thumbnails at exit find it intact.
Cache& cache() {
  static Cache* c = new Cache;
  return *c;
}

std::shared_ptr<const SrgbTransform>* find_locked(Cache& c, std::size_t hash, std::string_view icc) {
  for (auto it = c.lru.begin(); it != c.lru.end(); ++it) {
    if (it->hash == hash && it->bytes == icc) {
      c.lru.splice(c.lru.begin(), c.lru, it);
      return &c.lru.front().transform;
    }
  }
  return nullptr;
}

}  // namespace

std::shared_ptr<const SrgbTransform> srgb_transform_for(std::string_view icc) {
  if (icc.empty()) return nullptr;
  const std::size_t hash = std::hash<std::string_view>{}(icc);
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    if (auto* hit = find_locked(c, hash, icc)) return *hit;
  }
  // Made outside the lock: a transform takes a millisecond or more, and
  // other threads' lookups need not wait for it.
  std::shared_ptr<const SrgbTransform> made = create(icc, false);
  std::lock_guard<std::mutex> lock(c.mu);
  if (auto* hit = find_locked(c, hash, icc)) return *hit;  // another thread made it meanwhile
  c.lru.push_front(Entry{hash, std::string(icc), made});
  if (c.lru.size() > kCacheEntries) c.lru.pop_back();
  return made;
}

std::shared_ptr<const SrgbTransform> make_srgb_transform(std::string_view icc, bool lcms_only) {
  return icc.empty() ? nullptr : create(icc, lcms_only);
}

bool convert_to_srgb(Raster& r, std::string_view icc) {
  auto t = srgb_transform_for(icc);
  if (!t) return false;
  t->apply(r);
  return true;
}

std::string icc_from_primaries(double rx, double ry, double gx, double gy, double bx, double by, double wx, double wy,
                               NclxTransfer transfer) {
  for (double v : {rx, ry, gx, gy, bx, by, wx, wy})
    if (!std::isfinite(v) || v < 0 || v > 1) return "";
  if (ry <= 0 || gy <= 0 || by <= 0 || wy <= 0) return "";
  ContextPtr ctx = new_context();
  if (!ctx) return "";
  cmsToneCurve* curve = nullptr;
  switch (transfer) {
    case NclxTransfer::srgb: {  // IEC 61966-2-1
      const cmsFloat64Number p[5] = {2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045};
      curve = cmsBuildParametricToneCurve(ctx.get(), 4, p);
      break;
    }
    case NclxTransfer::bt709: {  // ITU-R BT.709 (also BT.601, BT.2020 SDR)
      const cmsFloat64Number p[5] = {1 / 0.45, 1 / 1.099, 0.099 / 1.099, 1 / 4.5, 0.081};
      curve = cmsBuildParametricToneCurve(ctx.get(), 4, p);
      break;
    }
    case NclxTransfer::gamma22: curve = cmsBuildGamma(ctx.get(), 2.2); break;
    case NclxTransfer::gamma28: curve = cmsBuildGamma(ctx.get(), 2.8); break;
    case NclxTransfer::linear: curve = cmsBuildGamma(ctx.get(), 1.0); break;
  }
  if (!curve) return "";
  const cmsCIExyY white{wx, wy, 1.0};
  const cmsCIExyYTRIPLE primaries{{rx, ry, 1.0}, {gx, gy, 1.0}, {bx, by, 1.0}};
  cmsToneCurve* curves[3] = {curve, curve, curve};
  ProfilePtr p(cmsCreateRGBProfileTHR(ctx.get(), &white, &primaries, curves));
  cmsFreeToneCurve(curve);
  std::string out;
  cmsUInt32Number size = 0;
  if (p && cmsSaveProfileToMem(p.get(), nullptr, &size) && size > 0) {
    out.resize(size);
    if (!cmsSaveProfileToMem(p.get(), out.data(), &size)) out.clear();
    out.resize(std::min<std::size_t>(out.size(), size));
  }
  p.reset();  // before the context
  return out;
}

}  // namespace mediastore::detail
