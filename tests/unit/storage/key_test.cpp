#include <doctest/doctest.h>

#include <string>

#include "mediastore/storage.hpp"
#include "storage/key.hpp"
#include "support/gcc_workarounds.hpp"

using namespace mediastore;

TEST_CASE("validate_key accepts ordinary keys") {
  for (const char* k : {"a", "a/b", "2024/01/02/0123456789abcdef_photo.jpg", "a b/c d.txt", ".hidden", "a/..b",
                        "a/b../c", "...", "ünïcode/日本.jpg", "x-y_z~%41"}) {
    CHECK_MESSAGE(validate_key(k).ok(), k);
  }
  CHECK(validate_key(std::string(1024, 'a')).ok());
}

TEST_CASE("validate_key rejects each bad form with invalid_argument naming the key") {
  struct Bad {
    std::string key;
    std::string shown;  // how the key appears in the message
  };
  const Bad bad[] = {
      {"../../etc/passwd", "'../../etc/passwd'"},
      {"a/../b", "'a/../b'"},
      {"..", "'..'"},
      {"a/./b", "'a/./b'"},
      {".", "'.'"},
      {"/etc/passwd", "'/etc/passwd'"},
      {"a\\b", "'a\\\\b'"},
      {std::string("a\0b", 3), "'a\\x00b'"},
      {"a\nb", "'a\\x0ab'"},
      {"a\x1b[31mred", "'a\\x1b[31mred'"},
      {"a\x7f", "'a\\x7f'"},
      {"a//b", "'a//b'"},
      {"a/", "'a/'"},
      {"bad\xff utf8", "'bad\\xff utf8'"},
      {"overlong\xc0\xaf", "'overlong\\xc0\\xaf'"},
      {"surrogate\xed\xa0\x80", "'surrogate\\xed\\xa0\\x80'"},
      {"c1\xc2\x85", "'c1\\xc2\\x85'"},
  };
  for (const auto& b : bad) {
    const Status s = validate_key(b.key);
    CHECK_MESSAGE(s.is(ErrorCode::invalid_argument), b.shown);
    CHECK_MESSAGE(s.message().find(b.shown) != std::string::npos, s.message());
  }
  const Status empty = validate_key("");
  CHECK(empty.is(ErrorCode::invalid_argument));
  CHECK(empty.message().find("''") != std::string::npos);

  const Status long_key = validate_key(std::string(1025, 'k'));
  CHECK(long_key.is(ErrorCode::invalid_argument));
  CHECK(long_key.message().find("1025") != std::string::npos);
  CHECK(long_key.message().find("kkkk") != std::string::npos);
  CHECK(long_key.message().size() < 400);  // the key is shown cut short
}

TEST_CASE("escape_for_message keeps UTF-8 and escapes control bytes") {
  using detail::escape_for_message;
  CHECK(escape_for_message("plain") == "plain");
  CHECK(escape_for_message("日本") == "日本");
  CHECK(escape_for_message(std::string("\0\r\n", 3)) == "\\x00\\x0d\\x0a");
  CHECK(escape_for_message("it's") == "it\\'s");
  CHECK(escape_for_message("abcdef", 3) == "abc...");
}

TEST_CASE("sanitize_filename") {
  using detail::sanitize_filename;
  CHECK(sanitize_filename("photo.jpg") == "photo.jpg");
  CHECK(sanitize_filename("My Holiday Photo (1).JPG") == "My_Holiday_Photo_1_.JPG");
  CHECK(sanitize_filename("../../etc/passwd") == "passwd");
  CHECK(sanitize_filename("C:\\Users\\me\\cat.png") == "cat.png");
  CHECK(sanitize_filename("..") == "file");
  CHECK(sanitize_filename("") == "file");
  CHECK(sanitize_filename(".bashrc") == "bashrc");
  CHECK(sanitize_filename("日本.jpg") == "_.jpg");
  CHECK(sanitize_filename("trailing...") == "trailing");
  const std::string long_name = std::string(300, 'x') + ".jpeg";
  const std::string s = sanitize_filename(long_name);
  CHECK(s.size() == 100);
  CHECK(s.substr(s.size() - 5) == ".jpeg");
  CHECK(validate_key("2024/01/01/abc_" + sanitize_filename("a/b\\c\n..")).ok());
}

MS_GCC_STRING_WRESTRICT_BEGIN  // o.user_metadata["bad name"] = "v": GCC PR 105329
TEST_CASE("validate_put_options") {
  PutOptions o;
  CHECK(detail::validate_put_options("k", o).ok());
  o.user_metadata["Camera-Model"] = "X100";
  CHECK(detail::validate_put_options("k", o).ok());
  o.user_metadata["bad name"] = "v";
  CHECK(detail::validate_put_options("k", o).is(ErrorCode::invalid_argument));
  o.user_metadata.erase("bad name");
  o.user_metadata["x"] = "line\nbreak";
  CHECK(detail::validate_put_options("k", o).is(ErrorCode::invalid_argument));
  o.user_metadata.erase("x");
  o.content_type = "text/plain\r\nX-Evil: 1";
  CHECK(detail::validate_put_options("k", o).is(ErrorCode::invalid_argument));
  o.content_type = "text/plain";
  o.user_metadata["big"] = std::string(3000, 'v');
  const Status s = detail::validate_put_options("my/key", o);
  CHECK(s.is(ErrorCode::invalid_argument));
  CHECK(s.message().find("my/key") != std::string::npos);
}
MS_GCC_STRING_WRESTRICT_END

TEST_CASE("url_encode_path") {
  CHECK(detail::url_encode_path("a/b c/ü?#%.jpg") == "a/b%20c/%C3%BC%3F%23%25.jpg");
  CHECK(detail::url_encode_path("A-z_0.9~") == "A-z_0.9~");
}
