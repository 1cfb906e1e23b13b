// LocalStorageBackend specifics: file layout, atomicity, metadata
// consistency, confinement to the root, reserved names.
#include <doctest/doctest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/crypto.hpp"
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

// Every regular file under dir (relative paths), including hidden ones.
std::vector<std::string> all_files(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); it != fs::recursive_directory_iterator(); ++it)
    if (it->is_regular_file()) out.push_back(fs::relative(it->path(), dir).string());
  return out;
}

// A source that yields `good` bytes and then fails.
class FailingSource final : public ByteSource {
 public:
  explicit FailingSource(std::size_t good) : good_(good) {}
  Result<std::size_t> read(void* buf, std::size_t n) override {
    if (pos_ >= good_) return Status::IoError("simulated device failure (ENOSPC)");
    const std::size_t k = std::min(n, good_ - pos_);
    std::memset(buf, 'x', k);
    pos_ += k;
    return k;
  }
  std::optional<std::uint64_t> size() const override { return std::nullopt; }

 private:
  std::size_t good_;
  std::size_t pos_ = 0;
};

LocalOptions opts(const test::TempDir& t) { return LocalOptions{t / "root", "/media/", "", ""}; }

}  // namespace

TEST_CASE("objects are plain files under the root, metadata in a hidden sidecar") {
  test::TempDir t;
  LocalStorageBackend b(opts(t));
  PutOptions o;
  o.content_type = "image/jpeg";
  o.cache_control = "max-age=60";
  o.content_disposition = "attachment; filename=\"x.jpg\"";
  o.user_metadata = {{"Camera", "X100"}, {"owner", "alice smith"}};
  REQUIRE(b.put_bytes("photos/2024/a.jpg", "jpeg bytes", o).ok());
  CHECK(slurp(t / "root/photos/2024/a.jpg") == "jpeg bytes");
  CHECK(fs::is_regular_file(t / "root/.mediastore/meta/photos/2024/a.jpg"));

  auto info = b.stat("photos/2024/a.jpg");
  REQUIRE(info.ok());
  CHECK(info->size == 10);
  CHECK(info->content_type == "image/jpeg");
  CHECK(info->cache_control == "max-age=60");
  CHECK(info->content_disposition == "attachment; filename=\"x.jpg\"");
  CHECK(info->user_metadata == Metadata{{"camera", "X100"}, {"owner", "alice smith"}});
  CHECK(info->etag == detail::hex_lower(detail::md5("jpeg bytes")));

  auto all = b.list_all("");
  REQUIRE(all.ok());
  REQUIRE(all->size() == 1);
  CHECK(all->front().key == "photos/2024/a.jpg");
  CHECK(all->front().content_type == "image/jpeg");

  // A backend opened later on the same root sees the same metadata.
  LocalStorageBackend again(opts(t));
  CHECK(again.stat("photos/2024/a.jpg")->user_metadata.at("owner") == "alice smith");
}

TEST_CASE("a failing source leaves nothing behind and keeps the old object") {
  test::TempDir t;
  LocalStorageBackend b(opts(t));
  FailingSource fresh(3 << 20);
  const Status s = b.put("new/deep/key.bin", fresh, {});
  CHECK(s.is(ErrorCode::io_error));
  CHECK(s.message().find("new/deep/key.bin") != std::string::npos);
  CHECK(all_files(t / "root").empty());
  CHECK_FALSE(fs::exists(t / "root/new"));  // folders made for it are gone too
  CHECK(b.list_all("")->empty());

  REQUIRE(b.put_bytes("keep.txt", "old content", {}).ok());
  FailingSource over(100);
  CHECK_FALSE(b.put("keep.txt", over, {}).ok());
  CHECK(*b.read_bytes("keep.txt") == "old content");
  CHECK(all_files(t / "root").size() == 2);  // the object and its sidecar, no temp file
}

TEST_CASE("a progress callback returning false cancels and leaves nothing") {
  test::TempDir t;
  LocalStorageBackend b(opts(t));
  std::string data(3 << 20, 'a');
  MemorySource src(data);
  PutOptions o;
  o.progress = [](std::uint64_t done, std::uint64_t) { return done < (1u << 20); };
  CHECK(b.put("c.bin", src, o).is(ErrorCode::cancelled));
  CHECK(all_files(t / "root").empty());
}

TEST_CASE("sidecar entries follow the file they describe (crash between sidecar and object rename)") {
  test::TempDir t;
  LocalStorageBackend b(opts(t));
  PutOptions v1;
  v1.content_type = "text/plain";
  v1.user_metadata = {{"version", "1"}};
  REQUIRE(b.put_bytes("k", "one", v1).ok());
  // Keep the first file (same inode, same mtime) aside.
  REQUIRE(::link((t / "root/k").c_str(), (t / "keep").c_str()) == 0);
  PutOptions v2;
  v2.content_type = "application/json";
  v2.user_metadata = {{"version", "2"}};
  REQUIRE(b.put_bytes("k", "two!", v2).ok());
  CHECK(b.stat("k")->user_metadata.at("version") == "2");
  // Put the first file back: this is the state a crash after the sidecar
  // rename but before the object rename leaves.
  REQUIRE(::rename((t / "keep").c_str(), (t / "root/k").c_str()) == 0);
  auto info = b.stat("k");
  REQUIRE(info.ok());
  CHECK(*b.read_bytes("k") == "one");
  CHECK(info->user_metadata.at("version") == "1");
  CHECK(info->content_type == "text/plain");
  CHECK(info->etag == detail::hex_lower(detail::md5("one")));
}

TEST_CASE("files changed or placed by other means read with default metadata and a computed etag") {
  test::TempDir t;
  LocalStorageBackend b(opts(t));
  PutOptions o;
  o.content_type = "image/png";
  o.user_metadata = {{"a", "b"}};
  REQUIRE(b.put_bytes("edited.png", "first", o).ok());
  spit(t / "root/edited.png", "changed in place");
  auto info = b.stat("edited.png");
  REQUIRE(info.ok());
  CHECK(info->content_type == "application/octet-stream");
  CHECK(info->user_metadata.empty());
  CHECK(info->etag == detail::hex_lower(detail::md5("changed in place")));

  spit(t / "root/legacy/old.txt", "legacy");
  CHECK(*b.read_bytes("legacy/old.txt") == "legacy");
  CHECK(b.stat("legacy/old.txt")->size == 6);
  CHECK(b.list_all("legacy/")->size() == 1);
}

TEST_CASE("orphan sidecars (crash between unlinks) are ignored") {
  test::TempDir t;
  LocalStorageBackend b(opts(t));
  PutOptions o;
  o.user_metadata = {{"x", "1"}};
  REQUIRE(b.put_bytes("o/k", "v", o).ok());
  fs::remove(t / "root/o/k");
  CHECK(b.stat("o/k").status().is(ErrorCode::not_found));
  CHECK(b.list_all("")->empty());
  REQUIRE(b.put_bytes("o/k", "w", {}).ok());
  CHECK(b.stat("o/k")->user_metadata.empty());
  CHECK(b.stat("o/k")->etag == detail::hex_lower(detail::md5("w")));
}

TEST_CASE("temp files and the reserved tree never show and cannot be addressed") {
  test::TempDir t;
  LocalStorageBackend b(LocalOptions{t / "root", "/media/", "", t / "root/.spool"});
  REQUIRE(b.put_bytes("d/real", "r", {}).ok());
  spit(t / "root/d/.mediastore-tmp.0123456789abcdef", "partial");
  spit(t / "root/.spool/upload-1", "spooled");
  auto all = b.list_all("");
  REQUIRE(all.ok());
  REQUIRE(all->size() == 1);
  CHECK(all->front().key == "d/real");
  ListOptions lo;
  lo.delimiter = "/";
  auto page = b.list(lo);
  REQUIRE(page.ok());
  CHECK(page->common_prefixes == std::vector<std::string>{"d/"});

  for (const char* k :
       {".mediastore/meta/d/real", ".mediastore", "d/.mediastore-tmp.0123456789abcdef", ".spool/upload-1", ".spool"}) {
    CHECK_MESSAGE(b.put_bytes(k, "x", {}).is(ErrorCode::invalid_argument), k);
    CHECK_MESSAGE(b.read_bytes(k).status().is(ErrorCode::invalid_argument), k);
    CHECK_MESSAGE(b.remove(k).is(ErrorCode::invalid_argument), k);
  }
  CHECK(slurp(t / "root/.spool/upload-1") == "spooled");
}

TEST_CASE("symbolic links are never followed") {
  test::TempDir t;
  spit(t / "outside/secret", "secret");
  LocalStorageBackend b(opts(t));
  REQUIRE(b.ping().ok());
  REQUIRE(::symlink((t / "outside").c_str(), (t / "root/link").c_str()) == 0);
  REQUIRE(::symlink((t / "outside/secret").c_str(), (t / "root/file-link").c_str()) == 0);

  CHECK(b.read_bytes("link/secret").status().is(ErrorCode::permission_denied));
  CHECK(b.read_bytes("file-link").status().is(ErrorCode::permission_denied));
  CHECK(b.stat("link/secret").status().is(ErrorCode::permission_denied));
  const Status w = b.put_bytes("link/new", "x", {});
  CHECK(w.is(ErrorCode::permission_denied));
  CHECK(w.message().find("link/new") != std::string::npos);
  CHECK_FALSE(fs::exists(t / "outside/new"));
  CHECK(b.copy("file-link", "copy").is(ErrorCode::permission_denied));
  CHECK(b.remove("link/secret").is(ErrorCode::permission_denied));
  CHECK(b.list_all("")->empty());
  auto failures = b.remove_many({"link/secret", "plain-missing"});
  REQUIRE(failures.ok());
  REQUIRE(failures->size() == 1);
  CHECK(failures->front().first == "link/secret");
  CHECK(failures->front().second.is(ErrorCode::permission_denied));
  CHECK(slurp(t / "outside/secret") == "secret");
  // Overwriting or deleting the link itself replaces the link, not the target.
  REQUIRE(b.put_bytes("file-link", "replaced", {}).ok());
  CHECK(slurp(t / "outside/secret") == "secret");
  REQUIRE(b.remove("file-link").ok());
  CHECK(slurp(t / "outside/secret") == "secret");
}

TEST_CASE("an object and a folder cannot share a key") {
  test::TempDir t;
  LocalStorageBackend b(opts(t));
  REQUIRE(b.put_bytes("a", "x", {}).ok());
  const Status s = b.put_bytes("a/b", "y", {});
  CHECK(s.is(ErrorCode::conflict));
  CHECK(s.message().find("a/b") != std::string::npos);
  REQUIRE(b.put_bytes("d/x", "y", {}).ok());
  CHECK(b.put_bytes("d", "z", {}).is(ErrorCode::conflict));
  CHECK(b.remove("d").ok());  // no object named d: nothing to do
  CHECK(*b.read_bytes("d/x") == "y");
  CHECK(b.read_bytes("d").status().is(ErrorCode::not_found));
  CHECK(b.read_bytes("a/b").status().is(ErrorCode::not_found));
}

TEST_CASE("remove prunes empty folders in both trees") {
  test::TempDir t;
  LocalStorageBackend b(opts(t));
  REQUIRE(b.put_bytes("x/y/z", "1", {}).ok());
  REQUIRE(b.put_bytes("x/keep", "2", {}).ok());
  REQUIRE(b.remove("x/y/z").ok());
  CHECK_FALSE(fs::exists(t / "root/x/y"));
  CHECK_FALSE(fs::exists(t / "root/.mediastore/meta/x/y"));
  CHECK(fs::exists(t / "root/x/keep"));
  REQUIRE(b.remove("x/keep").ok());
  CHECK_FALSE(fs::exists(t / "root/x"));
  CHECK(b.remove("x/keep").ok());
  CHECK(b.remove("never/was").ok());
}

TEST_CASE("listing orders keys bytewise across folder boundaries") {
  test::TempDir t;
  LocalStorageBackend b(opts(t));
  for (const char* k : {"a/b", "a-c", "a.d", "a0", "b", "a/a/a"}) REQUIRE(b.put_bytes(k, k, {}).ok());
  auto all = b.list_all("");
  REQUIRE(all.ok());
  std::vector<std::string> keys;
  for (auto& o : *all) keys.push_back(o.key);
  CHECK(keys == std::vector<std::string>{"a-c", "a.d", "a/a/a", "a/b", "a0", "b"});

  ListOptions lo;
  lo.max_keys = 2;
  std::vector<std::string> paged;
  int pages = 0;
  while (true) {
    auto p = b.list(lo);
    REQUIRE(p.ok());
    ++pages;
    for (auto& o : p->objects) paged.push_back(o.key);
    if (p->next_page_token.empty()) break;
    lo.page_token = p->next_page_token;
  }
  CHECK(paged == keys);
  CHECK(pages == 3);

  ListOptions d;
  d.delimiter = "-";
  auto p = b.list(d);
  REQUIRE(p.ok());
  CHECK(p->common_prefixes == std::vector<std::string>{"a-"});
  CHECK(p->objects.size() == 5);
  d.max_keys = 0;
  CHECK(b.list(d).status().is(ErrorCode::invalid_argument));
}

TEST_CASE("ping creates the root and reports an unusable one") {
  test::TempDir t;
  LocalStorageBackend b(LocalOptions{t / "a/b/root", "/media/", "", ""});
  CHECK(b.ping().ok());
  CHECK(fs::is_directory(t / "a/b/root"));
  CHECK(all_files(t / "a/b/root").empty());
  spit(t / "file", "x");
  LocalStorageBackend bad(LocalOptions{t / "file", "/media/", "", ""});
  const Status s = bad.ping();
  CHECK_FALSE(s.ok());
  CHECK(s.message().find(t / "file") != std::string::npos);
  CHECK(bad.stat("k").status().code() != ErrorCode::ok);
}

TEST_CASE("a missing root reads as empty") {
  test::TempDir t;
  LocalStorageBackend b(LocalOptions{t / "missing", "/media/", "", ""});
  CHECK(b.stat("k").status().is(ErrorCode::not_found));
  CHECK(b.list_all("")->empty());
  CHECK(b.remove("k").ok());
  CHECK_FALSE(fs::exists(t / "missing"));
}

TEST_CASE("plain URLs are MEDIA_URL plus the encoded key") {
  test::TempDir t;
  LocalStorageBackend b(LocalOptions{t / "root", "/media", "", ""});
  CHECK(*b.get_url("a b/ü.jpg", std::chrono::seconds(60)) == "/media/a%20b/%C3%BC.jpg");
  CHECK(b.get_url("../x", std::chrono::seconds(60)).status().is(ErrorCode::invalid_argument));
  CHECK(b.get_url("x", std::chrono::seconds(0)).status().is(ErrorCode::invalid_argument));
  CHECK(b.get_url("x", std::chrono::hours(24 * 8)).status().is(ErrorCode::invalid_argument));
}
