// ThumbHash byte identity with the reference implementation: rasters written
// here (opaque, with alpha, extreme aspect ratios, the pipeline's own input
// for real photos) are hashed by the `thumbhash` npm package under node
// (tests/js/thumbhash_reference.mjs) and by the library; hashes and the
// decoded images must be equal byte for byte.
#include <doctest/doctest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "core/crypto.hpp"
#include "media/decode.hpp"
#include "media/hashes.hpp"
#include "media/input.hpp"
#include "media/thumbnails.hpp"
#include "mediastore/media.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"

using namespace mediastore;

namespace {

struct Case {
  std::string name;
  int w, h;
  std::vector<std::uint8_t> rgba;
};

Case make(std::string name, int w, int h, auto&& pixel) {
  Case c{std::move(name), w, h, {}};
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      const std::array<int, 4> p = pixel(x, y);
      for (int v : p) c.rgba.push_back(static_cast<std::uint8_t>(v));
    }
  return c;
}

std::string raster_file(const Case& c) {
  std::string out;
  for (int v : {c.w, c.h})
    for (int i = 0; i < 4; ++i) out += static_cast<char>((static_cast<unsigned>(v) >> (8 * i)) & 255);
  out.append(reinterpret_cast<const char*>(c.rgba.data()), c.rgba.size());
  return out;
}

std::string run(const std::string& command) {
  std::FILE* p = ::popen(command.c_str(), "r");
  REQUIRE_MESSAGE(p != nullptr, command);
  std::string out;
  char buf[4096];
  for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int rc = ::pclose(p);
  REQUIRE_MESSAGE(rc == 0, "failed (" << rc << "): " << command
                                      << "\n(node_modules missing? run scripts/install-npm.sh)\n"
                                      << out);
  return out;
}

// The pipeline's ThumbHash input for a real photo, and what it recorded.
std::pair<Case, std::string> pipeline_case(const std::filesystem::path& file) {
  auto in = detail::Input::open_file(file.string());
  REQUIRE(in.ok());
  const auto specs = default_thumbnail_specs();
  detail::DecodeOptions opt;
  opt.min_size = detail::thumbnail_min_size(specs);
  auto decoded = detail::decode_image(MediaType::jpeg, *in, opt);
  REQUIRE(decoded.ok());
  auto set = detail::thumbnails_from_image(*decoded, specs, true);
  REQUIRE(set.ok());
  Case c{file.stem().string(), 0, 0, {}};
  c.rgba = detail::thumbhash_input(set->hashed, &c.w, &c.h);
  // process_media records the same hash.
  auto p = process_media_file(file.string(), file.filename().string(), MediaKind::photo, specs);
  REQUIRE(p.ok());
  CHECK(p->info.thumbhash == set->hashes.thumbhash);
  return {std::move(c), set->hashes.thumbhash};
}

}  // namespace

TEST_CASE("thumbhash: byte-identical to the reference implementation (npm thumbhash under node)") {
  std::vector<Case> cases;
  cases.push_back(make("gradient-100x75", 100, 75, [](int x, int y) {
    return std::array<int, 4>{x * 255 / 99, y * 255 / 74, 128 + (x - y) / 2, 255};
  }));
  cases.push_back(make("texture-100x100", 100, 100, [](int x, int y) {
    const int v = ((x * 37 + y * 91) ^ (x * y)) & 255;
    return std::array<int, 4>{v, (v * 3 + x) & 255, (255 - v + y) & 255, 255};
  }));
  cases.push_back(make("alpha-gradient-64x64", 64, 64, [](int x, int y) {
    return std::array<int, 4>{200, 40 + x * 2, 90, y * 255 / 63};
  }));
  cases.push_back(make("alpha-disc-50x80", 50, 80, [](int x, int y) {
    const int dx = x - 25, dy = y - 40;
    return std::array<int, 4>{30, 120, 220, dx * dx + dy * dy < 400 ? 255 : 0};
  }));
  cases.push_back(make("transparent-10x10", 10, 10, [](int, int) { return std::array<int, 4>{0, 0, 0, 0}; }));
  cases.push_back(make("wide-100x1", 100, 1, [](int x, int) {
    return std::array<int, 4>{x * 2, 255 - x * 2, 77, 255};
  }));
  cases.push_back(make("tall-1x100", 1, 100, [](int, int y) { return std::array<int, 4>{y, 50, 255 - y * 2, 255}; }));
  cases.push_back(make("wide-100x3-alpha", 100, 3, [](int x, int y) {
    return std::array<int, 4>{x * 2, y * 80, 10, x < 50 ? 255 : 128};
  }));
  cases.push_back(make("tall-3x100", 3, 100, [](int x, int y) { return std::array<int, 4>{x * 80, y * 2, 200, 255}; }));
  cases.push_back(make("pixel-1x1", 1, 1, [](int, int) { return std::array<int, 4>{10, 200, 30, 255}; }));
  // Pseudo-random sizes and contents, half of them with alpha.
  std::uint32_t seed = 2024;
  auto next = [&seed](std::uint32_t mod) {
    seed = seed * 1664525u + 1013904223u;
    return static_cast<int>((seed >> 8) % mod);
  };
  for (int k = 0; k < 16; ++k) {
    const int w = 1 + next(100), h = 1 + next(100), bias = next(200);
    const bool alpha = k % 2 == 1;
    cases.push_back(make("random-" + std::to_string(k), w, h, [&](int x, int y) {
      return std::array<int, 4>{(x * 7 + bias + next(40)) & 255, (y * 5 + next(60)) & 255, (x * y + bias) & 255,
                                alpha ? next(256) : 255};
    }));
  }
  std::vector<std::string> recorded(cases.size());  // what the pipeline stored, for its cases
  const std::filesystem::path wallpapers = "/usr/share/backgrounds";
  for (const char* f :
       {"Bridge_by_Sander_Klootwijk.jpg", "Wine_by_Jakkub_Mede.jpg", "sunset_by_Aitzol_Berasategi.jpg"}) {
    REQUIRE_MESSAGE(std::filesystem::exists(wallpapers / f), "lomiri-wallpapers-16.04 is missing");
    auto [c, hash] = pipeline_case(wallpapers / f);
    cases.push_back(std::move(c));
    recorded.push_back(std::move(hash));
  }

  test::TempDir dir;
  std::string command = std::string("cd '") + MS_JS_DIR + "' && '" + MS_NODE + "' thumbhash_reference.mjs";
  for (const Case& c : cases) {
    const std::string path = dir / (c.name + ".rgba");
    test::spit(path, raster_file(c));
    command += " '" + path + "'";
  }
  std::istringstream lines(run(command + " 2>&1"));
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    CAPTURE(c.name);
    std::string ref_hash, ref_pixels;
    int ref_w = 0, ref_h = 0;
    REQUIRE(static_cast<bool>(lines >> ref_hash >> ref_w >> ref_h >> ref_pixels));
    auto ours = thumbhash_encode(c.rgba.data(), c.w, c.h);
    REQUIRE(ours.ok());
    CHECK(detail::base64_encode(*ours) == ref_hash);
    if (!recorded[i].empty()) CHECK(recorded[i] == ref_hash);
    auto decoded = thumbhash_decode(*ours);
    REQUIRE(decoded.ok());
    CHECK(decoded->width == ref_w);
    CHECK(decoded->height == ref_h);
    const std::string px(decoded->rgba.begin(), decoded->rgba.end());
    CHECK(detail::base64_encode(px) == ref_pixels);
  }
}
