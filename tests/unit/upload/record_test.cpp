// The stored status record (src/upload/record.cpp): a completed upload's
// objects round-trip, and records written before a field existed still load.
#include <doctest/doctest.h>

#include "support/gcc_workarounds.hpp"
#include "upload/record.hpp"

using namespace mediastore;
using namespace mediastore::detail;

TEST_CASE("record: a completed status round-trips its objects' formats and metadata") {
  UploadStatus s;
  s.id = "u1";
  s.state = UploadState::completed;
  s.stage = UploadStage::done;
  UploadResult r;
  r.original = StoredObject{"original", "uploads/u1/original.png", "", 40, 30, 1234, "image/png", ""};
  r.thumbnails.push_back(StoredObject{"small", "uploads/u1/thumb_small.jpg", "", 20, 15, 99, "image/jpeg", "jpeg"});
  r.thumbnails.push_back(StoredObject{"small", "uploads/u1/thumb_small.webp", "", 20, 15, 77, "image/webp", "webp"});
  r.thumbnails.push_back(StoredObject{"small", "uploads/u1/thumb_small.avif", "", 20, 15, 55, "image/avif", "avif"});
  r.metadata = {{"thumbhash", "AAAA"}, {"phash", "0123456789abcdef"}};
  s.result = r;
  auto back = status_from_json("u1", status_to_json(s));
  REQUIRE_MESSAGE(back.ok(), back.status().to_string());
  REQUIRE(back->result);
  CHECK(back->result->original.format.empty());
  REQUIRE(back->result->thumbnails.size() == 3);
  CHECK(back->result->thumbnails[1].format == "webp");
  CHECK(back->result->thumbnails[1].content_type == "image/webp");
  CHECK(back->result->thumbnails[2].format == "avif");
  CHECK(back->result->thumbnails[2].key == "uploads/u1/thumb_small.avif");
  CHECK(back->result->metadata == r.metadata);
}

TEST_CASE("record: a record without formats (JPEG-only thumbnails then) loads them as jpeg") {
  const std::string old = R"({"filename":"IMG_1.jpg","content_type":"image/jpeg","kind":"photo","context":{},
    "created_ms":0,"state":"completed","stage":"done","progress":100,"attempt":1,
    "result":{"original":{"name":"original","key":"uploads/u1/original.jpg","url":"","width":4,"height":3,
    "bytes":10,"content_type":"image/jpeg"},"thumbnails":[{"name":"small","key":"uploads/u1/thumb_small.jpg",
    "url":"","width":4,"height":3,"bytes":5,"content_type":"image/jpeg"}],"metadata":{"mime":"image/jpeg"}}})";
  auto s = status_from_json("u1", old);
  REQUIRE_MESSAGE(s.ok(), s.status().to_string());
  REQUIRE(s->result);
  CHECK(s->result->original.format.empty());
  REQUIRE(s->result->thumbnails.size() == 1);
  CHECK(s->result->thumbnails[0].format == "jpeg");
  CHECK(s->result->thumbnails[0].key == "uploads/u1/thumb_small.jpg");
}

MS_GCC_STRING_MAYBE_UNINIT_BEGIN
TEST_CASE("record: duplicate_of and the refusal reason round-trip; older records load without them") {
  UploadStatus dup;
  dup.id = "u2";
  dup.state = UploadState::completed;
  dup.stage = UploadStage::done;
  dup.duplicate_of = "u1";
  dup.result = UploadResult{};
  auto back = status_from_json("u2", status_to_json(dup));
  REQUIRE_MESSAGE(back.ok(), back.status().to_string());
  CHECK(back->duplicate_of == "u1");
  CHECK(back->refusal_reason == RefusalReason::none);

  UploadStatus refused;
  refused.id = "u3";
  refused.state = UploadState::failed;
  refused.stage = UploadStage::scanning;
  refused.error_code = refusal_reason_code(RefusalReason::malware);
  refused.refusal_reason = RefusalReason::malware;
  back = status_from_json("u3", status_to_json(refused));
  REQUIRE(back.ok());
  CHECK(back->refusal_reason == RefusalReason::malware);
  CHECK(back->stage == UploadStage::scanning);
  CHECK(status_to_json(refused).find(R"("refusal_reason":"malware")") != std::string::npos);
  for (RefusalReason r : {RefusalReason::unscanned, RefusalReason::too_long, RefusalReason::no_video_stream,
                          RefusalReason::type_not_allowed}) {
    refused.refusal_reason = r;
    back = status_from_json("u3", status_to_json(refused));
    REQUIRE(back.ok());
    CHECK(back->refusal_reason == r);
  }
  refused.stage = UploadStage::deduplicating;
  back = status_from_json("u3", status_to_json(refused));
  REQUIRE(back.ok());
  CHECK(back->stage == UploadStage::deduplicating);

  const std::string old = R"({"filename":"a.jpg","state":"failed","stage":"validating","error_code":"corrupt_media"})";
  back = status_from_json("u4", old);
  REQUIRE(back.ok());
  CHECK(back->refusal_reason == RefusalReason::none);
  CHECK(back->duplicate_of.empty());
  CHECK(refusal_reason_from_name("no-such-reason") == RefusalReason::none);
}
MS_GCC_STRING_MAYBE_UNINIT_END

TEST_CASE("record: the staged key round-trips in the status and the job payload; old records mean the spool") {
  UploadStatus s;
  s.id = "u2";
  s.original_filename = "IMG_2.jpg";
  s.staged_key = "staging/u2";
  auto back = status_from_json("u2", status_to_json(s));
  REQUIRE_MESSAGE(back.ok(), back.status().to_string());
  CHECK(back->staged_key == "staging/u2");
  auto job = payload_from_json("u2", payload_to_json(s));
  REQUIRE_MESSAGE(job.ok(), job.status().to_string());
  CHECK(job->staged_key == "staging/u2");
  auto old = status_from_json("u2", R"({"filename":"IMG_2.jpg","state":"pending","stage":"queued"})");
  REQUIRE_MESSAGE(old.ok(), old.status().to_string());
  CHECK(old->staged_key.empty());
}
