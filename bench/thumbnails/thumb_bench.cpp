// Thumbnail benchmark driver (issue 4): times make_thumbnails_file for the
// three default sizes. Not a test; bench/thumbnails/run.sh drives it.
//
//   bench_thumbs serve [FORMAT]
//       FORMAT jpeg (default), webp or avif: the three sizes in that format
//       only (one decode, one resize per size, one encode per size).
//       Reads "REPS PATH" lines on stdin; for each, one warm-up call, then
//       REPS timed calls; answers one line "ok CPU_MS,... WALL_MS,..." (CPU is
//       this thread's user+system time) or "error MESSAGE".
//   bench_thumbs write PATH OUTDIR [FORMAT]  writes small.EXT, medium.EXT, large.EXT
//   bench_thumbs encode-split REPS PATH  encode time alone per format (medians,
//       ms, the three sizes together, from the same resized rasters)
//   bench_thumbs to-ppm FILE OUT.ppm     decodes FILE (any supported type) with
//       libmediastore's decoders into a binary PPM (for SSIM of WebP/AVIF)
//   bench_thumbs once PATH [N]           N calls (default 1), for /usr/bin/time and callgrind
//   bench_thumbs throughput THREADS PASSES LISTFILE
//       Every photo of LISTFILE (one path a line) once to warm the page cache,
//       then PASSES passes over the list shared by THREADS threads; prints
//       "photos N wall_s W cpu_s C photos_per_s P".
//   bench_thumbs split REPS PATH
//       Where the time goes (medians, ms): decode (libmediastore's scaled
//       decode), the three resizes, the three encodes; plus plain libjpeg-turbo
//       decodes of the same file at each DCT scale N/8, for comparison, and
//       at 1/8, 1/4, 1/2, 1 with Pillow's draft-mode settings (no fancy
//       upsampling, JDCT_IFAST).
//   bench_thumbs serve-pow2 FACTOR / write-pow2 FACTOR PATH LARGE_JPG
//       A what-if, not libmediastore's code path: the same pipeline with the
//       JPEG decoded at the smallest power-of-two DCT scale giving at least
//       FACTOR times the large thumbnail (see pow2_thumbs).
#include <cstddef>
#include <cstdio>

#include <jpeglib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "media/decode.hpp"
#include "media/encode.hpp"
#include "media/encode_jpeg.hpp"
#include "media/resize.hpp"
#include "mediastore/media.hpp"

namespace ms = mediastore;
namespace detail = mediastore::detail;

namespace {

double cpu_ms(clockid_t clock = CLOCK_THREAD_CPUTIME_ID) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}
double wall_ms() {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now().time_since_epoch()).count();
}
double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const std::size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}
std::string join(const std::vector<double>& v) {
  std::string s;
  char buf[32];
  for (double x : v) {
    std::snprintf(buf, sizeof buf, "%s%.3f", s.empty() ? "" : ",", x);
    s += buf;
  }
  return s;
}

// The default sizes in one format; exits on an unknown name.
std::vector<ms::ThumbnailSpec> specs_for(const std::string& format) {
  auto specs = ms::default_thumbnail_specs();
  ms::ThumbnailFormat f = ms::ThumbnailFormat::jpeg;
  if (format == "webp")
    f = ms::ThumbnailFormat::webp;
  else if (format == "avif")
    f = ms::ThumbnailFormat::avif;
  else if (format != "jpeg") {
    std::fprintf(stderr, "unknown format %s\n", format.c_str());
    std::exit(2);
  }
  for (auto& s : specs) s.formats = {f};
  return specs;
}

int to_ppm(const std::string& file, const std::string& out) {
  auto in = detail::Input::open_file(file);
  if (!in) return 1;
  const ms::MediaType type = ms::sniff_media_type(in->read_string(0, 4096));
  auto img = detail::decode_image(type, *in, detail::DecodeOptions{});
  if (!img) {
    std::fprintf(stderr, "%s: %s\n", file.c_str(), img.status().message().c_str());
    return 1;
  }
  std::ofstream f(out, std::ios::binary);
  f << "P6\n" << img->raster.width << " " << img->raster.height << "\n255\n";
  f.write(reinterpret_cast<const char*>(img->raster.rgb.data()), static_cast<std::streamsize>(img->raster.rgb.size()));
  return f ? 0 : 1;
}

int serve(const std::string& format) {
  const auto specs = specs_for(format);
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    int reps = 0;
    std::string path;
    in >> reps;
    std::getline(in >> std::ws, path);
    if (reps <= 0 || path.empty()) {
      std::cout << "error bad request: " << line << std::endl;
      continue;
    }
    auto warm = ms::make_thumbnails_file(path, specs);
    if (!warm) {
      std::cout << "error " << warm.status().message() << std::endl;
      continue;
    }
    std::vector<double> cpu, wall;
    for (int i = 0; i < reps; ++i) {
      const double c0 = cpu_ms(), w0 = wall_ms();
      auto r = ms::make_thumbnails_file(path, specs);
      const double c1 = cpu_ms(), w1 = wall_ms();
      if (!r || r->size() != specs.size()) return 1;
      cpu.push_back(c1 - c0);
      wall.push_back(w1 - w0);
    }
    std::cout << "ok " << join(cpu) << " " << join(wall) << std::endl;
  }
  return 0;
}

int write(const std::string& path, const std::string& dir, const std::string& format) {
  auto r = ms::make_thumbnails_file(path, specs_for(format));
  if (!r) {
    std::fprintf(stderr, "%s\n", r.status().message().c_str());
    return 1;
  }
  for (const auto& t : *r) {
    const std::string out = dir + "/" + t.name + "." + t.extension;
    std::ofstream f(out, std::ios::binary);
    f.write(t.bytes.data(), static_cast<std::streamsize>(t.bytes.size()));
    if (!f) {
      std::fprintf(stderr, "cannot write %s\n", out.c_str());
      return 1;
    }
    std::printf("%s %dx%d\n", t.name.c_str(), t.width, t.height);
  }
  return 0;
}

int once(const std::string& path, int n) {
  const auto specs = ms::default_thumbnail_specs();
  for (int i = 0; i < n; ++i) {
    auto r = ms::make_thumbnails_file(path, specs);
    if (!r) {
      std::fprintf(stderr, "%s\n", r.status().message().c_str());
      return 1;
    }
  }
  return 0;
}

int throughput(int threads, int passes, const std::string& list) {
  std::vector<std::string> paths;
  std::ifstream f(list);
  for (std::string p; std::getline(f, p);)
    if (!p.empty()) paths.push_back(p);
  if (paths.empty() || threads < 1 || passes < 1) {
    std::fprintf(stderr, "throughput: empty list or bad arguments\n");
    return 2;
  }
  const auto specs = ms::default_thumbnail_specs();
  for (const auto& p : paths)
    if (!ms::make_thumbnails_file(p, specs)) {
      std::fprintf(stderr, "throughput: %s fails\n", p.c_str());
      return 1;
    }
  const std::size_t total = paths.size() * static_cast<std::size_t>(passes);
  std::atomic<std::size_t> next{0};
  std::atomic<bool> failed{false};
  const double c0 = cpu_ms(CLOCK_PROCESS_CPUTIME_ID), w0 = wall_ms();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      for (std::size_t i; (i = next.fetch_add(1)) < total;)
        if (!ms::make_thumbnails_file(paths[i % paths.size()], specs)) failed = true;
    });
  for (auto& t : pool) t.join();
  const double wall_s = (wall_ms() - w0) / 1e3, cpu_s = (cpu_ms(CLOCK_PROCESS_CPUTIME_ID) - c0) / 1e3;
  if (failed) return 1;
  std::printf("photos %zu wall_s %.3f cpu_s %.3f photos_per_s %.2f\n", total, wall_s, cpu_s,
              static_cast<double>(total) / wall_s);
  return 0;
}

// A plain libjpeg-turbo decode to RGB at scale num/8 (default DCT method and
// upsampling, as libmediastore uses them; with `fast`, Pillow's draft-mode
// settings: no fancy upsampling, JDCT_IFAST). Returns the output width or -1.
int plain_decode(const std::string& path, unsigned num, bool fast, std::vector<unsigned char>* buf) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return -1;
  jpeg_decompress_struct cinfo;
  jpeg_error_mgr jerr;
  cinfo.err = jpeg_std_error(&jerr);  // exits on error: the corpus is valid
  jpeg_create_decompress(&cinfo);
  jpeg_stdio_src(&cinfo, f);
  jpeg_read_header(&cinfo, TRUE);
  cinfo.out_color_space = JCS_RGB;
  cinfo.scale_num = num;
  cinfo.scale_denom = 8;
  if (fast) {
    cinfo.do_fancy_upsampling = FALSE;
    cinfo.dct_method = JDCT_IFAST;
  }
  jpeg_start_decompress(&cinfo);
  const std::size_t line = static_cast<std::size_t>(cinfo.output_width) * 3;
  buf->resize(line * cinfo.output_height);
  while (cinfo.output_scanline < cinfo.output_height) {
    JSAMPROW row = buf->data() + line * cinfo.output_scanline;
    jpeg_read_scanlines(&cinfo, &row, 1);
  }
  const int w = static_cast<int>(cinfo.output_width);
  jpeg_finish_decompress(&cinfo);
  jpeg_destroy_decompress(&cinfo);
  std::fclose(f);
  return w;
}

// What-if (not libmediastore's code path): the same pipeline as
// make_thumbnails (detail:: decode, Lanczos-3 resizes largest first, each
// smaller size from the previous result, orientation, encode at 85), but the
// JPEG decoded at the smallest power-of-two DCT scale (1/8, 1/4, 1/2, 1: the
// scales libjpeg-turbo has SIMD IDCTs for) whose output is at least `factor`
// times the large thumbnail. Fit-inside specs only (the defaults).
ms::Result<std::vector<std::string>> pow2_thumbs(const std::string& path, double factor) {
  const auto specs = ms::default_thumbnail_specs();
  auto input = detail::Input::open_file(path);
  if (!input) return input.status();
  detail::DecodeOptions opt;
  opt.min_size = [&](int w, int h, int orientation) {
    const bool swap = detail::orientation_swaps(orientation);
    const int ow = swap ? h : w, oh = swap ? w : h;
    double need = 0;  // wanted fraction of the full size
    for (const auto& s : specs)
      need = std::max(need, factor * std::min({static_cast<double>(s.width) / ow, static_cast<double>(s.height) / oh,
                                               1.0 / factor}));
    int num = 1;
    while (num < 8 && num < need * 8) num *= 2;
    // decode_jpeg picks the smallest N/8 whose output reaches this: exactly num/8.
    return std::make_pair((w * num + 7) / 8, (h * num + 7) / 8);
  };
  auto img = detail::decode_image(ms::MediaType::jpeg, *input, opt);
  if (!img) return img.status();
  const int o = img->exif.orientation;
  const bool swap = detail::orientation_swaps(o);
  const int ow = swap ? img->full_height : img->full_width, oh = swap ? img->full_width : img->full_height;
  std::vector<detail::Raster> resized;
  resized.reserve(specs.size());
  std::vector<std::string> out;
  const detail::Raster* src = &img->raster;
  for (auto it = specs.rbegin(); it != specs.rend(); ++it) {  // large, medium, small
    const double sc = std::min({static_cast<double>(it->width) / ow, static_cast<double>(it->height) / oh, 1.0});
    int w = std::max(1, static_cast<int>(std::lround(ow * sc))),
        h = std::max(1, static_cast<int>(std::lround(oh * sc)));
    if (swap) std::swap(w, h);
    resized.push_back(detail::resize_lanczos3(src->rgb.data(), src->width, src->height,
                                              static_cast<std::size_t>(src->width) * 3, w, h));
    src = &resized.back();
    auto jpeg = detail::encode_jpeg(detail::apply_orientation(resized.back(), o), 85, false);
    if (!jpeg) return jpeg.status();
    out.push_back(std::move(*jpeg));
  }
  return out;  // large, medium, small
}

int serve_pow2(double factor) {
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    int reps = 0;
    std::string path;
    in >> reps;
    std::getline(in >> std::ws, path);
    auto warm = pow2_thumbs(path, factor);
    if (reps <= 0 || !warm) {
      std::cout << "error " << (warm ? "bad request" : warm.status().message()) << std::endl;
      continue;
    }
    std::vector<double> cpu, wall;
    for (int i = 0; i < reps; ++i) {
      const double c0 = cpu_ms(), w0 = wall_ms();
      if (!pow2_thumbs(path, factor)) return 1;
      cpu.push_back(cpu_ms() - c0);
      wall.push_back(wall_ms() - w0);
    }
    std::cout << "ok " << join(cpu) << " " << join(wall) << std::endl;
  }
  return 0;
}

int write_pow2(double factor, const std::string& path, const std::string& file) {
  auto r = pow2_thumbs(path, factor);
  if (!r) {
    std::fprintf(stderr, "%s\n", r.status().message().c_str());
    return 1;
  }
  std::ofstream f(file, std::ios::binary);
  f.write((*r)[0].data(), static_cast<std::streamsize>((*r)[0].size()));
  return f ? 0 : 1;
}

int split(int reps, const std::string& path) {
  const auto specs = ms::default_thumbnail_specs();
  auto input = detail::Input::open_file(path);
  if (!input) return 1;
  // The same decode request as make_thumbnails: at least twice the largest
  // thumbnail (all default specs fit inside; no rotation in the split).
  detail::DecodeOptions opt;
  opt.min_size = [&specs](int w, int h, int) {
    int nw = 1, nh = 1;
    for (const auto& s : specs) {
      const double sc = std::min({static_cast<double>(s.width) / w, static_cast<double>(s.height) / h, 1.0});
      nw = std::max(nw, std::min(w, 2 * static_cast<int>(w * sc + 0.5)));
      nh = std::max(nh, std::min(h, 2 * static_cast<int>(h * sc + 0.5)));
    }
    return std::make_pair(nw, nh);
  };
  std::vector<double> t_dec, t_res, t_enc, t_total;
  int dw = 0, dh = 0, fw = 0, fh = 0;
  for (int i = 0; i <= reps; ++i) {
    const double c0 = cpu_ms();
    auto img = detail::decode_image(ms::MediaType::jpeg, *input, opt);
    if (!img) return 1;
    const double c1 = cpu_ms();
    fw = img->full_width;
    fh = img->full_height;
    dw = img->raster.width;
    dh = img->raster.height;
    // Largest first, each smaller one from the previous result (as thumbnails.cpp).
    std::vector<detail::Raster> outs;
    outs.reserve(specs.size());  // `src` points into it
    const detail::Raster* src = &img->raster;
    for (auto it = specs.rbegin(); it != specs.rend(); ++it) {
      const double sc = std::min({static_cast<double>(it->width) / fw, static_cast<double>(it->height) / fh, 1.0});
      const int w = std::max(1, static_cast<int>(fw * sc + 0.5)), h = std::max(1, static_cast<int>(fh * sc + 0.5));
      outs.push_back(detail::resize_lanczos3(src->rgb.data(), src->width, src->height,
                                             static_cast<std::size_t>(src->width) * 3, w, h));
      src = &outs.back();
    }
    const double c2 = cpu_ms();
    for (const auto& r : outs)
      if (!detail::encode_jpeg(r, 85, false)) return 1;
    const double c3 = cpu_ms();
    if (i == 0) continue;  // warm-up
    t_dec.push_back(c1 - c0);
    t_res.push_back(c2 - c1);
    t_enc.push_back(c3 - c2);
    t_total.push_back(c3 - c0);
  }
  std::printf("file %s full %dx%d decoded %dx%d\n", path.c_str(), fw, fh, dw, dh);
  std::printf("ms decode %.2f resize %.2f encode %.2f total %.2f\n", median(t_dec), median(t_res), median(t_enc),
              median(t_total));
  std::vector<unsigned char> buf;
  for (bool fast : {false, true})
    for (unsigned num = 1; num <= 8; ++num) {
      if (fast && (num & (num - 1)) != 0) continue;  // powers of two only
      std::vector<double> t;
      int w = 0;
      for (int i = 0; i <= reps; ++i) {
        const double c0 = cpu_ms();
        w = plain_decode(path, num, fast, &buf);
        if (i > 0) t.push_back(cpu_ms() - c0);
      }
      std::printf("%s scale %u/8 width %d ms %.2f\n", fast ? "plain_fast" : "plain_libjpeg", num, w, median(t));
    }
  return 0;
}

// Encode time alone (medians, ms, the three sizes together) per format, from
// the same three resized rasters (decoded and resampled once, untimed).
int encode_split(int reps, const std::string& path) {
  auto input = detail::Input::open_file(path);
  if (!input) return 1;
  auto img = detail::decode_image(ms::MediaType::jpeg, *input, detail::DecodeOptions{});
  if (!img) return 1;
  std::vector<detail::Raster> rasters;
  const detail::Raster* src = &img->raster;
  rasters.reserve(3);
  for (auto box : {std::pair{800, 600}, std::pair{300, 300}, std::pair{150, 150}}) {
    const double sc =
        std::min({static_cast<double>(box.first) / src->width, static_cast<double>(box.second) / src->height, 1.0});
    rasters.push_back(detail::resize_lanczos3(src->rgb.data(), src->width, src->height,
                                              static_cast<std::size_t>(src->width) * 3,
                                              std::max(1, static_cast<int>(std::lround(src->width * sc))),
                                              std::max(1, static_cast<int>(std::lround(src->height * sc)))));
    src = &rasters.back();
  }
  for (const char* name : {"jpeg", "webp", "avif"}) {
    std::vector<double> t;
    for (int i = 0; i <= reps; ++i) {
      const double c0 = cpu_ms();
      for (const auto& r : rasters) {
        const std::string n = name;
        const ms::ThumbnailSpec defaults;
        auto out = n == "jpeg" ? detail::encode_jpeg(r, defaults.quality, false)
                               : (n == "webp" ? detail::encode_webp(r, defaults.webp_quality)
                                              : detail::encode_avif(r, defaults.avif_quality));
        if (!out) return 1;
      }
      if (i > 0) t.push_back(cpu_ms() - c0);
    }
    std::printf("%s %.3f\n", name, median(t));
  }
  return 0;
}

int usage() {
  std::fprintf(stderr,
               "usage: bench_thumbs serve [FORMAT] | write PATH OUTDIR [FORMAT] | to-ppm FILE OUT |\n"
               "       encode-split REPS PATH | once PATH [N] |\n"
               "       throughput THREADS PASSES LISTFILE | split REPS PATH |\n"
               "       serve-pow2 FACTOR | write-pow2 FACTOR PATH LARGE_JPG\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> a(argv + 1, argv + argc);
  if (a.empty()) return usage();
  if (a[0] == "serve" && a.size() <= 2) return serve(a.size() == 2 ? a[1] : "jpeg");
  if (a[0] == "write" && (a.size() == 3 || a.size() == 4)) return write(a[1], a[2], a.size() == 4 ? a[3] : "jpeg");
  if (a[0] == "to-ppm" && a.size() == 3) return to_ppm(a[1], a[2]);
  if (a[0] == "encode-split" && a.size() == 3) return encode_split(std::atoi(a[1].c_str()), a[2]);
  if (a[0] == "once" && a.size() >= 2) return once(a[1], a.size() > 2 ? std::atoi(a[2].c_str()) : 1);
  if (a[0] == "throughput" && a.size() == 4) return throughput(std::atoi(a[1].c_str()), std::atoi(a[2].c_str()), a[3]);
  if (a[0] == "split" && a.size() == 3) return split(std::atoi(a[1].c_str()), a[2]);
  if (a[0] == "serve-pow2" && a.size() == 2) return serve_pow2(std::atof(a[1].c_str()));
  if (a[0] == "write-pow2" && a.size() == 4) return write_pow2(std::atof(a[1].c_str()), a[2], a[3]);
  return usage();
}
