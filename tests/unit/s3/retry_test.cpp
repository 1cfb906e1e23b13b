// Retry policy: backoff math, the retry budget, and the client's behaviour
// against a scripted local HTTP server (offline, loopback only).
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

#include "mediastore/log.hpp"
#include "s3/client.hpp"
#include "s3/retry.hpp"
#include "support/gcc_workarounds.hpp"

using namespace mediastore;
using namespace mediastore::s3;
using std::chrono::milliseconds;

TEST_CASE("backoff: full jitter under an exponential ceiling capped at 20 s") {
  RetryPolicy p;  // base 1 s, cap 20 s
  CHECK(backoff_delay(p, 1, 0.0) == milliseconds(0));
  CHECK(backoff_delay(p, 1, 0.5) == milliseconds(500));
  CHECK(backoff_delay(p, 2, 0.5) == milliseconds(1000));
  CHECK(backoff_delay(p, 3, 0.999) == milliseconds(3996));
  CHECK(backoff_delay(p, 5, 1.0) == milliseconds(16000));
  CHECK(backoff_delay(p, 6, 1.0) == milliseconds(20000));   // 32 s capped
  CHECK(backoff_delay(p, 60, 1.0) == milliseconds(20000));  // no overflow
  CHECK(backoff_delay(p, 0, 1.0) == milliseconds(1000));
  for (int i = 0; i < 1000; ++i) {
    const double r = jitter01();
    REQUIRE(r >= 0.0);
    REQUIRE(r < 1.0);
    const auto d = backoff_delay(p, 4, r);
    CHECK(d >= milliseconds(0));
    CHECK(d < milliseconds(8000));
  }
}

TEST_CASE("retry budget: 5 per retry, 10 after a timeout, refunds on success") {
  RetryBudget b(20);
  CHECK(b.acquire(ErrorCode::unavailable) == 5);
  CHECK(b.acquire(ErrorCode::timeout) == 10);
  CHECK(b.tokens() == 5);
  CHECK(b.acquire(ErrorCode::timeout) == 0);  // not enough left
  CHECK(b.acquire(ErrorCode::throttled) == 5);
  CHECK(b.acquire(ErrorCode::throttled) == 0);
  b.on_success(10);
  CHECK(b.tokens() == 10);
  b.on_success(0);
  CHECK(b.tokens() == 11);
  for (int i = 0; i < 100; ++i) b.on_success(0);
  CHECK(b.tokens() == 20);  // capped
}

namespace {

struct Reply {
  int status;
  std::string body;
  std::string extra_headers;
};

// One scripted answer per connection ("Connection: close"); records what it
// received.
class FakeServer {
 public:
  // Chooses the reply from the request line ("PUT /b/k?partNumber=2&... HTTP/1.1").
  using Handler = std::function<Reply(const std::string& request_line)>;
  explicit FakeServer(std::deque<Reply> replies) : FakeServer(Handler(), std::move(replies)) {}
  explicit FakeServer(Handler handler) : FakeServer(std::move(handler), {}) {}
  FakeServer(Handler handler, std::deque<Reply> replies) : handler_(std::move(handler)), replies_(std::move(replies)) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd_ >= 0);
    int one = 1;
    setsockopt(fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(listen(fd_, 16) == 0);
    socklen_t len = sizeof a;
    getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeServer() {
    stop_ = true;
    shutdown(fd_, SHUT_RDWR);
    close(fd_);
    thread_.join();
  }
  int port() const { return port_; }
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  std::vector<std::string> heads() {
    std::lock_guard<std::mutex> lock(mu_);
    return heads_;
  }
  std::vector<std::string> bodies() {
    std::lock_guard<std::mutex> lock(mu_);
    return bodies_;
  }

 private:
  void serve() {
    while (!stop_) {
      int c = accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string in;
      char buf[65536];
      std::size_t head_end = std::string::npos;
      while (head_end == std::string::npos) {
        ssize_t n = recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        in.append(buf, static_cast<std::size_t>(n));
        head_end = in.find("\r\n\r\n");
      }
      if (head_end == std::string::npos) {
        close(c);
        continue;
      }
      std::size_t length = 0;
      auto cl = in.find("Content-Length: ");
      if (cl != std::string::npos && cl < head_end) length = std::stoul(in.substr(cl + 16));
      while (in.size() < head_end + 4 + length) {
        ssize_t n = recv(c, buf, sizeof buf, 0);
        if (n <= 0) break;
        in.append(buf, static_cast<std::size_t>(n));
      }
      Reply r{500, "", ""};
      {
        std::lock_guard<std::mutex> lock(mu_);
        requests_.push_back(in.substr(0, in.find("\r\n")));
        heads_.push_back(in.substr(0, head_end));
        bodies_.push_back(in.substr(head_end + 4));
        if (handler_) {
          r = handler_(requests_.back());
        } else if (!replies_.empty()) {
          r = replies_.front();
          replies_.pop_front();
        }
      }
      const std::string out = fmt::format(
          "HTTP/1.1 {} X\r\nContent-Length: {}\r\nConnection: close\r\nx-amz-request-id: req-{}\r\n{}\r\n{}", r.status,
          r.body.size(), requests_.size(), r.extra_headers, r.body);
      send(c, out.data(), out.size(), MSG_NOSIGNAL);
      close(c);
    }
  }

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  Handler handler_;
  std::deque<Reply> replies_;
  std::vector<std::string> requests_;
  std::vector<std::string> bodies_;
  std::vector<std::string> heads_;
  std::thread thread_;
};

std::string error_xml(const char* code) {
  return fmt::format("<Error><Code>{}</Code><Message>m</Message><RequestId>rid-{}</RequestId></Error>", code, code);
}

MS_GCC_STRING_WRESTRICT_BEGIN  // st.bucket = "b": GCC PR 105329
std::shared_ptr<Client> client_for(const FakeServer& s, int attempts, std::vector<milliseconds>* sleeps) {
  S3Settings st;
  st.endpoint = fmt::format("http://127.0.0.1:{}", s.port());
  st.bucket = "b";
  st.access_key = "AK";
  st.secret_key = "SK";
  st.path_style = true;
  st.max_attempts = attempts;
  st.low_speed_timeout = milliseconds(5000);
  auto c = Client::create(st);
  REQUIRE(c.ok());
  (*c)->set_sleep_for_tests([sleeps](milliseconds d) {
    if (sleeps) sleeps->push_back(d);
  });
  return *c;
}
MS_GCC_STRING_WRESTRICT_END

}  // namespace

TEST_CASE("503 SlowDown then success: retried with a rewound body") {
  FakeServer server(
      {{503, error_xml("SlowDown"), ""}, {500, error_xml("InternalError"), ""}, {200, "", "ETag: \"x\"\r\n"}});
  std::vector<milliseconds> sleeps;
  auto c = client_for(server, 3, &sleeps);
  const std::string data = "the body that must be sent whole each time";
  MemoryBody src(data);
  Status st = c->put_object("k", src, {});
  CHECK_MESSAGE(st.ok(), st.to_string());
  auto reqs = server.requests();
  REQUIRE(reqs.size() == 3);
  CHECK(reqs[0] == "PUT /b/k HTTP/1.1");
  for (const auto& b : server.bodies()) CHECK(b == data);
  REQUIRE(sleeps.size() == 2);
  CHECK(sleeps[0] < milliseconds(1000));
  CHECK(sleeps[1] < milliseconds(2000));
  CHECK(c->retry_budget().tokens() == RetryBudget::kCapacity);  // refunded
}

TEST_CASE("attempts are bounded; the last error is reported with its code") {
  FakeServer server({{503, error_xml("SlowDown"), ""},
                     {503, error_xml("SlowDown"), ""},
                     {503, error_xml("SlowDown"), ""},
                     {200, "", ""}});
  auto c = client_for(server, 3, nullptr);
  Status st = c->delete_object("k");
  CHECK(st.is(ErrorCode::throttled));
  CHECK(st.message().find("SlowDown") != std::string::npos);
  CHECK(st.message().find("rid-SlowDown") != std::string::npos);
  CHECK(server.requests().size() == 3);
}

TEST_CASE("other 4xx are never retried") {
  struct Case {
    int status;
    const char* code;
    ErrorCode want;
  };
  for (const Case& k :
       {Case{404, "NoSuchKey", ErrorCode::not_found}, Case{403, "AccessDenied", ErrorCode::permission_denied},
        Case{403, "SignatureDoesNotMatch", ErrorCode::auth_failed},
        Case{400, "InvalidArgument", ErrorCode::invalid_argument}, Case{400, "EntityTooLarge", ErrorCode::too_large}}) {
    const std::string code = k.code;
    CAPTURE(code);
    FakeServer server({{k.status, error_xml(k.code), ""}, {200, "", ""}});
    auto c = client_for(server, 5, nullptr);
    std::string out;
    StringBody sink(out);
    Status st = c->get_object("k", sink);
    CHECK(st.code() == k.want);
    CHECK(server.requests().size() == 1);
    CHECK(out.empty());  // error bodies never reach the sink
  }
}

TEST_CASE("408, 429, 502, 504 and RequestTimeout are retried") {
  struct Case {
    int status;
    std::string body;
  };
  for (const Case& k : {Case{408, ""}, Case{429, ""}, Case{502, "<html>bad gateway</html>"}, Case{504, ""},
                        Case{400, error_xml("RequestTimeout")}}) {
    const int status = k.status;
    CAPTURE(status);
    FakeServer server({{k.status, k.body, ""}, {200, "hello", ""}});
    auto c = client_for(server, 2, nullptr);
    std::string out;
    StringBody sink(out);
    Status st = c->get_object("k", sink);
    CHECK_MESSAGE(st.ok(), st.to_string());
    CHECK(out == "hello");
    CHECK(server.requests().size() == 2);
  }
}

TEST_CASE("a connection failure is retried, then reported as network_error") {
  int port;
  {
    FakeServer probe(std::deque<Reply>{});
    port = probe.port();
  }  // closed: nothing listens there now
  S3Settings st;
  st.endpoint = fmt::format("http://127.0.0.1:{}", port);
  st.bucket = "b";
  st.access_key = "AK";
  st.secret_key = "SK";
  st.path_style = true;
  st.max_attempts = 3;
  auto c = Client::create(st);
  REQUIRE(c.ok());
  std::vector<milliseconds> sleeps;
  (*c)->set_sleep_for_tests([&](milliseconds d) { sleeps.push_back(d); });
  Status s = (*c)->head_bucket();
  CHECK_MESSAGE(s.is(ErrorCode::network_error), s.to_string());
  CHECK(sleeps.size() == 2);
  CHECK((*c)->retry_budget().tokens() == RetryBudget::kCapacity - 2 * RetryBudget::kRetryCost);
}

TEST_CASE("an exhausted retry budget stops retrying") {
  std::deque<Reply> replies;
  for (int i = 0; i < 400; ++i) replies.push_back({503, error_xml("SlowDown"), ""});
  FakeServer server(replies);
  auto c = client_for(server, 3, nullptr);
  int failures = 0;
  // 500 tokens / 5 per retry = 100 retries; then single attempts only.
  for (int i = 0; i < 60; ++i) {
    if (!c->delete_object("k").ok()) ++failures;
  }
  CHECK(failures == 60);
  CHECK(c->retry_budget().tokens() < RetryBudget::kRetryCost);
  CHECK(server.requests().size() == 60 + 100);
}

TEST_CASE("a whole download whose bytes do not match the ETag is io_error") {
  // md5("hello") = 5d41402abc4b2a76b9719d911017c592
  FakeServer server({{200, "hellp", "ETag: \"5d41402abc4b2a76b9719d911017c592\"\r\n"},
                     {200, "hello", "ETag: \"5d41402abc4b2a76b9719d911017c592\"\r\n"},
                     {200, "hellp", "ETag: \"abc-2\"\r\n"}});
  auto c = client_for(server, 3, nullptr);
  std::string out;
  StringBody sink(out);
  Status st = c->get_object("k", sink);
  CHECK(st.is(ErrorCode::io_error));
  CHECK(st.message().find("damaged download") != std::string::npos);
  out.clear();
  CHECK(c->get_object("k", sink).ok());
  CHECK(out == "hello");
  out.clear();
  CHECK(c->get_object("k", sink).ok());  // multipart ETag: not an MD5, not checked
}

TEST_CASE("whether a download is checked is decided on the answer's headers") {
  // md5("hello") = 5d41402abc4b2a76b9719d911017c592; md5("") is not it.
  FakeServer server(
      {{200, "", "ETag: \"5d41402abc4b2a76b9719d911017c592\"\r\n"},
       {200, "hellp", "ETag: \"5d41402abc4b2a76b9719d911017c592\"\r\nx-amz-server-side-encryption: aws:kms\r\n"},
       {200, "hellp", "ETag: \"5d41402abc4b2a76b9719d911017c592\"\r\n"},
       {200, "hello", "ETag: \"5d41402abc4b2a76b9719d911017c592\"\r\nx-amz-meta-a: b\r\n"}});
  auto c = client_for(server, 1, nullptr);
  std::string out;
  StringBody sink(out);
  // An empty body against a non-empty object's ETag.
  Status st = c->get_object("k", sink);
  CHECK(st.is(ErrorCode::io_error));
  CHECK(st.message().find("damaged download") != std::string::npos);
  // SSE-KMS: the ETag is not the MD5 of the plaintext.
  CHECK(c->get_object("k", sink).ok());
  // A range is never checked against the whole object's ETag.
  out.clear();
  CHECK(c->get_object("k", sink, std::uint64_t{0}, std::uint64_t{5}).ok());
  CHECK(out == "hellp");

  // The sink sees the headers once, before the first byte.
  class Recording final : public BodySink {
   public:
    Status begin(long status, const std::vector<std::pair<std::string, std::string>>& headers) override {
      ++begins;
      this->status = status;
      for (const auto& [k, v] : headers) {
        if (k == "x-amz-meta-a") meta = v;
      }
      return bytes == 0 ? Status::Ok() : Status::Internal("begin after a byte");
    }
    Status write(const void*, std::size_t n) override {
      bytes += n;
      return begins == 1 ? Status::Ok() : Status::Internal("write before begin");
    }
    int begins = 0;
    long status = 0;
    std::size_t bytes = 0;
    std::string meta;
  } rec;
  CHECK(c->get_object("k", rec).ok());
  CHECK(rec.begins == 1);
  CHECK(rec.status == 200);
  CHECK(rec.bytes == 5);
  CHECK(rec.meta == "b");
}

TEST_CASE("each request is logged with its fields, never with secrets") {
  std::mutex mu;
  std::vector<std::string> lines;
  set_log_sink(
      [&](const LogRecord& r) {
        std::string l(r.message);
        for (const auto& f : *r.fields) l += " " + f.name + "=" + f.value;
        std::lock_guard<std::mutex> lock(mu);
        lines.push_back(std::move(l));
      },
      LogLevel::debug);
  FakeServer server({{503, error_xml("SlowDown"), ""}, {200, "", ""}});
  S3Settings st;
  st.endpoint = fmt::format("http://127.0.0.1:{}", server.port());
  st.bucket = "b";
  st.access_key = "AKIDLOGTEST";
  st.secret_key = "SECRETsecretSECRET123";
  st.session_token = "TOKENtokenTOKEN456";
  st.path_style = true;
  auto c = Client::create(st);
  REQUIRE(c.ok());
  (*c)->set_sleep_for_tests([](milliseconds) {});
  MemoryBody src("data");
  CHECK((*c)->put_object("photos/k.jpg", src, {}).ok());
  set_log_sink({}, LogLevel::warn);

  bool retry_line = false, success_line = false;
  for (const auto& l : lines) {
    CAPTURE(l);
    CHECK(l.find("SECRETsecret") == std::string::npos);
    CHECK(l.find("TOKENtoken") == std::string::npos);
    CHECK(l.find("Signature=") == std::string::npos);
    CHECK(l.find("Authorization") == std::string::npos);
    if (l.find("attempt=1") != std::string::npos && l.find("status=503") != std::string::npos) retry_line = true;
    if (l.find("method=PUT") != std::string::npos && l.find("key=photos/k.jpg") != std::string::npos &&
        l.find("status=200") != std::string::npos && l.find("attempt=2") != std::string::npos &&
        l.find("request_id=req-2") != std::string::npos && l.find("bytes=4") != std::string::npos) {
      success_line = true;
    }
  }
  CHECK(retry_line);
  CHECK(success_line);
  // The session token is sent and signed; the body's SHA-256 is signed.
  auto heads = server.heads();
  REQUIRE(heads.size() == 2);
  CHECK(heads[1].find("X-Amz-Security-Token: TOKENtokenTOKEN456") != std::string::npos);
  CHECK(heads[1].find("x-amz-security-token") != std::string::npos);  // in SignedHeaders
  CHECK(heads[1].find("x-amz-content-sha256: 3a6eb0790f39ac87c94f3856b2dd2c5d110e6811602261a9a923d3bb23adc8b7") !=
        std::string::npos);  // sha256("data")
  CHECK(heads[1].find("Credential=AKIDLOGTEST/") != std::string::npos);
}

namespace {

MS_GCC_STRING_WRESTRICT_BEGIN  // st.bucket = "b": GCC PR 105329
std::shared_ptr<Client> multipart_client(const FakeServer& server) {
  S3Settings st;
  st.endpoint = fmt::format("http://127.0.0.1:{}", server.port());
  st.bucket = "b";
  st.access_key = "AK";
  st.secret_key = "SK";
  st.path_style = true;
  st.multipart_threshold = 5u << 20;
  st.part_size = 5u << 20;
  st.parts_in_flight = 2;
  auto c = Client::create(st);
  REQUIRE(c.ok());
  (*c)->set_sleep_for_tests([](milliseconds) {});
  return *c;
}
MS_GCC_STRING_WRESTRICT_END

int part_number_of(const std::string& line) {
  auto at = line.find("partNumber=");
  return at == std::string::npos ? 0 : std::stoi(line.substr(at + 11));
}

}  // namespace

TEST_CASE("multipart: parts in parallel, sent whole, completed in order") {
  FakeServer server([](const std::string& line) -> Reply {
    if (line.rfind("POST /b/big?uploads=", 0) == 0) {
      return {200, "<InitiateMultipartUploadResult><UploadId>U1</UploadId></InitiateMultipartUploadResult>", ""};
    }
    if (line.rfind("PUT /b/big?", 0) == 0) {
      return {200, "", fmt::format("ETag: \"etag-{}\"\r\n", part_number_of(line))};
    }
    if (line.rfind("POST /b/big?uploadId=U1", 0) == 0) {
      return {200, "<CompleteMultipartUploadResult><ETag></ETag></CompleteMultipartUploadResult>", ""};
    }
    return {400, "<Error><Code>Unexpected</Code></Error>", ""};
  });
  auto c = multipart_client(server);
  std::string data(12u << 20, '\0');
  for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7 + i / 4096);
  MemoryBody src(data);
  Status st = c->put_object("big", src, {});
  REQUIRE_MESSAGE(st.ok(), st.to_string());
  auto lines = server.requests();
  auto bodies = server.bodies();
  REQUIRE(lines.size() == 5);  // create, 3 parts, complete
  std::map<int, std::string> parts;
  for (std::size_t i = 0; i < lines.size(); ++i) {
    if (int n = part_number_of(lines[i])) {
      CHECK(lines[i].find("uploadId=U1") != std::string::npos);
      parts[n] = bodies[i];
    }
  }
  REQUIRE(parts.size() == 3);
  CHECK(parts[1].size() == (5u << 20));
  CHECK(parts[3].size() == (2u << 20));
  CHECK(parts[1] + parts[2] + parts[3] == data);
  const std::string& complete = bodies.back();
  CHECK(complete.find("<Part><PartNumber>1</PartNumber><ETag>&quot;etag-1&quot;</ETag></Part>"
                      "<Part><PartNumber>2</PartNumber><ETag>&quot;etag-2&quot;</ETag></Part>"
                      "<Part><PartNumber>3</PartNumber><ETag>&quot;etag-3&quot;</ETag></Part>") != std::string::npos);
}

TEST_CASE("multipart: a refused part aborts the upload and completes nothing") {
  std::atomic<int> aborts{0}, completes{0};
  FakeServer server([&](const std::string& line) -> Reply {
    if (line.rfind("POST /b/big?uploads=", 0) == 0) {
      return {200, "<InitiateMultipartUploadResult><UploadId>U2</UploadId></InitiateMultipartUploadResult>", ""};
    }
    if (line.rfind("PUT /b/big?", 0) == 0) {
      if (part_number_of(line) == 2) return {403, error_xml("AccessDenied"), ""};
      return {200, "", "ETag: \"e\"\r\n"};
    }
    if (line.rfind("DELETE /b/big?uploadId=U2", 0) == 0) {
      ++aborts;
      return {204, "", ""};
    }
    if (line.rfind("POST /b/big?uploadId=U2", 0) == 0) ++completes;
    return {400, "<Error><Code>Unexpected</Code></Error>", ""};
  });
  auto c = multipart_client(server);
  const std::string data(16u << 20, 'x');
  MemoryBody src(data);
  Status st = c->put_object("big", src, {});
  CHECK_MESSAGE(st.is(ErrorCode::permission_denied), st.to_string());
  CHECK(aborts == 1);
  CHECK(completes == 0);
  CHECK(server.requests().back().rfind("DELETE", 0) == 0);  // the abort comes after every part
}
