// Streaming (aws-chunked) uploads: chunk signing against AWS's published
// chunked-upload example byte for byte, the encoded length, the reader
// thread's error handling and rewinding; the payload signing setting.
#include "s3/chunked.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include "core/crypto.hpp"
#include "mediastore/config.hpp"
#include "s3/client.hpp"
#include "s3/sigv4.hpp"

using namespace mediastore;
using namespace mediastore::s3;

namespace {

std::chrono::system_clock::time_point utc(int y, unsigned m, unsigned d) {
  using namespace std::chrono;
  return sys_days{year{y} / month{m} / day{d}};
}

// Reads the whole encoded stream in reads of `step` bytes.
Result<std::string> drain(BodySource& s, std::size_t step) {
  std::string out;
  std::string buf(step, '\0');
  for (;;) {
    auto r = s.read(buf.data(), buf.size());
    if (!r.ok()) return r.status();
    if (*r == 0) return out;
    out.append(buf.data(), *r);
  }
}

// Random access over memory whose read_at fails (or ends early) at `fail_at`.
class FaultySource final : public BodySource {
 public:
  FaultySource(std::string_view data, std::uint64_t fail_at, bool short_read)
      : data_(data), fail_at_(fail_at), short_(short_read) {}
  Result<std::size_t> read(void*, std::size_t) override { return Status::Internal("not used"); }
  std::optional<std::uint64_t> size() const override { return data_.size(); }
  Result<std::size_t> read_at(std::uint64_t off, void* buf, std::size_t n) override {
    if (off >= fail_at_) {
      if (short_) return std::size_t{0};
      return Status::IoError("disk on fire at byte " + std::to_string(off));
    }
    n = std::min<std::size_t>(n, static_cast<std::size_t>(fail_at_ - off));
    return MemoryBody(data_).read_at(off, buf, n);
  }
  bool random_access() const override { return true; }

 private:
  std::string_view data_;
  std::uint64_t fail_at_;
  bool short_;
};

const Credentials kCreds{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", ""};

}  // namespace

TEST_CASE("chunked: AWS's chunked upload example (PUT examplebucket/chunkObject.txt), byte for byte") {
  // https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-streaming.html,
  // "Example: PUT Object": 66560 bytes of 'a' in 64 KiB chunks.
  SignableRequest req;
  req.method = "PUT";
  req.path = "/examplebucket/chunkObject.txt";
  req.headers = {{"Host", "s3.amazonaws.com"},
                 {"x-amz-date", "20130524T000000Z"},
                 {"x-amz-storage-class", "REDUCED_REDUNDANCY"},
                 {"x-amz-content-sha256", std::string(kStreamingPayload)},
                 {"Content-Encoding", "aws-chunked"},
                 {"x-amz-decoded-content-length", "66560"},
                 {"Content-Length", "66824"}};
  req.payload_hash = std::string(kStreamingPayload);
  SigningParams params;
  params.region = "us-east-1";
  params.time = utc(2013, 5, 24);
  const SigningResult seed = sign_request(req, kCreds, params);
  CHECK(seed.signed_headers ==
        "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;"
        "x-amz-storage-class");
  CHECK(seed.signature == "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");

  const std::string key = signing_key(kCreds.secret_access_key, "20130524", "us-east-1", "s3");
  const std::string scope = "20130524/us-east-1/s3/aws4_request";
  const std::string chunk1(65536, 'a');
  const std::string chunk2(1024, 'a');
  CHECK(chunk_string_to_sign("20130524T000000Z", scope, seed.signature, detail::hex_lower(detail::sha256(chunk1))) ==
        "AWS4-HMAC-SHA256-PAYLOAD\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
        "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9\n"
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
        "bf718b6f653bebc184e1479f1935b8da974d701b893afcf49e701f3e2f9f9c5a");

  const std::string sig1 = "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648";
  const std::string sig2 = "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497";
  const std::string sig3 = "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9";
  CHECK(chunk_signature(key, "20130524T000000Z", scope, seed.signature, detail::hex_lower(detail::sha256(chunk1))) ==
        sig1);
  CHECK(chunk_signature(key, "20130524T000000Z", scope, sig1, detail::hex_lower(detail::sha256(chunk2))) == sig2);
  CHECK(chunk_signature(key, "20130524T000000Z", scope, sig2, detail::hex_lower(detail::sha256(""))) == sig3);

  const std::string expected = "10000;chunk-signature=" + sig1 + "\r\n" + chunk1 + "\r\n" +
                               "400;chunk-signature=" + sig2 + "\r\n" + chunk2 + "\r\n" + "0;chunk-signature=" + sig3 +
                               "\r\n\r\n";
  CHECK(expected.size() == 66824);
  CHECK(chunked_encoded_length(66560, 65536) == 66824);

  const std::string body(66560, 'a');
  MemoryBody mem(body);
  for (std::size_t depth : {1, 3}) {
    for (std::size_t step : {1000, 16384, 1 << 20}) {
      CAPTURE(depth);
      CAPTURE(step);
      ChunkedSigningSource src(mem, body.size(), 65536, depth);
      CHECK(src.size() == std::optional<std::uint64_t>(66824));
      src.start({key, "20130524T000000Z", scope, seed.signature});
      auto got = drain(src, step);
      REQUIRE(got.ok());
      CHECK(*got == expected);
      CHECK(src.data_bytes_sent() == 66560);
      // Again after a rewind (a retry on the same connection's signature).
      REQUIRE(src.rewind().ok());
      auto again = drain(src, step);
      REQUIRE(again.ok());
      CHECK(*again == expected);
    }
  }
}

TEST_CASE("chunked: encoded length and chunk layout at chunk boundaries") {
  const std::string key = signing_key(kCreds.secret_access_key, "20240101", "us-east-1", "s3");
  const std::size_t cs = 8192;
  for (std::uint64_t size : {0ull, 1ull, 8191ull, 8192ull, 8193ull, 16384ull, 3ull * 8192 + 5}) {
    CAPTURE(size);
    std::string body(static_cast<std::size_t>(size), '\0');
    for (std::size_t i = 0; i < body.size(); ++i) body[i] = static_cast<char>(i * 7 + 3);
    MemoryBody mem(body);
    ChunkedSigningSource src(mem, size, cs, 2);
    src.start({key, "20240101T000000Z", "20240101/us-east-1/s3/aws4_request", std::string(64, '0')});
    auto got = drain(src, 5000);
    REQUIRE(got.ok());
    CHECK(got->size() == chunked_encoded_length(size, cs));
    CHECK(src.size() == std::optional<std::uint64_t>(got->size()));
    // Decode: the chunks carry the body in order, every chunk but the last
    // full, and the last one is the 0-byte chunk.
    std::string decoded;
    std::size_t pos = 0;
    std::string prev(64, '0');
    for (;;) {
      const std::size_t semi = got->find(';', pos);
      REQUIRE(semi != std::string::npos);
      const std::uint64_t n = std::stoull(got->substr(pos, semi - pos), nullptr, 16);
      const std::size_t eol = got->find("\r\n", semi);
      const std::string sig = got->substr(semi + 17, eol - semi - 17);
      const std::string data = got->substr(eol + 2, static_cast<std::size_t>(n));
      CHECK(sig == chunk_signature(key, "20240101T000000Z", "20240101/us-east-1/s3/aws4_request", prev,
                                   detail::hex_lower(detail::sha256(data))));
      prev = sig;
      CHECK(got->substr(eol + 2 + n, 2) == "\r\n");
      pos = eol + 4 + static_cast<std::size_t>(n);
      if (n == 0) break;
      CHECK((n == cs || decoded.size() + n == size));
      decoded += data;
    }
    CHECK(pos == got->size());
    CHECK(decoded == body);
  }
}

TEST_CASE("chunked: a reader error or a short source fails the read with its status") {
  const std::string body(100000, 'x');
  const std::string key = signing_key(kCreds.secret_access_key, "20240101", "us-east-1", "s3");
  for (bool short_read : {false, true}) {
    CAPTURE(short_read);
    FaultySource faulty(body, 50000, short_read);
    ChunkedSigningSource src(faulty, body.size(), 8192, 2);
    src.start({key, "20240101T000000Z", "20240101/us-east-1/s3/aws4_request", std::string(64, '0')});
    auto got = drain(src, 4096);
    REQUIRE_FALSE(got.ok());
    CHECK(got.status().is(ErrorCode::io_error));
    if (short_read) {
      CHECK(got.status().message().find("ended after 50000 of 100000 bytes") != std::string::npos);
    } else {
      CHECK(got.status().message().find("disk on fire") != std::string::npos);
    }
    // A rewind restarts the reader, which fails the same way.
    REQUIRE(src.rewind().ok());
    CHECK_FALSE(drain(src, 4096).ok());
  }
  // Stopping half way (the transfer failed elsewhere) joins the reader.
  MemoryBody mem(body);
  ChunkedSigningSource src(mem, body.size(), 8192, 2);
  std::string buf(1000, '\0');
  REQUIRE(src.read(buf.data(), buf.size()).ok());
}

TEST_CASE("payload signing: the setting, its environment variable, and a bad value") {
  CHECK(parse_payload_signing("") == PayloadSigning::automatic);
  CHECK(parse_payload_signing("auto") == PayloadSigning::automatic);
  CHECK(parse_payload_signing("whole") == PayloadSigning::whole);
  CHECK(parse_payload_signing("streaming") == PayloadSigning::streaming);
  CHECK_FALSE(parse_payload_signing("chunked").has_value());

  auto lookup = [](std::string value) {
    return [value](std::string_view name) -> std::optional<std::string> {
      if (name == "MEDIA_STORAGE_BACKEND") return std::string("minio");
      if (name == "MINIO_ENDPOINT") return std::string("http://127.0.0.1:1");
      if (name == "MINIO_BUCKET_NAME") return std::string("b");
      if (name == "MINIO_ACCESS_KEY") return std::string("AK");
      if (name == "MINIO_SECRET_KEY") return std::string("SK");
      if (name == "MEDIA_S3_PAYLOAD_SIGNING" && !value.empty()) return value;
      return std::nullopt;
    };
  };
  auto unset = Config::from_lookup(lookup(""));
  REQUIRE(unset.ok());
  CHECK(unset->s3.payload_signing == "auto");
  auto whole = Config::from_lookup(lookup("whole"));
  REQUIRE(whole.ok());
  CHECK(whole->s3.payload_signing == "whole");
  auto client = Client::create(whole->s3, [](std::string_view) { return std::nullopt; });
  REQUIRE_MESSAGE(client.ok(), client.status().to_string());
  CHECK((*client)->payload_signing() == PayloadSigning::whole);
  auto bad = Config::from_lookup(lookup("fast"));
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.status().is(ErrorCode::invalid_argument));
  CHECK(bad.status().message().find("MEDIA_S3_PAYLOAD_SIGNING") != std::string::npos);
  S3Settings s = whole->s3;
  s.payload_signing = "fast";
  CHECK(Client::create(s, [](std::string_view) { return std::nullopt; }).status().is(ErrorCode::invalid_argument));
}
