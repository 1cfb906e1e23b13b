// Location stripping (strip_location_file): photos tagged by Debian's
// exiftool (a test tool, scripts/install-deps.sh; its path comes from CMake
// as MS_EXIFTOOL_EXE) and by hand-built EXIF, videos tagged by ffmpeg. What
// exiftool and ffprobe report afterwards is the check, with the image data
// and the video packets compared byte for byte.
#include <doctest/doctest.h>

#include <sys/wait.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "fixtures.hpp"
#include "media/exif.hpp"
#include "media/strip_location.hpp"
#include "mediastore/media.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"

#ifndef MS_FFMPEG_EXE
#define MS_FFMPEG_EXE "ffmpeg"
#endif
#ifndef MS_EXIFTOOL_EXE
#define MS_EXIFTOOL_EXE "exiftool"
#endif

using namespace mediastore;
using mediastore::test::slurp;
using mediastore::test::spit;

namespace {

// Runs `cmd` in `dir`; REQUIREs exit 0 and returns its standard output.
std::string run(const mediastore::test::TempDir& dir, const std::string& exe, const std::string& args) {
  REQUIRE_MESSAGE(exe.find("NOTFOUND") == std::string::npos,
                  "a test program is missing: install it (scripts/install-deps.sh test)");
  const std::string out = dir / "cmd.out", err = dir / "cmd.err";
  const std::string cmd = "cd " + dir.path() + " && " + exe + " " + args + " >" + out + " 2>" + err;
  const int rc = std::system(cmd.c_str());
  INFO("command: " << cmd);
  INFO("stderr: " << slurp(err));
  REQUIRE_MESSAGE((rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) == 0), "command failed (exit " << rc << ")");
  return slurp(out);
}

std::string exiftool(const mediastore::test::TempDir& dir, const std::string& args) {
  return run(dir, MS_EXIFTOOL_EXE, "-q -q " + args);
}
std::string ffmpeg(const mediastore::test::TempDir& dir, const std::string& args) {
  return run(dir, MS_FFMPEG_EXE, "-nostdin -hide_banner -loglevel error -y " + args);
}

std::string from_sos(const std::string& j) {
  std::size_t p = j.find("\xff\xda");
  return p == std::string::npos ? "" : j.substr(p);
}

const std::string kGpsArgs =
    "-GPSLatitude=48.8583 -GPSLatitudeRef=N -GPSLongitude=2.2945 -GPSLongitudeRef=E -GPSAltitude=35 "
    "-XMP-photoshop:City=Paris -XMP-exif:GPSLatitude=48.8583 -XMP-exif:GPSLongitude=2.2945 ";

bool no_files_but(const mediastore::test::TempDir& dir, std::initializer_list<std::string> names) {
  for (auto& e : std::filesystem::directory_iterator(dir.path())) {
    const std::string n = e.path().filename().string();
    if (n == "cmd.out" || n == "cmd.err") continue;
    if (std::find(names.begin(), names.end(), n) == names.end()) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("strip location: a JPEG tagged by exiftool loses GPS and place, keeps orientation and pixels") {
  mediastore::test::TempDir dir;
  fixtures::ExifSpec spec;
  spec.orientation = 6;
  spec.datetime_original = "2023:08:01 12:00:00";
  std::string j = fixtures::jpeg(fixtures::pattern(160, 120));
  j = fixtures::insert_segment(j, 0xE1, fixtures::exif_app1(spec));
  spit(dir / "in.jpg", j);
  exiftool(dir, kGpsArgs + "-Make=Acme -overwrite_original in.jpg");
  const std::string tagged = slurp(dir / "in.jpg");
  REQUIRE(exiftool(dir, "-a -G1 -s in.jpg").find("[GPS]") != std::string::npos);
  REQUIRE(exiftool(dir, "-a -G1 -s in.jpg").find("City") != std::string::npos);

  auto r = strip_location_file(dir / "in.jpg", dir / "out.jpg", MediaType::jpeg);
  REQUIRE_MESSAGE(r.ok(), r.status().to_string());
  CHECK(*r);
  const std::string out = slurp(dir / "out.jpg");
  // exiftool finds no GPS tag, no place, but the rest.
  const std::string dump = exiftool(dir, "-a -G1 -s out.jpg");
  CHECK(dump.find("GPS") == std::string::npos);
  CHECK(dump.find("City") == std::string::npos);
  CHECK(dump.find("XMP") == std::string::npos);
  CHECK(exiftool(dir, "-s -s -s -n -Orientation out.jpg") == "6\n");
  CHECK(exiftool(dir, "-s -s -s -Make out.jpg") == "Acme\n");
  CHECK(exiftool(dir, "-s -s -s -DateTimeOriginal out.jpg") == "2023:08:01 12:00:00\n");
  CHECK(exiftool(dir, "-validate -warning -s -s -s out.jpg").find("GPS") == std::string::npos);
  // The library's own parser agrees; no GPSInfo pointer is left in IFD0.
  auto v = validate_media_file(dir / "out.jpg", "out.jpg", MediaKind::photo);
  REQUIRE(v.ok());
  CHECK(!v->has_gps);
  CHECK(v->orientation == 6);
  const std::string_view tiff = detail::find_jpeg_exif(out);
  REQUIRE(!tiff.empty());
  CHECK(tiff.find(std::string("\x25\x88\x04\x00", 4)) == std::string_view::npos);  // tag 0x8825, LONG (II order)
  // Entropy-coded data byte-identical, so the decode is too.
  CHECK(from_sos(out) == from_sos(tagged));
  CHECK(fixtures::decode(out).rgb == fixtures::decode(tagged).rgb);
  CHECK(no_files_but(dir, {"in.jpg", "out.jpg"}));
}

TEST_CASE("strip location: files without location are left alone; nothing is written") {
  mediastore::test::TempDir dir;
  fixtures::ExifSpec spec;
  spec.orientation = 3;
  std::string j = fixtures::insert_segment(fixtures::jpeg(fixtures::pattern(64, 48)), 0xE1, fixtures::exif_app1(spec));
  spit(dir / "plain.jpg", j);
  spit(dir / "plain.png", fixtures::png_rgb(fixtures::pattern(16, 16)));
  spit(dir / "plain.gif", fixtures::gif(8, 8, 1));
  for (auto [name, type] : {std::pair{"plain.jpg", MediaType::jpeg}, std::pair{"plain.png", MediaType::png},
                            std::pair{"plain.gif", MediaType::gif}}) {
    auto r = strip_location_file(dir / name, dir / "out", type);
    REQUIRE_MESSAGE(r.ok(), r.status().to_string());
    CHECK(!*r);
    CHECK(!std::filesystem::exists(dir / "out"));
  }
  CHECK(slurp(dir / "plain.jpg") == j);
  CHECK(no_files_but(dir, {"plain.jpg", "plain.png", "plain.gif"}));
}

TEST_CASE("strip location: PNG eXIf and WebP EXIF/XMP tagged by exiftool") {
  mediastore::test::TempDir dir;
  spit(dir / "in.png", fixtures::png_rgb(fixtures::pattern(32, 24)));
  spit(dir / "in.webp", fixtures::webp(fixtures::pattern(32, 24)));
  for (const auto& file : {std::pair{"in.png", MediaType::png}, std::pair{"in.webp", MediaType::webp}}) {
    const std::string name = file.first;
    const MediaType type = file.second;
    CAPTURE(name);
    exiftool(dir, kGpsArgs + "-Orientation#=6 -overwrite_original " + name);
    REQUIRE(exiftool(dir, std::string("-a -G1 -s ") + name).find("[GPS]") != std::string::npos);
    const std::string out = std::string("out_") + name;
    auto r = strip_location_file(dir / name, dir / out, type);
    REQUIRE_MESSAGE(r.ok(), r.status().to_string());
    CHECK(*r);
    const std::string dump = exiftool(dir, "-a -G1 -s " + out);
    CHECK(dump.find("GPS") == std::string::npos);
    CHECK(dump.find("City") == std::string::npos);
    CHECK(exiftool(dir, "-s -s -s -n -Orientation " + out) == "6\n");
    auto before = validate_media_file(dir / name, name, MediaKind::photo);
    auto after = validate_media_file(dir / out, out, MediaKind::photo);
    REQUIRE(before.ok());
    REQUIRE_MESSAGE(after.ok(), after.status().to_string());
    CHECK(before->has_gps);
    CHECK(!after->has_gps);
    CHECK(after->width == before->width);
  }
}

TEST_CASE("strip location: HEIC Exif item edited in place") {
  mediastore::test::TempDir dir;
  fixtures::ExifSpec spec;
  spec.gps = true;
  spec.datetime_original = "2021:01:02 03:04:05";
  const std::string heic = fixtures::heif(fixtures::pattern(64, 64), "hevc", fixtures::exif_tiff(spec));
  REQUIRE_MESSAGE(!heic.empty(), "libheif has no HEVC encoder in this build");
  spit(dir / "in.heic", heic);
  auto before = validate_media_file(dir / "in.heic", "in.heic", MediaKind::photo);
  REQUIRE(before.ok());
  REQUIRE(before->has_gps);
  auto r = strip_location_file(dir / "in.heic", dir / "out.heic", MediaType::heic);
  REQUIRE_MESSAGE(r.ok(), r.status().to_string());
  CHECK(*r);
  const std::string out = slurp(dir / "out.heic");
  CHECK(out.size() == heic.size());
  auto after = validate_media_file(dir / "out.heic", "out.heic", MediaKind::photo);
  REQUIRE_MESSAGE(after.ok(), after.status().to_string());
  CHECK(!after->has_gps);
  CHECK(after->capture_time == "2021:01:02 03:04:05");
  CHECK(exiftool(dir, "-a -G1 -s out.heic").find("GPS") == std::string::npos);
}

TEST_CASE("strip location: hostile and broken photos give an error naming the file, never a partial file") {
  mediastore::test::TempDir dir;
  fixtures::ExifSpec spec;
  spec.gps = true;
  spec.orientation = 8;
  const std::string j =
      fixtures::insert_segment(fixtures::jpeg(fixtures::pattern(40, 30)), 0xE1, fixtures::exif_app1(spec));
  // A broken segment structure: corrupt_media naming the file.
  std::string broken = j;
  broken[2] = 'x';
  spit(dir / "broken.jpg", broken);
  auto r = strip_location_file(dir / "broken.jpg", dir / "out.jpg", MediaType::jpeg);
  CHECK(r.status().code() == ErrorCode::corrupt_media);
  CHECK(r.status().message().find("broken.jpg") != std::string::npos);
  CHECK(!std::filesystem::exists(dir / "out.jpg"));
  // A PNG whose chunk runs past the end; a WebP whose RIFF size lies.
  std::string png = fixtures::png_rgb(fixtures::pattern(8, 8));
  spit(dir / "cut.png", png.substr(0, png.size() - 20));
  CHECK(strip_location_file(dir / "cut.png", dir / "out.png", MediaType::png).status().code() ==
        ErrorCode::corrupt_media);
  std::string webp = fixtures::webp(fixtures::pattern(8, 8));
  webp[4] = '\x7f';
  spit(dir / "lie.webp", webp);
  CHECK(strip_location_file(dir / "lie.webp", dir / "out.webp", MediaType::webp).status().code() ==
        ErrorCode::corrupt_media);
  auto missing = strip_location_file(dir / "missing.jpg", dir / "out.jpg", MediaType::jpeg);
  CHECK(missing.status().code() == ErrorCode::not_found);
  CHECK(missing.status().message().find("missing.jpg") != std::string::npos);
  // Every truncation and every single-byte change of the EXIF block: no crash
  // (under ASan), and whatever is written has no GPS left.
  const std::size_t exif_at = j.find("Exif");
  for (std::size_t i = exif_at; i < exif_at + 120; ++i) {
    std::string m = j;
    m[i] = static_cast<char>(m[i] ^ 0x5a);
    spit(dir / "m.jpg", m);
    auto s = strip_location_file(dir / "m.jpg", dir / "m_out.jpg", MediaType::jpeg);
    if (s.ok() && *s) CHECK(!detail::parse_exif_tiff(detail::find_jpeg_exif(slurp(dir / "m_out.jpg"))).has_gps);
  }
  for (std::size_t n = 0; n < j.size(); n += 7) {
    spit(dir / "t.jpg", j.substr(0, n));
    (void)strip_location_file(dir / "t.jpg", dir / "t_out.jpg", MediaType::jpeg);
  }
  for (auto& e : std::filesystem::directory_iterator(dir.path()))
    CHECK(e.path().filename().string().find(".part-") == std::string::npos);
}

namespace {

// ffprobe-free checks through ffmpeg itself: the per-stream packet hashes
// and the container's metadata as ffmpeg's ffmetadata muxer prints them.
std::string stream_hashes(const mediastore::test::TempDir& dir, const std::string& name) {
  return ffmpeg(dir, "-i " + name + " -map 0 -c copy -f streamhash -hash sha256 -");
}
// ffprobe's view of every container and stream tag and the display
// matrix, lower-case (ffprobe is in the ffmpeg package, beside ffmpeg).
std::string probe_tags(const mediastore::test::TempDir& dir, const std::string& name) {
  std::string exe = MS_FFMPEG_EXE;
  exe.replace(exe.rfind("ffmpeg"), 6, "ffprobe");
  std::string out = run(dir, exe,
                        "-v error -show_entries format_tags:stream_tags:stream_side_data:stream=codec_tag_string -of "
                        "flat " +
                            name);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Lower-case (Matroska tags are upper-case).
std::string metadata_of(const mediastore::test::TempDir& dir, const std::string& name) {
  std::string md = ffmpeg(dir, "-i " + name + " -f ffmetadata -");
  for (char& c : md) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return md;
}

}  // namespace

TEST_CASE("strip location: videos remuxed without location, packets identical, the rest kept") {
  mediastore::test::TempDir dir;
  const std::string src =
      "-t 1 -f lavfi -i testsrc2=s=160x120:r=10 -t 1 -f lavfi -i sine=f=440:r=16000 "
      "-c:v libx264 -preset ultrafast -g 5 -c:a aac ";
  // mp4 ©xyz (ffmpeg's "location"), faststart, a creation time and a rotation.
  ffmpeg(dir, src + "base.mp4");
  ffmpeg(dir,
         "-i base.mp4 -c copy -movflags +faststart -metadata location=+48.8583+002.2945/ -metadata title=Tour "
         "-metadata creation_time=2023-05-01T10:34:56Z -metadata:s:v:0 rotate=90 xyz.mp4");
  // iPhone style: QuickTime keys, ISO6709 location and a creation date.
  ffmpeg(dir, src +
                  "-movflags use_metadata_tags "
                  "-metadata com.apple.quicktime.location.ISO6709=+37.3349-122.0090+012.000/ "
                  "-metadata com.apple.quicktime.creationdate=2024-07-14T18:05:09+0200 "
                  "-metadata com.apple.quicktime.make=Apple iphone.mov");
  // HEVC with the hvc1 sample entry (Apple's), and Matroska's LOCATION tag.
  ffmpeg(dir,
         "-t 1 -f lavfi -i testsrc2=s=160x120:r=10 -c:v libx265 -preset ultrafast -x265-params log-level=error "
         "-tag:v hvc1 -metadata location=+35.6586+139.7454/ -metadata title=Tower hevc.mp4");
  ffmpeg(dir, "-i base.mp4 -c copy -metadata location=+51.5007-000.1246/ -metadata title=Clock tagged.mkv");
  struct Case {
    const char* name;
    MediaType type;
    const char* kept;  // a metadata line that must survive
  };
  for (const Case& c :
       {Case{"xyz.mp4", MediaType::mp4, "title=tour"},
        Case{"iphone.mov", MediaType::quicktime, "com.apple.quicktime.make=apple"},
        Case{"hevc.mp4", MediaType::mp4, "title=tower"}, Case{"tagged.mkv", MediaType::matroska, "title=clock"}}) {
    CAPTURE(c.name);
    const std::string in = c.name, out = std::string("out_") + c.name;
    REQUIRE(metadata_of(dir, in).find("ocation") != std::string::npos);
    auto before = validate_media_file(dir / in, in, MediaKind::video);
    REQUIRE(before.ok());
    CHECK(before->has_gps);
    auto r = strip_location_file(dir / in, dir / out, c.type);
    REQUIRE_MESSAGE(r.ok(), r.status().to_string());
    CHECK(*r);
    const std::string md = metadata_of(dir, out);
    CHECK(md.find("ocation") == std::string::npos);
    CHECK(md.find("iso6709") == std::string::npos);
    CHECK(md.find(c.kept) != std::string::npos);
    const std::string probed_in = probe_tags(dir, in), probed = probe_tags(dir, out);
    CHECK(probed_in.find("location") != std::string::npos);
    CHECK(probed.find("location") == std::string::npos);
    CHECK(probed.find("iso6709") == std::string::npos);
    if (probed_in.find("rotation=") != std::string::npos)
      CHECK(probed.find(probed_in.substr(probed_in.find("rotation="), 12)) != std::string::npos);
    CHECK(stream_hashes(dir, out) == stream_hashes(dir, in));
    auto after = validate_media_file(dir / out, out, MediaKind::video);
    REQUIRE_MESSAGE(after.ok(), after.status().to_string());
    CHECK(!after->has_gps);
    CHECK(after->capture_time == before->capture_time);
    CHECK(after->video.rotation == before->video.rotation);
    CHECK(after->video.moov_first == before->video.moov_first);
    CHECK(after->video.duration_ms == before->video.duration_ms);
    CHECK(after->video.codec_tag == before->video.codec_tag);  // hvc1 stays hvc1
    // Stripping the stripped file finds nothing.
    auto again = strip_location_file(dir / out, dir / "again", c.type);
    REQUIRE(again.ok());
    CHECK(!*again);
  }
  // The mp4's rotation and creation time in particular.
  auto x = validate_media_file(dir / "out_xyz.mp4", "x.mp4", MediaKind::video);
  REQUIRE(x.ok());
  CHECK(x->video.rotation != 0);
  CHECK(x->capture_time == "2023:05:01 10:34:56");
  CHECK(x->video.moov_first);

  // Without location: nothing written.
  auto p = strip_location_file(dir / "base.mp4", dir / "out_plain.mp4", MediaType::mp4);
  REQUIRE(p.ok());
  CHECK(!*p);
  CHECK(!std::filesystem::exists(dir / "out_plain.mp4"));
  // Not a video: an error naming the file, nothing left behind.
  spit(dir / "fake.mp4", "not a video at all, just text");
  auto f = strip_location_file(dir / "fake.mp4", dir / "out_fake.mp4", MediaType::mp4);
  CHECK(!f.ok());
  CHECK(f.status().message().find("fake.mp4") != std::string::npos);
  CHECK(!std::filesystem::exists(dir / "out_fake.mp4"));
  for (auto& e : std::filesystem::directory_iterator(dir.path()))
    CHECK(e.path().filename().string().find(".part-") == std::string::npos);
}

TEST_CASE("strip location: the location key names") {
  for (const char* k : {"location", "location-eng", "com.apple.quicktime.location.ISO6709", "LOCATION", "\xc2\xa9xyz",
                        "xyz", "com.apple.quicktime.location.name", "somevendor.iso6709"})
    CHECK_MESSAGE(detail::is_location_key(k), k);
  for (const char* k : {"creation_time", "title", "com.apple.quicktime.make", "encoder", "handler_name"})
    CHECK_MESSAGE(!detail::is_location_key(k), k);
}
