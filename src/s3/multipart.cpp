// Multipart uploads: create, parts in parallel with bounded memory, complete;
// abort on any failure so that no orphan parts remain.
//
// Memory: at most parts_in_flight workers, each holding one part buffer of
// part_size bytes. With a random-access source every worker reads its own
// part with read_at (parallel reads); otherwise workers take turns reading
// the next part sequentially under a lock.
#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>

#include "core/crypto.hpp"
#include "core/log_internal.hpp"
#include "s3/client.hpp"

namespace mediastore::s3 {

Result<std::string> Client::create_multipart_upload(std::string_view key, const PutObjectOptions& options) {
  Op op;
  op.method = "POST";
  op.key = std::string(key);
  op.query.emplace_back("uploads", "");
  add_object_headers(op.headers, options);
  auto r = execute(op);
  if (!r.ok()) return r.status();
  return parse_initiate_multipart(r->body);
}

Result<std::string> Client::upload_part(std::string_view key, const std::string& upload_id, int part_number,
                                        std::string_view data, const ProgressFn& progress, std::string payload_sha256) {
  Op op;
  op.method = "PUT";
  op.key = std::string(key);
  op.query.emplace_back("partNumber", std::to_string(part_number));
  op.query.emplace_back("uploadId", upload_id);
  op.body = data;
  op.payload_hash = std::move(payload_sha256);
  op.progress = progress;
  auto r = execute(op);
  if (!r.ok()) return r.status();
  auto etag = r->header("etag");
  if (!etag || etag->empty()) {
    return Status::Internal(fmt::format("UploadPart {} of {}: the answer has no ETag", part_number, key));
  }
  return unquote_etag(*etag);
}

Status Client::complete_multipart_upload(std::string_view key, const std::string& upload_id,
                                         const std::vector<PartInfo>& parts, bool if_none_match) {
  const std::string body = build_complete_multipart(parts);
  Op op;
  op.method = "POST";
  op.key = std::string(key);
  op.query.emplace_back("uploadId", upload_id);
  op.headers.emplace_back("Content-Type", "application/xml");
  if (if_none_match) op.headers.emplace_back("If-None-Match", "*");
  op.body = body;
  auto r = execute(op);
  if (!r.ok()) return if_none_match ? create_only_status(r.status(), key) : r.status();
  // S3 may answer 200 with an <Error> document.
  auto parsed = parse_complete_multipart(r->body);
  return parsed.ok() ? Status::Ok() : parsed.status();
}

Status Client::abort_multipart_upload(std::string_view key, const std::string& upload_id) {
  Op op;
  op.method = "DELETE";
  op.key = std::string(key);
  op.query.emplace_back("uploadId", upload_id);
  auto r = execute(op);
  if (!r.ok() && r.status().is(ErrorCode::not_found)) return Status::Ok();  // already gone
  return r.ok() ? Status::Ok() : r.status();
}

Result<std::vector<PartInfo>> Client::list_parts(std::string_view key, const std::string& upload_id) {
  std::vector<PartInfo> all;
  int marker = 0;
  for (;;) {
    Op op;
    op.method = "GET";
    op.key = std::string(key);
    op.query.emplace_back("uploadId", upload_id);
    if (marker > 0) op.query.emplace_back("part-number-marker", std::to_string(marker));
    auto r = execute(op);
    if (!r.ok()) return r.status();
    auto page = parse_list_parts(r->body);
    if (!page.ok()) return page.status();
    for (auto& p : page->parts) all.push_back(std::move(p));
    if (!page->is_truncated || page->next_part_number_marker <= marker) break;
    marker = page->next_part_number_marker;
  }
  return all;
}

Result<std::vector<UploadInfo>> Client::list_multipart_uploads(std::string_view prefix) {
  std::vector<UploadInfo> all;
  std::string key_marker, id_marker;
  for (;;) {
    Op op;
    op.method = "GET";
    op.query.emplace_back("uploads", "");
    if (!prefix.empty()) op.query.emplace_back("prefix", std::string(prefix));
    if (!key_marker.empty()) op.query.emplace_back("key-marker", key_marker);
    if (!id_marker.empty()) op.query.emplace_back("upload-id-marker", id_marker);
    auto r = execute(op);
    if (!r.ok()) return r.status();
    auto page = parse_list_multipart_uploads(r->body);
    if (!page.ok()) return page.status();
    for (auto& u : page->uploads) all.push_back(std::move(u));
    if (!page->is_truncated || (page->next_key_marker == key_marker && page->next_upload_id_marker == id_marker)) {
      break;
    }
    key_marker = page->next_key_marker;
    id_marker = page->next_upload_id_marker;
  }
  return all;
}

namespace {

constexpr std::size_t kReadChunk = 1 << 20;

// Shared state of one multipart upload's workers.
struct MultipartRun {
  std::mutex mu;
  Status failure;  // first failure
  std::atomic<bool> failed{false};
  int next_part = 1;  // next part number to take
  std::uint64_t next_offset = 0;
  bool source_done = false;     // sequential: the source hit its end
  std::vector<PartInfo> parts;  // completed parts
  // progress
  std::mutex progress_mu;
  std::uint64_t completed_bytes = 0;
  std::vector<std::uint64_t> in_flight;  // per worker
  bool cancelled = false;

  void fail(Status s) {
    std::lock_guard<std::mutex> lock(mu);
    if (failure.ok()) failure = std::move(s);
    failed = true;
  }
};

}  // namespace

Status Client::put_object_multipart(std::string_view key, BodySource& source, std::optional<std::uint64_t> size,
                                    const PutObjectOptions& options) {
  const std::uint64_t part_size = effective_part_size(settings_.part_size, size);
  const bool random = source.random_access() && size.has_value();
  auto created = create_multipart_upload(key, options);
  if (!created.ok()) return created.status();
  const std::string upload_id = created.value();
  const auto started = std::chrono::steady_clock::now();

  std::uint64_t total_parts = 0;
  if (size) total_parts = std::max<std::uint64_t>(1, (*size + part_size - 1) / part_size);
  int workers = std::max(1, settings_.parts_in_flight);
  if (size) workers = static_cast<int>(std::min<std::uint64_t>(static_cast<std::uint64_t>(workers), total_parts));

  MultipartRun run;
  run.in_flight.assign(static_cast<std::size_t>(workers), 0);

  auto report = [&](int worker, std::uint64_t now_bytes) -> bool {
    if (!options.progress) return true;
    std::lock_guard<std::mutex> lock(run.progress_mu);
    run.in_flight[static_cast<std::size_t>(worker)] = now_bytes;
    std::uint64_t done = run.completed_bytes;
    for (auto b : run.in_flight) done += b;
    if (!options.progress(done, size.value_or(0))) run.cancelled = true;
    return !run.cancelled;
  };

  auto worker_fn = [&](int worker) {
    std::string buffer;
    // The part's SHA-256 is computed in the pass that reads it into memory.
    detail::Hasher hasher(detail::Hasher::Kind::sha256);
    for (;;) {
      if (run.failed) return;
      int number = 0;
      std::size_t len = 0;
      if (random) {
        std::uint64_t offset = 0;
        {
          std::lock_guard<std::mutex> lock(run.mu);
          if (static_cast<std::uint64_t>(run.next_part) > total_parts) return;
          number = run.next_part++;
          offset = static_cast<std::uint64_t>(number - 1) * part_size;
        }
        len = static_cast<std::size_t>(std::min<std::uint64_t>(part_size, *size - offset));
        buffer.resize(len);
        std::size_t got = 0;
        while (got < len) {
          // Chunks small enough to be hashed while still in the CPU cache.
          const std::size_t want = std::min(len - got, kReadChunk);
          auto r = source.read_at(offset + got, buffer.data() + got, want);
          if (!r.ok()) return run.fail(r.status());
          if (*r == 0) {
            return run.fail(
                Status::IoError(fmt::format("PUT {}: the source ended at byte {} of {}", key, offset + got, *size)));
          }
          hasher.update(buffer.data() + got, *r);
          got += *r;
        }
      } else {
        std::lock_guard<std::mutex> lock(run.mu);
        if (run.source_done || run.failed) return;
        buffer.resize(static_cast<std::size_t>(part_size));
        std::size_t got = 0;
        while (got < buffer.size()) {
          const std::size_t want = std::min(buffer.size() - got, kReadChunk);
          auto r = source.read(buffer.data() + got, want);
          if (!r.ok()) {
            run.source_done = true;
            run.failed = true;
            if (run.failure.ok()) run.failure = r.status();
            return;
          }
          if (*r == 0) {
            run.source_done = true;
            break;
          }
          hasher.update(buffer.data() + got, *r);
          got += *r;
        }
        if (got == 0 && run.next_part > 1) return;  // nothing left (part 1 may be empty)
        if (run.next_part > 10000) {
          run.failed = true;
          if (run.failure.ok()) {
            run.failure = Status::TooLarge(fmt::format("PUT {}: more than 10000 parts of {} bytes", key, part_size));
          }
          return;
        }
        buffer.resize(got);
        len = got;
        number = run.next_part++;
        run.next_offset += got;
      }
      auto etag = upload_part(
          key, upload_id, number, std::string_view(buffer.data(), len),
          [&](std::uint64_t done, std::uint64_t) { return report(worker, done); }, detail::hex_lower(hasher.finish()));
      if (!etag.ok()) {
        if (run.cancelled) return run.fail(Status::Cancelled(fmt::format("PUT {}: cancelled by the caller", key)));
        return run.fail(etag.status());
      }
      {
        std::lock_guard<std::mutex> lock(run.progress_mu);
        run.completed_bytes += len;
        run.in_flight[static_cast<std::size_t>(worker)] = 0;
      }
      std::lock_guard<std::mutex> lock(run.mu);
      run.parts.push_back(PartInfo{number, std::move(etag.value()), len});
    }
  };

  std::vector<std::thread> threads;
  threads.reserve(static_cast<std::size_t>(workers - 1));
  for (int w = 1; w < workers; ++w) threads.emplace_back(worker_fn, w);
  worker_fn(0);
  for (auto& t : threads) t.join();

  Status result = run.failure;
  if (result.ok()) {
    std::sort(run.parts.begin(), run.parts.end(),
              [](const PartInfo& a, const PartInfo& b) { return a.part_number < b.part_number; });
    for (std::size_t i = 0; i < run.parts.size(); ++i) {
      if (run.parts[i].part_number != static_cast<int>(i + 1)) {
        result = Status::Internal(fmt::format("PUT {}: part {} is missing", key, i + 1));
        break;
      }
    }
    if (result.ok() && size && run.parts.size() != total_parts) {
      result =
          Status::Internal(fmt::format("PUT {}: {} parts uploaded, {} expected", key, run.parts.size(), total_parts));
    }
    if (result.ok()) result = complete_multipart_upload(key, upload_id, run.parts, options.if_none_match);
  }
  if (!result.ok()) {
    Status aborted = abort_multipart_upload(key, upload_id);
    if (!aborted.ok()) {
      MS_LOG(error, "s3", "PUT {}: aborting multipart upload failed, parts may remain: {}", key, aborted.message());
      return result.with_context(fmt::format("(and the abort failed: {})", aborted.message()));
    }
    MS_LOG(debug, "s3", "PUT {}: multipart upload aborted after: {}", key, result.message());
    return result;
  }
  const auto ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
  MS_LOGF(debug, "s3", (std::vector<LogField>{{"key", std::string(key)}, {"parts", std::to_string(run.parts.size())}}),
          "PUT {}/{}: multipart upload of {} parts done in {} ms", settings_.bucket, key, run.parts.size(), ms);
  return Status::Ok();
}

}  // namespace mediastore::s3
