// LocalStorageBackend hardening: temp files left by a crash are swept once
// stale, and hard-linked files (possibly other names of files outside the
// root) are never read.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "storage/local_backend.hpp"
#include "support/files.hpp"
#include "support/temp_dir.hpp"

using namespace mediastore;
using detail::LocalOptions;
using detail::LocalStorageBackend;
namespace fs = std::filesystem;

namespace {

using mediastore::test::slurp;
using mediastore::test::spit;

// Sets a file's atime and mtime to `seconds_ago` before now (not following a
// symbolic link).
void age(const std::string& path, long seconds_ago) {
  struct timespec times[2];
  times[0].tv_sec = std::time(nullptr) - seconds_ago;
  times[0].tv_nsec = 0;
  times[1] = times[0];
  REQUIRE_MESSAGE(::utimensat(AT_FDCWD, path.c_str(), times, AT_SYMLINK_NOFOLLOW) == 0, path);
}

LocalOptions opts(const test::TempDir& t) { return LocalOptions{t / "root", "/media/", "", t / "root/.spool"}; }

}  // namespace

TEST_CASE("stale temp files left by a crash are removed at construction; fresh ones and objects stay") {
  test::TempDir t;
  PutOptions po;
  po.content_type = "image/jpeg";
  {
    LocalStorageBackend b0(opts(t));
    REQUIRE(b0.put_bytes("photos/2024/a.jpg", "jpeg", po).ok());
    REQUIRE(b0.put_bytes("photos/old.jpg", "old object", po).ok());
  }
  const long two_hours = 2 * 3600;
  // An old object (never a temp). Its changed mtime no longer matches its
  // sidecar entry, so only its bytes are checked below.
  age(t / "root/photos/old.jpg", two_hours);
  // What a crash leaves: object temps, sidecar temps, a ping probe.
  const std::vector<std::string> stale = {"root/photos/2024/.mediastore-tmp.00112233aabbccdd",
                                          "root/.mediastore/meta/photos/2024/.mediastore-tmp.0123456789abcdef",
                                          "root/.mediastore-tmp.ping.fedcba9876543210"};
  for (const auto& p : stale) {
    spit(t / p, "partial");
    age(t / p, two_hours);
  }
  // A write of another process in progress (fresh temp), a temp-named folder
  // and symbolic link (not files this backend writes), and the spool.
  spit(t / "root/photos/.mediastore-tmp.1111111111111111", "in progress");
  age(t / "root/photos/.mediastore-tmp.1111111111111111", 600);
  fs::create_directories(t / "root/photos/.mediastore-tmp.2222222222222222");
  spit(t / "outside/secret", "secret");
  REQUIRE(::symlink((t / "outside/secret").c_str(), (t / "root/photos/.mediastore-tmp.3333333333333333").c_str()) == 0);
  age(t / "root/photos/.mediastore-tmp.3333333333333333", two_hours);
  spit(t / "root/.spool/.mediastore-tmp.4444444444444444", "spool's own");
  age(t / "root/.spool/.mediastore-tmp.4444444444444444", two_hours);

  LocalStorageBackend b(opts(t));
  for (const auto& p : stale) CHECK_MESSAGE(!fs::exists(t / p), p);
  CHECK(slurp(t / "root/photos/.mediastore-tmp.1111111111111111") == "in progress");
  CHECK(fs::is_directory(t / "root/photos/.mediastore-tmp.2222222222222222"));
  CHECK(fs::is_symlink(t / "root/photos/.mediastore-tmp.3333333333333333"));
  CHECK(slurp(t / "outside/secret") == "secret");
  CHECK(slurp(t / "root/.spool/.mediastore-tmp.4444444444444444") == "spool's own");
  // Objects and their metadata are untouched.
  CHECK(b.read_bytes("photos/2024/a.jpg").value() == "jpeg");
  CHECK(b.stat("photos/2024/a.jpg")->content_type == "image/jpeg");
  CHECK(b.read_bytes("photos/old.jpg").value() == "old object");
}

TEST_CASE("remove_stale_temps: age threshold, entry budget, no sweep when disabled") {
  test::TempDir t;
  for (int i = 0; i < 5; ++i) {
    const std::string p = t / ("root/d" + std::to_string(i) + "/.mediastore-tmp.000000000000000" + std::to_string(i));
    spit(p, "partial");
    age(p, 3 * 3600);
  }
  LocalOptions o = opts(t);
  o.stale_temp_age = std::chrono::seconds(0);  // no sweep at construction
  LocalStorageBackend b(o);
  CHECK(fs::exists(t / "root/d0/.mediastore-tmp.0000000000000000"));

  // Younger than the threshold: kept.
  auto kept = b.remove_stale_temps(std::chrono::hours(4), 1000);
  CHECK(kept.removed == 0);
  CHECK(kept.complete);
  CHECK(kept.entries_visited == 10);  // 5 folders + 5 temps

  // A budget smaller than the tree stops early.
  auto partial = b.remove_stale_temps(std::chrono::hours(1), 3);
  CHECK_FALSE(partial.complete);
  CHECK(partial.entries_visited == 3);
  CHECK(partial.removed < 5);

  auto all = b.remove_stale_temps(std::chrono::hours(1), 1000);
  CHECK(all.complete);
  CHECK(partial.removed + all.removed == 5);
  for (int i = 0; i < 5; ++i)
    CHECK_FALSE(
        fs::exists(t / ("root/d" + std::to_string(i) + "/.mediastore-tmp.000000000000000" + std::to_string(i))));

  // A budget too small at construction leaves the rest for an explicit call.
  test::TempDir t2;
  spit(t2 / "root/a/.mediastore-tmp.aaaaaaaaaaaaaaaa", "x");
  age(t2 / "root/a/.mediastore-tmp.aaaaaaaaaaaaaaaa", 2 * 3600);
  LocalOptions o2 = opts(t2);
  o2.stale_temp_budget = 1;
  LocalStorageBackend b2(o2);
  CHECK(fs::exists(t2 / "root/a/.mediastore-tmp.aaaaaaaaaaaaaaaa"));
  CHECK(b2.remove_stale_temps(std::chrono::hours(1), 100).removed == 1);

  // A missing root is an empty sweep.
  LocalStorageBackend none(LocalOptions{t / "missing", "/media/", "", ""});
  auto empty = none.remove_stale_temps(std::chrono::hours(1), 100);
  CHECK(empty.removed == 0);
  CHECK(empty.entries_visited == 0);
  CHECK_FALSE(fs::exists(t / "missing"));
}

TEST_CASE("hard-linked files are never read; put and remove replace only the name") {
  test::TempDir t;
  spit(t / "outside/shadow", "root:$6$secret-hash:19000::::::");
  LocalStorageBackend b(opts(t));
  REQUIRE(b.ping().ok());
  // Someone with access to the root links an outside file into it.
  fs::create_directories(t / "root/avatars");
  REQUIRE(::link((t / "outside/shadow").c_str(), (t / "root/avatars/me.jpg").c_str()) == 0);

  const Status r = b.read_bytes("avatars/me.jpg").status();
  CHECK(r.is(ErrorCode::permission_denied));
  CHECK(r.message().find("avatars/me.jpg") != std::string::npos);
  CHECK(r.message().find("hard link") != std::string::npos);
  CHECK(b.read_bytes("avatars/me.jpg", ByteRange{0, 4}).status().is(ErrorCode::permission_denied));
  const auto st = b.stat("avatars/me.jpg");  // the etag would hash the linked file
  CHECK(st.status().is(ErrorCode::permission_denied));
  CHECK(st.status().message().find("avatars/me.jpg") != std::string::npos);
  CHECK(b.exists("avatars/me.jpg").status().is(ErrorCode::permission_denied));
  CHECK(b.copy("avatars/me.jpg", "stolen.jpg").is(ErrorCode::permission_denied));
  CHECK_FALSE(fs::exists(t / "root/stolen.jpg"));

  // Overwriting replaces the name; the linked file keeps its content.
  REQUIRE(b.put_bytes("avatars/me.jpg", "a real avatar", {}).ok());
  CHECK(slurp(t / "outside/shadow") == "root:$6$secret-hash:19000::::::");
  CHECK(b.read_bytes("avatars/me.jpg").value() == "a real avatar");
  REQUIRE(::link((t / "outside/shadow").c_str(), (t / "root/avatars/again.jpg").c_str()) == 0);
  REQUIRE(b.remove("avatars/again.jpg").ok());
  CHECK(slurp(t / "outside/shadow") == "root:$6$secret-hash:19000::::::");
  CHECK_FALSE(fs::exists(t / "root/avatars/again.jpg"));

  // Two names of one object inside the root: both refused, the rule is the
  // link count, not where the other name lies.
  REQUIRE(b.put_bytes("x/one", "1", {}).ok());
  REQUIRE(::link((t / "root/x/one").c_str(), (t / "root/x/two").c_str()) == 0);
  CHECK(b.read_bytes("x/one").status().is(ErrorCode::permission_denied));
  CHECK(b.read_bytes("x/two").status().is(ErrorCode::permission_denied));
  REQUIRE(b.remove("x/two").ok());
  CHECK(b.read_bytes("x/one").value() == "1");
}

TEST_CASE("a hard-linked sidecar is ignored: the object reads with default metadata") {
  test::TempDir t;
  LocalStorageBackend b(opts(t));
  PutOptions po;
  po.content_type = "image/png";
  po.user_metadata = {{"owner", "alice"}};
  REQUIRE(b.put_bytes("p.png", "png", po).ok());
  REQUIRE(b.stat("p.png")->content_type == "image/png");
  fs::create_directories(t / "outside");
  REQUIRE(::link((t / "root/.mediastore/meta/p.png").c_str(), (t / "outside/sidecar").c_str()) == 0);
  auto info = b.stat("p.png");
  REQUIRE(info.ok());
  CHECK(info->content_type == "application/octet-stream");
  CHECK(info->user_metadata.empty());
  CHECK(b.read_bytes("p.png").value() == "png");
}
