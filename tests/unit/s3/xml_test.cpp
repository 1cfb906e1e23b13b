// S3 XML answers and request bodies (offline).
#include <doctest/doctest.h>

#include "s3/xml.hpp"

using namespace mediastore;
using namespace mediastore::s3;

TEST_CASE("error documents") {
  auto e = parse_error(R"(<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message>
<Key>a/b.jpg</Key><RequestId>tx00000abc</RequestId><HostId>h</HostId></Error>)");
  REQUIRE(e.has_value());
  CHECK(e->code == "NoSuchKey");
  CHECK(e->message == "The specified key does not exist.");
  CHECK(e->request_id == "tx00000abc");
  CHECK(e->resource == "a/b.jpg");
  CHECK_FALSE(parse_error("").has_value());
  CHECK_FALSE(parse_error("<html>bad gateway</html>").has_value());
  CHECK_FALSE(parse_error("<Error><Code>x</Code>").has_value());  // not well-formed
  auto rgw =
      parse_error(R"(<Error><Code>SignatureDoesNotMatch</Code><Message></Message><RequestId>tx1</RequestId></Error>)");
  REQUIRE(rgw.has_value());
  CHECK(rgw->message.empty());
}

TEST_CASE("ListObjectsV2 with contents, prefixes, continuation and namespaces") {
  const char* body = R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>b</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount><MaxKeys>2</MaxKeys><Delimiter>/</Delimiter>
  <IsTruncated>true</IsTruncated>
  <Contents><Key>p/a &amp; b.jpg</Key><LastModified>2026-11-25T14:28:34.770Z</LastModified>
    <ETag>&quot;0cc175b9c0f1b6a831c399e269772661&quot;</ETag><Size>1</Size><StorageClass>STANDARD</StorageClass></Contents>
  <CommonPrefixes><Prefix>p/dir/</Prefix></CommonPrefixes>
  <NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>
</ListBucketResult>)";
  auto r = parse_list_objects_v2(body);
  REQUIRE_MESSAGE(r.ok(), r.status().to_string());
  REQUIRE(r->objects.size() == 1);
  CHECK(r->objects[0].key == "p/a & b.jpg");
  CHECK(r->objects[0].size == 1);
  CHECK(r->objects[0].etag == "0cc175b9c0f1b6a831c399e269772661");
  CHECK(std::chrono::system_clock::to_time_t(r->objects[0].last_modified) == 1795616914);
  REQUIRE(r->common_prefixes.size() == 1);
  CHECK(r->common_prefixes[0] == "p/dir/");
  CHECK(r->is_truncated);
  CHECK(r->next_continuation_token == "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");

  auto empty = parse_list_objects_v2("<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>");
  REQUIRE(empty.ok());
  CHECK(empty->objects.empty());
  CHECK_FALSE(empty->is_truncated);

  CHECK(parse_list_objects_v2("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>")
            .status()
            .is(ErrorCode::internal));
  CHECK(parse_list_objects_v2("<ListBucketResult><Contents><Key>k</Key><Size>-1</Size></Contents></ListBucketResult>")
            .status()
            .is(ErrorCode::internal));
  CHECK(parse_list_objects_v2("<Other/>").status().is(ErrorCode::internal));
  CHECK(parse_list_objects_v2("not xml").status().is(ErrorCode::internal));
  auto err = parse_list_objects_v2("<Error><Code>NoSuchBucket</Code></Error>");
  CHECK(err.status().is(ErrorCode::not_found));
}

TEST_CASE("multipart answers") {
  auto id = parse_initiate_multipart(
      "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>2~abc</UploadId>"
      "</InitiateMultipartUploadResult>");
  REQUIRE(id.ok());
  CHECK(*id == "2~abc");
  CHECK(parse_initiate_multipart("<InitiateMultipartUploadResult/>").status().is(ErrorCode::internal));

  auto done = parse_complete_multipart(
      "<CompleteMultipartUploadResult><Location>l</Location><ETag></ETag></CompleteMultipartUploadResult>");
  REQUIRE(done.ok());
  CHECK(done->etag.empty());  // RGW answers an empty ETag
  // An error inside a 200 answer.
  auto failed = parse_complete_multipart(
      "<Error><Code>InternalError</Code><Message>We encountered an internal error.</Message></Error>");
  CHECK(failed.status().is(ErrorCode::unavailable));
  CHECK(failed.status().message().find("InternalError") != std::string::npos);

  auto parts = parse_list_parts(R"(<ListPartsResult><IsTruncated>true</IsTruncated>
<NextPartNumberMarker>2</NextPartNumberMarker>
<Part><PartNumber>1</PartNumber><ETag>"e1"</ETag><Size>5242880</Size></Part>
<Part><PartNumber>2</PartNumber><ETag>"e2"</ETag><Size>4</Size></Part></ListPartsResult>)");
  REQUIRE(parts.ok());
  REQUIRE(parts->parts.size() == 2);
  CHECK(parts->parts[0].etag == "e1");
  CHECK(parts->parts[0].size == 5242880);
  CHECK(parts->parts[1].part_number == 2);
  CHECK(parts->is_truncated);
  CHECK(parts->next_part_number_marker == 2);
  CHECK(parse_list_parts("<ListPartsResult><Part><PartNumber>0</PartNumber></Part></ListPartsResult>")
            .status()
            .is(ErrorCode::internal));

  auto uploads = parse_list_multipart_uploads(R"(<ListMultipartUploadsResult>
<Upload><Key>a</Key><UploadId>u1</UploadId><Initiated>2026-01-02T03:04:05.000Z</Initiated></Upload>
<Upload><Key>b</Key><UploadId>u2</UploadId></Upload>
<IsTruncated>false</IsTruncated></ListMultipartUploadsResult>)");
  REQUIRE(uploads.ok());
  REQUIRE(uploads->uploads.size() == 2);
  CHECK(uploads->uploads[1].upload_id == "u2");
  CHECK_FALSE(uploads->is_truncated);
}

TEST_CASE("DeleteObjects and CopyObject answers") {
  auto d = parse_delete_result(R"(<DeleteResult><Deleted><Key>a</Key></Deleted>
<Error><Key>b</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error></DeleteResult>)");
  REQUIRE(d.ok());
  REQUIRE(d->deleted.size() == 1);
  REQUIRE(d->errors.size() == 1);
  CHECK(d->errors[0].key == "b");
  CHECK(d->errors[0].error.code == "AccessDenied");

  auto c = parse_copy_result(
      "<CopyObjectResult><LastModified>2026-11-25T14:28:34.000Z</LastModified><ETag>\"abc\"</ETag></CopyObjectResult>");
  REQUIRE(c.ok());
  CHECK(c->etag == "abc");
  CHECK(parse_copy_result("<Error><Code>SlowDown</Code></Error>").status().is(ErrorCode::throttled));
}

TEST_CASE("request bodies escape keys") {
  CHECK(xml_escape(R"(a&b<c>d"e'f)") == "a&amp;b&lt;c&gt;d&quot;e&apos;f");
  CHECK(xml_escape("tab\there") == "tab&#9;here");
  CHECK(xml_escape(std::string("nul\x01", 4)) == "nul?");
  CHECK(xml_escape("été") == "été");
  const std::string del = build_delete_objects({"a&b", "<x>"});
  CHECK(del.find("<Quiet>true</Quiet>") != std::string::npos);
  CHECK(del.find("<Object><Key>a&amp;b</Key></Object><Object><Key>&lt;x&gt;</Key></Object>") != std::string::npos);
  CHECK(build_delete_objects({"k"}, false).find("Quiet") == std::string::npos);
  const std::string complete = build_complete_multipart({{1, "e1", 0}, {2, "e2", 0}});
  CHECK(complete.find("<Part><PartNumber>1</PartNumber><ETag>&quot;e1&quot;</ETag></Part>"
                      "<Part><PartNumber>2</PartNumber><ETag>&quot;e2&quot;</ETag></Part>") != std::string::npos);
  // Round trip through the parser's XML reader.
  auto again = parse_delete_result("<DeleteResult><Deleted><Key>a&amp;b</Key></Deleted></DeleteResult>");
  REQUIRE(again.ok());
  CHECK(again->deleted[0] == "a&b");
}

TEST_CASE("dates and ETags") {
  auto t = parse_iso8601("1970-01-01T00:00:01.500Z");
  REQUIRE(t.has_value());
  CHECK(std::chrono::duration_cast<std::chrono::milliseconds>(t->time_since_epoch()).count() == 1500);
  CHECK_FALSE(parse_iso8601("1970-01-01 00:00:01Z").has_value());
  CHECK_FALSE(parse_iso8601("1970-13-01T00:00:01Z").has_value());
  CHECK_FALSE(parse_iso8601("").has_value());
  CHECK_FALSE(parse_iso8601("9999-01-01T00:00:00Z").has_value());  // beyond system_clock's range
  CHECK(parse_iso8601("2200-01-01T00:00:00Z").has_value());
  auto h = parse_http_date("Thu, 01 Jan 1970 00:01:00 GMT");
  REQUIRE(h.has_value());
  CHECK(std::chrono::system_clock::to_time_t(*h) == 60);
  CHECK_FALSE(parse_http_date("Thu, 01 Foo 1970 00:01:00 GMT").has_value());
  CHECK(unquote_etag("\"abc-2\"") == "abc-2");
  CHECK(unquote_etag("abc") == "abc");
}
