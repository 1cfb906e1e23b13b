#include "media/resize.hpp"

// GCC's -O2 cost model leaves the row loops below scalar; they are the hot
// spot of thumbnailing. (Clang vectorizes them at -O2 already.)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("tree-loop-vectorize", "vect-cost-model=dynamic")
#endif

#include <algorithm>
#include <cmath>
#include <cstdint>
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
  std::vector<std::int32_t> weights;  // out_size * taps; zero past the last input index
  // Every weight fits in int16, as the SIMD kernels multiply them (always the
  // case for Lanczos-3 weights normalised to 1 << 14; checked, not assumed).
  bool fits16 = true;
  // The AVX2 horizontal pass's layout, made once per (in_size, out_size):
  // per output index, `groups` = ceil(taps / 4) blocks of 16 int16, the pair
  // (w[4g], w[4g+1]) four times then (w[4g+2], w[4g+3]) four times, with
  // zeros past `taps` (so no tap count is a special case).
  int groups = 0;
  std::vector<std::int16_t> packed;
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
  for (std::int32_t v : c.weights) c.fits16 = c.fits16 && v >= INT16_MIN && v <= INT16_MAX;
  c.groups = (c.taps + 3) / 4;
  c.packed.assign(static_cast<std::size_t>(out_size) * c.groups * 16, 0);
  for (int i = 0; i < out_size; ++i) {
    const std::int32_t* w = &c.weights[static_cast<std::size_t>(i) * c.taps];
    std::int16_t* q = &c.packed[static_cast<std::size_t>(i) * c.groups * 16];
    for (int t = 0; t < c.taps; ++t) {
      // Tap t = 4g + 2h + j goes to int16 slots 16g + 8h + 2m + j, m = 0..3.
      const int g = t / 4, h = (t / 2) % 2, j = t % 2;
      for (int m = 0; m < 4; ++m) q[16 * g + 8 * h + 2 * m + j] = static_cast<std::int16_t>(w[t]);
    }
  }
  return c;
}

// Weights depend only on (in_size, out_size); photos from one camera share
// them, and each call needs two sets. A few recent sets are kept per thread
// (no locking); sets over 256 KB are not kept, so the cache stays under 2 MB
// (800 outputs with 21 taps take 200 KB).
std::shared_ptr<const Coeffs> coeffs_for(int in_size, int out_size) {
  struct Entry {
    int in_size, out_size;
    std::shared_ptr<const Coeffs> coeffs;
  };
  constexpr std::size_t kEntries = 8, kMaxBytes = 256 << 10;
  thread_local std::vector<Entry> cache;  // most recently used first
  for (std::size_t i = 0; i < cache.size(); ++i) {
    if (cache[i].in_size == in_size && cache[i].out_size == out_size) {
      std::rotate(cache.begin(), cache.begin() + static_cast<std::ptrdiff_t>(i),
                  cache.begin() + static_cast<std::ptrdiff_t>(i) + 1);
      return cache.front().coeffs;
    }
  }
  auto c = std::make_shared<const Coeffs>(compute(in_size, out_size));
  const std::size_t bytes = c->weights.size() * sizeof(std::int32_t) + c->packed.size() * sizeof(std::int16_t) +
                            c->start.size() * sizeof(int);
  if (bytes <= kMaxBytes) {
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

// vertical_row_scalar with the weights as the SIMD kernels take them (see
// vertical_row_sse2), for rows shorter than one SIMD block.
void vertical_row_pairs_scalar(const std::uint8_t* const* rows, const std::int32_t* pairs, int npairs, std::size_t len,
                               std::uint8_t* out) {
  const std::int32_t half = 1 << (kPrecision - 1);
  for (std::size_t i = 0; i < len; ++i) {
    std::int32_t acc = half;
    for (int k = 0; k < npairs; ++k) {
      const auto w0 = static_cast<std::int16_t>(pairs[k] & 0xffff), w1 = static_cast<std::int16_t>(pairs[k] >> 16);
      acc += rows[2 * k][i] * w0 + rows[2 * k + 1][i] * w1;
    }
    out[i] = clamp8(acc);
  }
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
// `pairs[k]` holds the weights of rows[2k] and rows[2k + 1] as an int16 pair
// (an odd tap count ends with a zero weight on a repeated row).
void vertical_row_sse2(const std::uint8_t* const* rows, const std::int32_t* pairs, int npairs, std::size_t len,
                       std::uint8_t* out, const std::uint8_t* const* prefetch, int nprefetch) {
  const std::int32_t half = 1 << (kPrecision - 1);
  // Two taps at a time with pmaddwd: bytes of two rows interleaved as 16-bit
  // pairs, multiplied by the (w0, w1) pair and summed into 32 bits.
  const __m128i zero = _mm_setzero_si128();
  auto chunk = [&](std::size_t i) {
    __m128i a0 = _mm_set1_epi32(half), a1 = a0, a2 = a0, a3 = a0;
    for (int k = 0; k < npairs; ++k) {
      const __m128i wv = _mm_set1_epi32(pairs[k]);
      const __m128i r0 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[2 * k] + i));
      const __m128i r1 = _mm_loadu_si128(reinterpret_cast<const __m128i*>(rows[2 * k + 1] + i));
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
  };
  if (len < 16) return vertical_row_pairs_scalar(rows, pairs, npairs, len, out);
  std::size_t i = 0;
  for (; i + 16 <= len; i += 16) {
    if ((i & 48) == 0)
      for (int j = 0; j < nprefetch; ++j) _mm_prefetch(reinterpret_cast<const char*>(prefetch[j] + i), _MM_HINT_T0);
    chunk(i);
  }
  // The last (partial) block again as a whole block ending at `len`: the
  // bytes it recomputes come out the same.
  if (i < len) chunk(len - 16);
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
// vertical_row_sse2 on 32 bytes at a time. unpack/pack work within each
// 128-bit lane, and pack undoes the unpack's lane split, so bytes stay in order.
__attribute__((target("avx2"))) inline void vertical_block_avx2(const std::uint8_t* const* rows,
                                                                const std::int32_t* pairs, int npairs, std::size_t i,
                                                                std::uint8_t* out) {
  const __m256i zero = _mm256_setzero_si256();
  __m256i a0 = _mm256_set1_epi32(1 << (kPrecision - 1)), a1 = a0, a2 = a0, a3 = a0;
  for (int k = 0; k < npairs; ++k) {
    const __m256i wv = _mm256_set1_epi32(pairs[k]);
    const __m256i r0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows[2 * k] + i));
    const __m256i r1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(rows[2 * k + 1] + i));
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

// `prefetch[0..nprefetch)`: the input rows that the next output row adds,
// fetched alongside (a large image comes from memory, and the hardware
// prefetchers do not follow 2 * taps row streams at once).
__attribute__((target("avx2"))) void vertical_row_avx2(const std::uint8_t* const* rows, const std::int32_t* pairs,
                                                       int npairs, std::size_t len, std::uint8_t* out,
                                                       const std::uint8_t* const* prefetch, int nprefetch) {
  if (len < 32) return vertical_row_pairs_scalar(rows, pairs, npairs, len, out);
  std::size_t i = 0;
  for (; i + 32 <= len; i += 32) {
    if ((i & 32) == 0)
      for (int j = 0; j < nprefetch; ++j) _mm_prefetch(reinterpret_cast<const char*>(prefetch[j] + i), _MM_HINT_T0);
    vertical_block_avx2(rows, pairs, npairs, i, out);
  }
  if (i < len) vertical_block_avx2(rows, pairs, npairs, len - 32, out);  // overlaps the previous block: same bytes
}

// The vertical pass on 64 bytes at a time with AVX-512BW, vpdpwssd (VNNI)
// doing vpmaddwd and the add in one; the same integers as the other kernels.
__attribute__((target("avx2,avx512f,avx512bw,avx512vnni"))) inline void vertical_block_avx512(
    const std::uint8_t* const* rows, const std::int32_t* pairs, int npairs, std::size_t i, std::uint8_t* out) {
  const __m512i zero = _mm512_setzero_si512();
  __m512i a0 = _mm512_set1_epi32(1 << (kPrecision - 1)), a1 = a0, a2 = a0, a3 = a0;
  for (int k = 0; k < npairs; ++k) {
    const __m512i wv = _mm512_set1_epi32(pairs[k]);
    const __m512i r0 = _mm512_loadu_si512(rows[2 * k] + i);
    const __m512i r1 = _mm512_loadu_si512(rows[2 * k + 1] + i);
    const __m512i lo = _mm512_unpacklo_epi8(r0, r1), hi = _mm512_unpackhi_epi8(r0, r1);
    a0 = _mm512_dpwssd_epi32(a0, _mm512_unpacklo_epi8(lo, zero), wv);
    a1 = _mm512_dpwssd_epi32(a1, _mm512_unpackhi_epi8(lo, zero), wv);
    a2 = _mm512_dpwssd_epi32(a2, _mm512_unpacklo_epi8(hi, zero), wv);
    a3 = _mm512_dpwssd_epi32(a3, _mm512_unpackhi_epi8(hi, zero), wv);
  }
  // Masked form: GCC 12's unmasked one warns about its own undefined operand.
  const __mmask16 all = 0xffff;
  a0 = _mm512_mask_srai_epi32(a0, all, a0, kPrecision);
  a1 = _mm512_mask_srai_epi32(a1, all, a1, kPrecision);
  a2 = _mm512_mask_srai_epi32(a2, all, a2, kPrecision);
  a3 = _mm512_mask_srai_epi32(a3, all, a3, kPrecision);
  const __m512i packed = _mm512_packus_epi16(_mm512_packs_epi32(a0, a1), _mm512_packs_epi32(a2, a3));
  _mm512_storeu_si512(out + i, packed);
}

__attribute__((target("avx2,avx512f,avx512bw,avx512vnni"))) void vertical_row_avx512(
    const std::uint8_t* const* rows, const std::int32_t* pairs, int npairs, std::size_t len, std::uint8_t* out,
    const std::uint8_t* const* prefetch, int nprefetch) {
  if (len < 64) return vertical_row_avx2(rows, pairs, npairs, len, out, prefetch, nprefetch);
  std::size_t i = 0;
  for (; i + 64 <= len; i += 64) {
    for (int j = 0; j < nprefetch; ++j) _mm_prefetch(reinterpret_cast<const char*>(prefetch[j] + i), _MM_HINT_T0);
    vertical_block_avx512(rows, pairs, npairs, i, out);
  }
  if (i < len) vertical_block_avx512(rows, pairs, npairs, len - 64, out);  // overlaps the previous block
}

// `R` output rows of the horizontal pass at once (rows `line` bytes apart in
// and `out_line` apart out): they share the weights. Per output pixel and 4
// taps, one vpmaddwd: the 16 bytes from the first tap's pixel are broadcast
// to both lanes and shuffled to [R0 R1 G0 G1 B0 B1 0 0] in the low lane and
// [R2 R3 G2 G3 B2 B3 0 0] in the high lane, against cx.packed. The weights
// past each pixel's last tap are zero, so this reads up to 12 * groups + 4
// bytes past the end of the last row: the caller pads the input.
template <int R>
__attribute__((target("avx2"))) void horizontal_rows_avx2(const std::uint8_t* in, std::size_t line, const Coeffs& cx,
                                                          int dw, std::uint8_t* out, std::size_t out_line) {
  const std::int32_t half = 1 << (kPrecision - 1);
  const __m256i shuffle = _mm256_setr_epi8(0, -1, 3, -1, 1, -1, 4, -1, 2, -1, 5, -1, -1, -1, -1, -1,  //
                                           6, -1, 9, -1, 7, -1, 10, -1, 8, -1, 11, -1, -1, -1, -1, -1);
  const __m256i init = _mm256_setr_epi32(half, half, half, 0, 0, 0, 0, 0);
  const std::int16_t* wp = cx.packed.data();
  const int groups = cx.groups;
  for (int x = 0; x < dw; ++x) {
    const std::uint8_t* p = in + static_cast<std::size_t>(cx.start[x]) * 3;
    __m256i acc[R];
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) acc[r] = init;
    for (int g = 0; g < groups; ++g, p += 12, wp += 16) {
      const __m256i wv = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wp));
#pragma GCC unroll 4
      for (int r = 0; r < R; ++r) {
        const __m256i v = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p + r * line)));
        acc[r] = _mm256_add_epi32(acc[r], _mm256_madd_epi16(_mm256_shuffle_epi8(v, shuffle), wv));
      }
    }
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      __m128i s = _mm_add_epi32(_mm256_castsi256_si128(acc[r]), _mm256_extracti128_si256(acc[r], 1));
      s = _mm_srai_epi32(s, kPrecision);
      s = _mm_packs_epi32(s, s);
      const std::uint32_t v = static_cast<std::uint32_t>(_mm_cvtsi128_si32(_mm_packus_epi16(s, s)));
      // 4 bytes (the 4th is the next pixel's, written after), 3 for the last.
      std::uint8_t* o = out + r * out_line + static_cast<std::size_t>(x) * 3;
      if (x + 1 < dw) {
        std::memcpy(o, &v, 4);
      } else {
        std::memcpy(o, &v, 3);
      }
    }
  }
}
#endif

bool cpu_has_avx2() {
#if MS_RESIZE_AVX2
  static const bool yes = __builtin_cpu_supports("avx2");
  return yes;
#else
  return false;
#endif
}

bool cpu_has_avx512() {
#if MS_RESIZE_AVX2
  static const bool yes = cpu_has_avx2() && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni");
  return yes;
#else
  return false;
#endif
}

ResizeKernel best_kernel() {
  if (cpu_has_avx512()) return ResizeKernel::avx512;
  if (cpu_has_avx2()) return ResizeKernel::avx2;
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
    case ResizeKernel::avx2: return cpu_has_avx2();
    case ResizeKernel::avx512: return cpu_has_avx512();
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
  if (!cx.fits16 || !cy.fits16) kernel = ResizeKernel::scalar;  // the SIMD kernels multiply int16 weights
  const std::size_t in_line = static_cast<std::size_t>(w) * 3;
  // Every row is written by the vertical pass (not zeroed first); the padding
  // the SIMD horizontal kernels read past the last pixel (up to 12 * groups + 4
  // bytes, with zero weights) is zeroed.
  const std::size_t pad = static_cast<std::size_t>(cx.groups) * 12 + 16;
  PixelBuffer tmp(in_line * dh + pad);
  std::memset(tmp.data() + in_line * dh, 0, pad);
  // rows[t]: the input rows of one output row; an odd count is padded with a
  // repeated row of weight zero, so that the SIMD kernels take taps in pairs.
  std::vector<const std::uint8_t*> rows(static_cast<std::size_t>(cy.taps) + 1);
  std::vector<std::int32_t> pairs(static_cast<std::size_t>(cy.taps) / 2 + 1);
  std::vector<const std::uint8_t*> prefetch(static_cast<std::size_t>(cy.taps));
  for (int y = 0; y < dh; ++y) {
    const std::int32_t* wt = &cy.weights[static_cast<std::size_t>(y) * cy.taps];
    const int first = cy.start[y];
    const int n = std::min(cy.taps, h - first);
    for (int t = 0; t < n; ++t) rows[t] = src + static_cast<std::size_t>(first + t) * stride;
    std::uint8_t* out = tmp.data() + static_cast<std::size_t>(y) * in_line;
    if (kernel == ResizeKernel::scalar) {
      vertical_row_scalar(rows.data(), wt, n, 0, in_line, out);
      continue;
    }
    const int npairs = (n + 1) / 2;
    if (n % 2) rows[n] = rows[n - 1];
    for (int k = 0; k < npairs; ++k) pairs[k] = pack_pair(wt[2 * k], 2 * k + 1 < n ? wt[2 * k + 1] : 0);
    int nprefetch = 0;
    if (y + 1 < dh) {
      const int next_end = std::min(cy.start[y + 1] + cy.taps, h);
      for (int row = std::max(first + n, cy.start[y + 1]); row < next_end; ++row)
        prefetch[nprefetch++] = src + static_cast<std::size_t>(row) * stride;
    }
    static_cast<void>(nprefetch);  // unused without SIMD kernels
    switch (kernel) {
#if MS_RESIZE_AVX2
      case ResizeKernel::avx2:
        vertical_row_avx2(rows.data(), pairs.data(), npairs, in_line, out, prefetch.data(), nprefetch);
        break;
      case ResizeKernel::avx512:
        vertical_row_avx512(rows.data(), pairs.data(), npairs, in_line, out, prefetch.data(), nprefetch);
        break;
#endif
#if defined(__SSE2__)
      case ResizeKernel::sse2:
        vertical_row_sse2(rows.data(), pairs.data(), npairs, in_line, out, prefetch.data(), nprefetch);
        break;
#endif
      default: vertical_row_pairs_scalar(rows.data(), pairs.data(), npairs, in_line, out); break;
    }
  }
  Raster r;
  r.width = dw;
  r.height = dh;
  r.rgb.resize(static_cast<std::size_t>(dw) * dh * 3);
  const std::size_t out_line = static_cast<std::size_t>(dw) * 3;
  int y = 0;
#if MS_RESIZE_AVX2
  if (kernel == ResizeKernel::avx2 || kernel == ResizeKernel::avx512) {  // one horizontal kernel for both
    for (; y + 4 <= dh; y += 4)
      horizontal_rows_avx2<4>(tmp.data() + y * in_line, in_line, cx, dw, r.rgb.data() + y * out_line, out_line);
    for (; y < dh; ++y)
      horizontal_rows_avx2<1>(tmp.data() + y * in_line, in_line, cx, dw, r.rgb.data() + y * out_line, out_line);
  }
#endif
  for (; y < dh; ++y) {
    const std::uint8_t* in = tmp.data() + static_cast<std::size_t>(y) * in_line;
    std::uint8_t* out = r.rgb.data() + static_cast<std::size_t>(y) * out_line;
    switch (kernel) {
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
