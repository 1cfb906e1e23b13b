// The streaming multipart/form-data parser and the router.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "http/multipart.hpp"
#include "mediastore/http.hpp"

using namespace mediastore;
using namespace mediastore::detail;

namespace {

struct Collect final : MultipartSink {
  std::vector<PartInfo> parts;
  std::vector<std::string> data;
  int ends = 0;
  Status on_part(const PartInfo& p) override {
    parts.push_back(p);
    data.emplace_back();
    return Status::Ok();
  }
  Status on_data(std::string_view d) override {
    data.back().append(d);
    return Status::Ok();
  }
  Status on_part_end() override {
    ++ends;
    return Status::Ok();
  }
};

const std::string kForm =
    "--XyZ\r\n"
    "Content-Disposition: form-data; name=\"keep_id\"\r\n\r\n"
    "42\r\n"
    "--XyZ\r\n"
    "content-disposition: form-data; name=\"file\"; filename=\"a \\\"b\\\";c.jpg\"\r\n"
    "Content-Type: image/jpeg\r\n\r\n"
    "\xff\xd8 data with \r\n--XyX and \r\n--Xy inside\r\n"
    "--XyZ--\r\nepilogue";

Status parse_in_steps(const std::string& body, std::size_t step, Collect& c, MultipartLimits limits = {}) {
  MultipartParser p("XyZ", limits, c);
  for (std::size_t i = 0; i < body.size(); i += step)
    MS_RETURN_IF_ERROR(p.feed(std::string_view(body).substr(i, step)));
  return p.finish();
}

}  // namespace

TEST_CASE("multipart: fields and a file, in pieces of every size") {
  for (std::size_t step = 1; step <= kForm.size(); ++step) {
    Collect c;
    REQUIRE_MESSAGE(parse_in_steps(kForm, step, c).ok(), step);
    REQUIRE(c.parts.size() == 2);
    CHECK(c.parts[0].name == "keep_id");
    CHECK_FALSE(c.parts[0].has_filename);
    CHECK(c.data[0] == "42");
    CHECK(c.parts[1].name == "file");
    CHECK(c.parts[1].filename == "a \"b\";c.jpg");
    CHECK(c.parts[1].content_type == "image/jpeg");
    CHECK(c.data[1] == "\xff\xd8 data with \r\n--XyX and \r\n--Xy inside");
    CHECK(c.ends == 2);
  }
}

TEST_CASE("multipart: a preamble is skipped") {
  Collect c;
  CHECK(parse_in_steps("ignored\r\n" + kForm, 7, c).ok());
  CHECK(c.parts.size() == 2);
}

TEST_CASE("multipart: malformed bodies are invalid_argument") {
  const std::vector<std::string> bad = {
      "",                                                              // no boundary at all
      "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx",  // never closed
      "--XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ--",         // no Content-Disposition
      "--XyZ\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nx\r\n--XyZ--",
      "--XyZ\r\nContent-Disposition: form-data; filename=\"a\"\r\n\r\nx\r\n--XyZ--",  // no name
      "--XyZ\r\nContent-Disposition: form-data; name=\"a\r\n\r\nx\r\n--XyZ--",        // open quote
      "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n folded\r\n\r\nx\r\n--XyZ--",
      "--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\nno colon\r\n\r\nx\r\n--XyZ--",
      "--XyZXX\r\n",  // boundary followed by junk
  };
  for (const auto& b : bad) {
    Collect c;
    CHECK_MESSAGE(parse_in_steps(b.empty() ? std::string(" ") : b, 3, c).is(ErrorCode::invalid_argument), b);
  }
}

TEST_CASE("multipart: header and part limits are too_large; errors stick") {
  Collect c;
  const std::string long_header =
      "--XyZ\r\nContent-Disposition: form-data; name=\"" + std::string(10000, 'a') + "\"\r\n\r\nx\r\n--XyZ--";
  CHECK(parse_in_steps(long_header, 100, c, {.max_header_bytes = 1024, .max_parts = 4}).is(ErrorCode::too_large));
  std::string many;
  for (int i = 0; i < 5; ++i) many += "--XyZ\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nv\r\n";
  many += "--XyZ--";
  Collect c2;
  MultipartParser p("XyZ", {.max_header_bytes = 1024, .max_parts = 4}, c2);
  CHECK(p.feed(many).is(ErrorCode::too_large));
  CHECK(p.feed("more").is(ErrorCode::too_large));
  CHECK(p.finish().is(ErrorCode::too_large));
}

TEST_CASE("multipart: the boundary of a Content-Type") {
  CHECK(multipart_boundary("multipart/form-data; boundary=abc").value() == "abc");
  CHECK(multipart_boundary("Multipart/Form-Data; charset=utf-8; boundary=\"a b;c\"").value() == "a b;c");
  CHECK(multipart_boundary("multipart/form-data").status().is(ErrorCode::invalid_argument));
  CHECK(multipart_boundary("text/plain; boundary=abc").status().is(ErrorCode::invalid_argument));
  CHECK(multipart_boundary("multipart/form-data; boundary=" + std::string(71, 'a'))
            .status()
            .is(ErrorCode::invalid_argument));
  CHECK(multipart_boundary("multipart/form-data; boundary=").status().is(ErrorCode::invalid_argument));
}

namespace {
struct Fixed final : http::Handler {
  int code;
  explicit Fixed(int c) : code(c) {}
  http::Started begin(const http::Request&) override { return http::Response::error(code, "x"); }
};
int status_of(http::Router& r, std::string target) {
  http::Request req;
  req.method = "GET";
  req.target = std::move(target);
  auto s = r.begin(req);
  return std::get<http::Response>(s).status;
}
}  // namespace

TEST_CASE("router: exact routes, then the longest prefix, else 404") {
  http::Router r;
  r.add_exact("/api/keeps/upload/", std::make_shared<Fixed>(201));
  r.add_prefix("/api/keeps/upload/", std::make_shared<Fixed>(202));
  r.add_prefix("/api/", std::make_shared<Fixed>(203));
  r.add_prefix("/files/", std::make_shared<Fixed>(204));
  CHECK(status_of(r, "/api/keeps/upload/") == 201);
  CHECK(status_of(r, "/api/keeps/upload/?x=1") == 201);
  CHECK(status_of(r, "/api/keeps/upload/abc/status/") == 202);
  CHECK(status_of(r, "/api/other") == 203);
  CHECK(status_of(r, "/files/123") == 204);
  CHECK(status_of(r, "/nothing") == 404);
}

TEST_CASE("response: status codes map to HTTP") {
  CHECK(http::Response::from_status(Status::AuthFailed("a")).status == 401);
  CHECK(http::Response::from_status(Status::PermissionDenied("a")).status == 403);
  CHECK(http::Response::from_status(Status::TooLarge("a")).status == 413);
  CHECK(http::Response::from_status(Status::InvalidArgument("a")).status == 400);
  CHECK(http::Response::from_status(Status::Internal("a")).status == 500);
  CHECK(http::Response::error(404, "gone \"x\"").body == "{\"error\":\"gone \\\"x\\\"\"}");
}
