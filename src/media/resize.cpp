#include "media/resize.hpp"

// GCC's -O2 cost model leaves the row loops below scalar; they are the hot
// spot of thumbnailing. (Clang vectorizes them at -O2 already.)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("tree-loop-vectorize", "vect-cost-model=dynamic")
#endif

#include <algorithm>
#include <cmath>
#include <cstring>
#include <memory>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif
// AVX2 kernels compiled for x86-64 whatever the build's baseline, chosen at
// run time (__builtin_cpu_supports); the SSE2 and scalar ones stay.
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define MS_RESIZE_AVX2 1
#include <immintrin.h>
#else
#define MS_RESIZE_AVX2 0
#endif

namespace mediastore::detail {
namespace {

constexpr int kPrecision = 14;
constexpr double kSupport = 3.0;

double sinc(double x) {
  if (x == 0.0) return 1.0;
  x *= M_PI;
  return std::sin(x) / x;
}
double lanczos3(double x) { return (x > -kSupport && x < kSupport) ? sinc(x) * sinc(x / kSupport) : 0.0; }

// For each output index: the first input index and its fixed-point weights.
struct Coeffs {
  int taps = 0;
  std::vector<int> start;
  std::vector<std::int32_t> weights;  // out_size * taps
};

Coeffs compute(int in_size, int out_size) {
  const double scale = static_cast<double>(in_size) / out_size;
  const double filter_scale = std::max(scale, 1.0);
  const double support = kSupport * filter_scale;
  Coeffs c;
  c.taps = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.start.resize(out_size);
  c.weights.assign(static_cast<std::size_t>(out_size) * c.taps, 0);
  std::vector<double> k(c.taps);
  for (int i = 0; i < out_size; ++i) {
    const double center = (i + 0.5) * scale;
    int lo = std::max(0, static_cast<int>(center - support + 0.5));
    int hi = std::min(in_size, static_cast<int>(center + support + 0.5));
    int n = std::min(hi - lo, c.taps);
    double sum = 0;
    for (int x = 0; x < n; ++x) {
      k[x] = lanczos3((x + lo - center + 0.5) / filter_scale);
      sum += k[x];
    }
    c.start[i] = lo;
    std::int32_t* w = &c.weights[static_cast<std::size_t>(i) * c.taps];
    for (int x = 0; x < n; ++x) w[x] = static_cast<std::int32_t>(std::lround(k[x] / sum * (1 << kPrecision)));
  }
  return c;
}

// Weights depend only on (in_size, out_size); photos from one camera share
// them, and each call needs two sets. A few recent sets are kept per thread
// (no locking); large sets are not kept, so the cache stays well under 2 MB.
std::shared_ptr<const Coeffs> coeffs_for(int in_size, int out_size) {
  struct Entry {
    int in_size, out_size;
    std::shared_ptr<const Coeffs> coeffs;
  };
  constexpr std::size_t kEntries = 8, kMaxWeights = 1 << 16;
  thread_local std::vector<Entry> cache;  // most recently used first
  for (std::size_t i = 0; i < cache.size(); ++i) {
    if (cache[i].in_size == in_size && cache[i].out_size == out_size) {
      std::rotate(cache.begin(), cache.begin() + static_cast<std::ptrdiff_t>(i),
                  cache.begin() + static_cast<std::ptrdiff_t>(i) + 1);
      return cache.front().coeffs;
    }
  }
  auto c = std::make_shared<const Coeffs>(compute(in_size, out_size));
  if (c->weights.size() <= kMaxWeights) {
    if (cache.size() == kEntries) cache.pop_back();
    cache.insert(cache.begin(), Entry{in_size, out_size, c});
  }
  return c;
}

inline std::uint8_t clamp8(std::int32_t v) {
  v >>= kPrecision;
  return static_cast<std::uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

// One output row of the vertical pass: out[i] = sum_t rows[t][i] * w[t].
// Every kernel computes exactly the same integers (the SIMD ones only group
// the additions differently), so their outputs are identical.
void vertical_row_scalar(const std::uint8_t* const* rows, const std::int32_t* w, int n, std::size_t i, std::size_t len,
                         std::uint8_t* out) {
  const std::int32_t half = 1 << (kPrecision - 1);
  for (; i < len; ++i) {
    std::int32_t acc = half;
    for (int t = 0; t < n; ++t) acc += rows[t][i] * w[t];
    out[i] = clamp8(acc);
  }
}

inline std::int32_t pack_pair(std::int32_t w0, std::int32_t w1) {
  return static_cast<std::int32_t>((static_cast<std::uint32_t>(w1) << 16) | (static_cast<std::uint32_t>(w0) & 0xffffu));
}

// One output row of the horizontal pass (RGB pixels, taps `cx.taps` apart).
void horizontal_row_scalar(const std::uint8_t* in, const Coeffs& cx, int w, int x, int dw, std::uint8_t* out) {
  const std::int32_t half = 1 << (kPrecision - 1);
  for (; x < dw; ++x) {
    const std::int32_t* wt = &cx.weights[static_cast<std::size_t>(x) * cx.taps];
    const int n = std::min(cx.taps, w - cx.start[x]);
    const std::uint8_t* p = in + static_cast<std::size_t>(cx.start[x]) * 3;
    std::int32_t cr = half, cg = half, cb = half;
    for (int t = 0; t < n; ++t, p += 3) {
      cr += p[0] * wt[t];
      cg += p[1] * wt[t];
      cb += p[2] * wt[t];
    }
    out[x * 3] = clamp8(cr);
    out[x * 3 + 1] = clamp8(cg);
    out[x * 3 + 2] = clamp8(cb);
  }
}

#if defined(__SSE2__)
void vertical_row_sse2(const std::uint8_t* const* rows, const std::int32_t* w, int n, std::size_t len,
                       std::uint8_t* out) {
  const std::int32_t half = 1 << (kPrecision - 1);
  std::size_t i = 0;
  // Two taps at a time with pmaddwd: bytes of two rows interleaved as 16-bit
  // pairs, multiplied by the (w0, w1) pair and summed into 32 bits.
  const __m128i zero = _mm_setzero_si128();
  for (; i + 16 <= len; i += 16) {
    __m128i a0 = _mm_set1_epi32(half), a1 = a0, a2 = a0, a3 = a0;
    for (int t = 0; t < n; t += 2) {
      const bool pair = t + 1 < n;
      const __m128i wv = _mm_set1_epi32(pack_pair(w[t], pair ? w[t + 1] : 0));
      const __m128i r0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[t] + i));
      const __m128i r1 = pair ? _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[t + 1] + i)) : zero;
      const __m128i lo = _mm_unpacklo_epi8(r0, r1), hi = _mm_unpackhi_epi8(r0, r1);
      a0 = _mm_add_epi32(a0, _mm_madd_epi16(_mm_unpacklo_epi8(lo, zero), wv));
      a1 = _mm_add_epi32(a1, _mm_madd_epi16(_mm_unpackhi_epi8(lo, zero), wv));
      a2 = _mm_add_epi32(a2, _mm_madd_epi16(_mm_unpacklo_epi8(hi, zero), wv));
      a3 = _mm_add_epi32(a3, _mm_madd_epi16(_mm_unpackhi_epi8(hi, zero), wv));
    }
    a0 = _mm_srai_epi32(a0, kPrecision);
    a1 = _mm_srai_epi32(a1, kPrecision);
    a2 = _mm_srai_epi32(a2, kPrecision);
    a3 = _mm_srai_epi32(a3, kPrecision);
    const __m128i packed = _mm_packus_epi16(_mm_packs_epi32(a0, a1), _mm_packs_epi32(a2, a3));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), packed);
  }
  vertical_row_scalar(rows, w, n, i, len, out);
}

// Reads 4 bytes per RGB pixel: the caller pads the input by at least 1 byte.
void horizontal_row_sse2(const std::uint8_t* in, const Coeffs& cx, int w, int dw, std::uint8_t* out) {
  const std::int32_t half = 1 << (kPrecision - 1);
  const __m128i zero = _mm_setzero_si128();
  for (int x = 0; x < dw; ++x) {
    const std::int32_t* wt = &cx.weights[static_cast<std::size_t>(x) * cx.taps];
    const int n = std::min(cx.taps, w - cx.start[x]);
    const std::uint8_t* p = in + static_cast<std::size_t>(cx.start[x]) * 3;
    // Two taps at a time: [R0 R1 G0 G1 B0 B1 x x] . [w0 w1 ...] with pmaddwd.
    __m128i acc = _mm_set1_epi32(half);
    int t = 0;
    for (; t + 2 <= n; t += 2, p += 6) {
      std::int32_t v0, v1;
      std::memcpy(&v0, p, 4);
      std::memcpy(&v1, p + 3, 4);
      const __m128i x0 = _mm_unpacklo_epi8(_mm_cvtsi32_si128(v0), zero);
      const __m128i x1 = _mm_unpacklo_epi8(_mm_cvtsi32_si128(v1), zero);
      const __m128i wv = _mm_set1_epi32(pack_pair(wt[t], wt[t + 1]));
      acc = _mm_add_epi32(acc, _mm_madd_epi16(_mm_unpacklo_epi16(x0, x1), wv));
    }
    if (t < n) {
      std::int32_t v0;
      std::memcpy(&v0, p, 4);
      const __m128i x0 = _mm_unpacklo_epi8(_mm_cvtsi32_si128(v0), zero);
      const __m128i wv = _mm_set1_epi32(pack_pair(wt[t], 0));
      acc = _mm_add_epi32(acc, _mm_madd_epi16(_mm_unpacklo_epi16(x0, zero), wv));
    }
    alignas(16) std::int32_t sum[4];
    _mm_store_si128(reinterpret_cast<__m128i*>(sum), acc);
    out[x * 3] = clamp8(sum[0]);
    out[x * 3 + 1] = clamp8(sum[1]);
    out[x * 3 + 2] = clamp8(sum[2]);
  }
}
#endif

#if MS_RESIZE_AVX2
// The SSE2 vertical pass on 32 bytes at a time. unpack/pack work within each
// 128-bit lane, and pack undoes the unpack's lane split, so bytes stay in order.
__attribute__((target("avx2"))) void vertical_row_avx2(const std::uint8_t* const* rows, const std::int32_t* w, int n,
                                                       std::size_t len, std::uint8_t* out) {
  const std::int32_t half = 1 << (kPrecision - 1);
  std::size_t i = 0;
  const __m256i zero = _mm256_setzero_si256();
  for (; i + 32 <= len; i += 32) {
    __m256i a0 = _mm256_set1_epi32(half), a1 = a0, a2 = a0, a3 = a0;
    for (int t = 0; t < n; t += 2) {
      const bool pair = t + 1 < n;
      const __m256i wv = _mm256_set1_epi32(pack_pair(w[t], pair ? w[t + 1] : 0));
      const __m256i r0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows[t] + i));
      const __m256i r1 = pair ? _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows[t + 1] + i)) : zero;
      const __m256i lo = _mm256_unpacklo_epi8(r0, r1), hi = _mm256_unpackhi_epi8(r0, r1);
      a0 = _mm256_add_epi32(a0, _mm256_madd_epi16(_mm256_unpacklo_epi8(lo, zero), wv));
      a1 = _mm256_add_epi32(a1, _mm256_madd_epi16(_mm256_unpackhi_epi8(lo, zero), wv));
      a2 = _mm256_add_epi32(a2, _mm256_madd_epi16(_mm256_unpacklo_epi8(hi, zero), wv));
      a3 = _mm256_add_epi32(a3, _mm256_madd_epi16(_mm256_unpackhi_epi8(hi, zero), wv));
    }
    a0 = _mm256_srai_epi32(a0, kPrecision);
    a1 = _mm256_srai_epi32(a1, kPrecision);
    a2 = _mm256_srai_epi32(a2, kPrecision);
    a3 = _mm256_srai_epi32(a3, kPrecision);
    const __m256i packed = _mm256_packus_epi16(_mm256_packs_epi32(a0, a1), _mm256_packs_epi32(a2, a3));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), packed);
  }
  vertical_row_scalar(rows, w, n, i, len, out);
}

// Four taps per vpmaddwd: 16 bytes (pixels t..t+3 and 4 bytes beyond) are
// broadcast to both lanes and shuffled to [R0 R1 G0 G1 B0 B1 0 0] in the low
// lane and [R2 R3 G2 G3 B2 B3 0 0] in the high lane, against the weight
// pairs (w0,w1) and (w2,w3). Reads up to 4 bytes past the last tap: the
// caller pads the input by at least 4 bytes.
__attribute__((target("avx2"))) void horizontal_row_avx2(const std::uint8_t* in, const Coeffs& cx, int w, int dw,
                                                         std::uint8_t* out) {
  const std::int32_t half = 1 << (kPrecision - 1);
  const __m256i shuffle = _mm256_setr_epi8(0, -1, 3, -1, 1, -1, 4, -1, 2, -1, 5, -1, -1, -1, -1, -1,  //
                                           6, -1, 9, -1, 7, -1, 10, -1, 8, -1, 11, -1, -1, -1, -1, -1);
  for (int x = 0; x < dw; ++x) {
    const std::int32_t* wt = &cx.weights[static_cast<std::size_t>(x) * cx.taps];
    const int n = std::min(cx.taps, w - cx.start[x]);
    const std::uint8_t* p = in + static_cast<std::size_t>(cx.start[x]) * 3;
    __m256i acc = _mm256_setzero_si256();
    int t = 0;
    for (; t + 4 <= n; t += 4, p += 12) {
      const __m256i v = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
      const std::int32_t w01 = pack_pair(wt[t], wt[t + 1]), w23 = pack_pair(wt[t + 2], wt[t + 3]);
      const __m256i wv = _mm256_setr_epi32(w01, w01, w01, w01, w23, w23, w23, w23);
      acc = _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_shuffle_epi8(v, shuffle), wv));
    }
    const __m128i sum4 = _mm_add_epi32(_mm256_castsi256_si128(acc), _mm256_extracti128_si256(acc, 1));
    alignas(16) std::int32_t sum[4];
    _mm_store_si128(reinterpret_cast<__m128i*>(sum), sum4);
    std::int32_t cr = half + sum[0], cg = half + sum[1], cb = half + sum[2];
    for (; t < n; ++t, p += 3) {
      cr += p[0] * wt[t];
      cg += p[1] * wt[t];
      cb += p[2] * wt[t];
    }
    out[x * 3] = clamp8(cr);
    out[x * 3 + 1] = clamp8(cg);
    out[x * 3 + 2] = clamp8(cb);
  }
}
#endif

ResizeKernel best_kernel() {
#if MS_RESIZE_AVX2
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2) return ResizeKernel::avx2;
#endif
#if defined(__SSE2__)
  return ResizeKernel::sse2;
#else
  return ResizeKernel::scalar;
#endif
}

}  // namespace

bool resize_kernel_available(ResizeKernel k) {
  switch (k) {
    case ResizeKernel::automatic:
    case ResizeKernel::scalar: return true;
    case ResizeKernel::sse2:
#if defined(__SSE2__)
      return true;
#else
      return false;
#endif
    case ResizeKernel::avx2: return best_kernel() == ResizeKernel::avx2;
  }
  return false;
}

// Vertical pass first: it runs over whole contiguous rows (vectorizes well)
// and shrinks the row count before the horizontal pass, whose taps walk
// interleaved pixels.
Raster resize_lanczos3(const std::uint8_t* src, int w, int h, std::size_t stride, int dw, int dh, ResizeKernel kernel) {
  if (kernel == ResizeKernel::automatic || !resize_kernel_available(kernel)) kernel = best_kernel();
  const std::shared_ptr<const Coeffs> cx_ptr = coeffs_for(w, dw), cy_ptr = coeffs_for(h, dh);
  const Coeffs &cx = *cx_ptr, &cy = *cy_ptr;
  const std::size_t in_line = static_cast<std::size_t>(w) * 3;
  // Every row is written by the vertical pass (not zeroed first); the padding
  // the SIMD kernels read past the last pixel (up to 4 bytes) is zeroed.
  PixelBuffer tmp(in_line * dh + 16);
  std::memset(tmp.data() + in_line * dh, 0, 16);
  std::vector<const std::uint8_t*> rows(static_cast<std::size_t>(cy.taps) + 1);
  for (int y = 0; y < dh; ++y) {
    const std::int32_t* wt = &cy.weights[static_cast<std::size_t>(y) * cy.taps];
    const int first = cy.start[y];
    const int n = std::min(cy.taps, h - first);
    for (int t = 0; t < n; ++t) rows[t] = src + static_cast<std::size_t>(first + t) * stride;
    std::uint8_t* out = tmp.data() + static_cast<std::size_t>(y) * in_line;
    switch (kernel) {
#if MS_RESIZE_AVX2
      case ResizeKernel::avx2: vertical_row_avx2(rows.data(), wt, n, in_line, out); break;
#endif
#if defined(__SSE2__)
      case ResizeKernel::sse2: vertical_row_sse2(rows.data(), wt, n, in_line, out); break;
#endif
      default: vertical_row_scalar(rows.data(), wt, n, 0, in_line, out); break;
    }
  }
  Raster r;
  r.width = dw;
  r.height = dh;
  r.rgb.resize(static_cast<std::size_t>(dw) * dh * 3);
  for (int y = 0; y < dh; ++y) {
    const std::uint8_t* in = tmp.data() + static_cast<std::size_t>(y) * in_line;
    std::uint8_t* out = r.rgb.data() + static_cast<std::size_t>(y) * dw * 3;
    switch (kernel) {
#if MS_RESIZE_AVX2
      case ResizeKernel::avx2: horizontal_row_avx2(in, cx, w, dw, out); break;
#endif
#if defined(__SSE2__)
      case ResizeKernel::sse2: horizontal_row_sse2(in, cx, w, dw, out); break;
#endif
      default: horizontal_row_scalar(in, cx, w, 0, dw, out); break;
    }
  }
  return r;
}

Raster apply_orientation(Raster in, int o) {
  if (o < 2 || o > 8) return in;
  const int W = in.width, H = in.height;
  Raster out;
  out.width = orientation_swaps(o) ? H : W;
  out.height = orientation_swaps(o) ? W : H;
  out.rgb.resize(in.rgb.size());
  for (int y = 0; y < out.height; ++y) {
    for (int x = 0; x < out.width; ++x) {
      int sx = x, sy = y;
      switch (o) {
        case 2: sx = W - 1 - x; break;
        case 3:
          sx = W - 1 - x;
          sy = H - 1 - y;
          break;
        case 4: sy = H - 1 - y; break;
        case 5:
          sx = y;
          sy = x;
          break;
        case 6:
          sx = y;
          sy = H - 1 - x;
          break;
        case 7:
          sx = W - 1 - y;
          sy = H - 1 - x;
          break;
        case 8:
          sx = W - 1 - y;
          sy = x;
          break;
      }
      std::memcpy(&out.rgb[(static_cast<std::size_t>(y) * out.width + x) * 3],
                  &in.rgb[(static_cast<std::size_t>(sy) * W + sx) * 3], 3);
    }
  }
  return out;
}

}  // namespace mediastore::detail
