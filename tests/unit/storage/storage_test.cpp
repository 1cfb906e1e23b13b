// Sources, sinks and the StorageBackend conveniences.
#include <doctest/doctest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <regex>

#include "mediastore/storage.hpp"
#include "storage/local_backend.hpp"
#include "support/temp_dir.hpp"

using namespace mediastore;
namespace fs = std::filesystem;

TEST_CASE("MemorySource reads, rewinds and reads at offsets") {
  MemorySource s("hello world");
  char buf[8];
  CHECK(*s.read(buf, 5) == 5);
  CHECK(std::string(buf, 5) == "hello");
  CHECK(*s.read(buf, 8) == 6);
  CHECK(*s.read(buf, 8) == 0);
  CHECK(s.rewind().ok());
  CHECK(*s.read(buf, 1) == 1);
  CHECK(buf[0] == 'h');
  CHECK(*s.read_at(6, buf, 8) == 5);
  CHECK(std::string(buf, 5) == "world");
  CHECK(*s.read_at(100, buf, 8) == 0);
  CHECK(*s.size() == 11);
}

TEST_CASE("FileSource") {
  test::TempDir t;
  { std::ofstream(t / "f") << "file content"; }
  auto s = FileSource::open(t / "f");
  REQUIRE(s.ok());
  CHECK(*(*s)->size() == 12);
  char buf[32];
  CHECK(*(*s)->read(buf, 4) == 4);
  CHECK(*(*s)->read_at(5, buf, 32) == 7);
  CHECK(std::string(buf, 7) == "content");
  CHECK(*(*s)->read(buf, 32) == 8);
  CHECK((*s)->rewind().ok());
  CHECK(*(*s)->read(buf, 32) == 12);

  auto missing = FileSource::open(t / "nope");
  CHECK(missing.status().is(ErrorCode::not_found));
  CHECK(missing.status().message().find(t / "nope") != std::string::npos);
  CHECK(FileSource::open(t.path()).status().is(ErrorCode::invalid_argument));
  if (::geteuid() != 0) {
    ::chmod((t / "f").c_str(), 0);
    CHECK(FileSource::open(t / "f").status().is(ErrorCode::permission_denied));
  }
}

TEST_CASE("ByteSource and ByteSink defaults refuse to rewind") {
  struct OneShot final : ByteSource {
    Result<std::size_t> read(void*, std::size_t) override { return std::size_t{0}; }
    std::optional<std::uint64_t> size() const override { return std::nullopt; }
  } src;
  CHECK_FALSE(src.rewind().ok());
  CHECK_FALSE(src.read_at(0, nullptr, 0).ok());
  CHECK_FALSE(src.random_access());
  struct Null final : ByteSink {
    Status write(const void*, std::size_t) override { return Status::Ok(); }
  } sink;
  CHECK_FALSE(sink.reset().ok());
  std::string s = "x";
  StringSink ss(s);
  CHECK(ss.write("yz", 2).ok());
  CHECK(s == "xyz");
  CHECK(ss.reset().ok());
  CHECK(s.empty());
}

TEST_CASE("save() stores under a fresh dated key with a sanitised name") {
  test::TempDir t;
  detail::LocalStorageBackend b(detail::LocalOptions{t / "root", "/media/", "", ""});
  MemorySource src("data");
  PutOptions o;
  o.content_type = "image/png";
  auto k1 = b.save(src, "../My Photo.png", o);
  REQUIRE(k1.ok());
  CHECK(std::regex_match(*k1, std::regex(R"(\d{4}/\d{2}/\d{2}/[0-9a-f]{16}_My_Photo\.png)")));
  MemorySource src2("data");
  auto k2 = b.save(src2, "../My Photo.png", o);
  REQUIRE(k2.ok());
  CHECK(*k1 != *k2);
  CHECK(b.stat(*k1)->content_type == "image/png");
  CHECK(*b.exists(*k1));
  CHECK_FALSE(*b.exists("2000/01/01/none"));
  CHECK(b.exists("../bad").status().is(ErrorCode::invalid_argument));
}

TEST_CASE("put_file, read_to_file, remove_many") {
  test::TempDir t;
  detail::LocalStorageBackend b(detail::LocalOptions{t / "root", "/media/", "", ""});
  { std::ofstream(t / "in") << "some file"; }
  CHECK(b.put_file("../x", t / "does-not-exist", {}).is(ErrorCode::invalid_argument));  // key first
  CHECK(b.put_file("x", t / "does-not-exist", {}).is(ErrorCode::not_found));
  REQUIRE(b.put_file("f/in", t / "in", {}).ok());
  REQUIRE(b.read_to_file("f/in", t / "out").ok());
  std::ifstream in(t / "out");
  std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(got == "some file");
  // A failed download leaves neither the file nor a temp file.
  CHECK(b.read_to_file("missing", t / "out2").is(ErrorCode::not_found));
  int entries = 0;
  for (auto& e : fs::directory_iterator(t.path())) {
    (void)e;
    ++entries;
  }
  CHECK(entries == 3);  // in, out, root

  REQUIRE(b.put_bytes("m/1", "1", {}).ok());
  REQUIRE(b.put_bytes("m/2", "2", {}).ok());
  auto failures = b.remove_many({"m/1", "m/2", "m/missing", "../bad"});
  REQUIRE(failures.ok());
  REQUIRE(failures->size() == 1);
  CHECK(failures->front().first == "../bad");
  CHECK(failures->front().second.is(ErrorCode::invalid_argument));
  CHECK(b.list_all("m/")->empty());
}

TEST_CASE("make_storage builds the configured backend") {
  test::TempDir t;
  Config c;
  c.media_root = t / "root";
  auto s = make_storage(c);
  REQUIRE(s.ok());
  CHECK((*s)->name() == "local");
  c.media_root.clear();
  CHECK(make_storage(c).status().is(ErrorCode::invalid_argument));
}
