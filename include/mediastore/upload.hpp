// The upload workflow: accept an upload durably, process it in a worker
// through a list of stages (by default: validate and make thumbnails ->
// store original -> store thumbnails), track its status, retry transient
// failures, clean up after failures.
//
//   auto svc = mediastore::UploadService::open(config).value();
//   auto id = svc->submit_upload({.source_path = "/tmp/IMG_1.jpg", .original_filename = "IMG_1.jpg"});
//   mediastore::Worker worker(svc);   // default: two threads per CPU core
//   worker.start();
//   auto st = svc->status(*id);   // pending, processing(stage, progress), retrying, completed, failed
//
// Delivery is at least once and the work idempotent: every object key derives
// from the upload id ("uploads/<id>/original.jpg", "uploads/<id>/thumb_small.jpg"),
// so a re-run after a crash overwrites the same objects.
//
// Status lives in the queue backend's record store: any process sharing the
// backend (sqlite file, Redis) can query an upload by id.
//
// Thread-safety: UploadService and Worker are safe to use from many threads.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mediastore/config.hpp"
#include "mediastore/export.hpp"
#include "mediastore/media.hpp"
#include "mediastore/queue.hpp"
#include "mediastore/scan.hpp"
#include "mediastore/status.hpp"
#include "mediastore/storage.hpp"

namespace mediastore {

// The numbers are ABI (the C ms_upload_state mirrors them): new states are
// appended. awaiting_upload: a direct upload (create_direct_upload) whose
// client has not completed it yet; it has no job until
// complete_direct_upload.
enum class UploadState { pending, processing, retrying, completed, failed, awaiting_upload };
// "pending", "processing", "retrying", "completed", "failed",
// "awaiting_upload".
MS_API const char* upload_state_name(UploadState state) noexcept;

// Where processing is; progress_percentage rises through them. The numbers
// are ABI (the C ms_upload_stage mirrors them): new stages are appended,
// after `done`, whatever their place in the pipeline.
enum class UploadStage : int {
  queued = 0,
  validating = 1,
  storing_original = 2,
  making_thumbnails = 3,
  storing_thumbnails = 4,
  done = 5,
  scanning = 6,       // the virus scan, the first stage when scanning is on
  deduplicating = 7,  // the exact-duplicate check, after validation, before storing
};
// Number of UploadStage values; they are 0 .. kUploadStageCount-1.
inline constexpr int kUploadStageCount = 8;
// "queued", "validating", "storing_original", "making_thumbnails",
// "storing_thumbnails", "done", "scanning", "deduplicating"; "unknown" for values out of range. The
// returned pointer is static. Thread-safe.
MS_API const char* upload_stage_name(UploadStage stage) noexcept;

struct UploadRequest {
  // The file to upload (copied into the spool); when empty, `data` is used.
  std::string source_path;
  std::string data;
  // The name the user gave ("IMG_1.jpg"); used for the extension check.
  std::string original_filename;
  // What the client declared; informational (types are decided by content).
  std::string content_type;
  MediaKind media_kind = MediaKind::photo;  // Default: photo
  // Caller context kept with the status (e.g. "keep_id", "caption"). Every
  // pair is indexed: UploadService::list_by_context(key, value) finds the
  // upload by it.
  std::map<std::string, std::string> context;
  // Idempotency key (e.g. the client's request id): a submission with a key
  // that an earlier submission used within UploadOptions::record_ttl returns
  // the earlier upload's id and keeps nothing of its own, so a client that
  // retries a POST after a timeout does not create two uploads. Across
  // processes too (an atomic marker record in the queue backend). 1..1024
  // bytes, any content (it is stored hashed). Default: "" = none.
  std::string idempotency_key;
};

// One stored object of a completed upload.
struct StoredObject {
  std::string name;  // "original", "small", "medium", "large"
  std::string key;
  std::string url;  // StorageBackend::get_url() at completion time
  int width = 0;    // as displayed (videos too: their display size)
  int height = 0;
  std::uint64_t bytes = 0;
  std::string content_type;
  // A thumbnail's encoding: thumbnail_format_name() ("jpeg", "webp",
  // "avif"); "" for the original. Records written before the field existed
  // load with "jpeg" for their thumbnails.
  std::string format;
};

struct UploadResult {
  StoredObject original;
  // One per spec and format (spec order, then the spec's format order),
  // stored as "thumb_<name>.<ext>"; a video's are made from its poster frame.
  std::vector<StoredObject> thumbnails;
  // The media metadata, media_metadata(info): "media_type", "mime",
  // "sha256", "width", "height", "display_width", "display_height",
  // "orientation", "capture_time", "has_gps", "filename"; "note",
  // "thumbhash" (MediaInfo::thumbhash) and "phash" (MediaInfo::phash) when
  // non-empty; a video's container, codec, duration, ... (see media_metadata).
  std::map<std::string, std::string> metadata;
};

struct UploadStatus {
  std::string id;
  UploadState state = UploadState::pending;
  UploadStage stage = UploadStage::queued;
  int progress_percentage = 0;           // 0..100, never decreases
  int attempt = 0;                       // attempts started so far
  SystemTime next_try{};                 // retrying: when the next attempt may start
  std::string last_error;                // retrying: why the last attempt failed ("timeout: ...")
  ErrorCode error_code = ErrorCode::ok;  // failed: the code
  std::string error_message;             // failed: for a person
  // failed because the file was refused (validation or the virus scan): why,
  // e.g. malware, unscanned, too_long, type_not_allowed (refusal_reason_name
  // gives the name; error_code is refusal_reason_code of it). none otherwise,
  // and for records written before the field existed.
  RefusalReason refusal_reason = RefusalReason::none;
  std::optional<UploadResult> result;  // completed
  // completed as an exact duplicate (same content SHA-256 in the same dedup
  // scope, see UploadOptions::dedup_scope_key): the id of the first upload
  // of that content. Then `result` holds this upload's own metadata but the
  // first upload's objects (original and thumbnails: their keys, with URLs
  // made when this one completed); nothing of its own was stored. Empty
  // otherwise.
  std::string duplicate_of;
  std::string original_filename;
  std::string content_type;
  MediaKind media_kind = MediaKind::photo;
  std::map<std::string, std::string> context;
  SystemTime created_at{};
  SystemTime updated_at{};
  // Where the accepted bytes wait for a worker: the storage key of the staged
  // object ("<Config::staging_prefix><id>") when staged in the storage
  // backend, "" when in the accepting process's spool folder. Set at submit
  // from Config::effective_staging(); a worker follows the record, whatever
  // its own config says. Default: "" (local spool).
  std::string staged_key;
  // A direct upload (create_direct_upload): what the client declared and
  // the plan it was given; nullopt for submit_upload's uploads.
  struct Direct {
    std::uint64_t size = 0;  // the declared bytes
    std::string sha256;      // the client's SHA-256 (hex), "" if none; checked by the worker
    std::string upload_id;   // the store's multipart upload ID, "" for a single PUT
    std::uint64_t part_size = 0;
    SystemTime expires_at{};  // when the plan's URLs expire
    bool completed = false;   // complete_direct_upload has queued it
  };
  std::optional<Direct> direct;
};

// Histogram bounds of processing time in seconds (the last bucket is +Inf).
inline constexpr std::array<double, 10> kUploadTimeBuckets{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

struct UploadMetrics {
  // Counted by this process since it started.
  std::uint64_t submitted = 0;
  std::uint64_t completed = 0;
  std::uint64_t failed = 0;
  std::uint64_t retried = 0;
  std::uint64_t in_flight = 0;  // jobs this process's workers hold now
  // Processing time of jobs this process finished: counts per bucket
  // (cumulative like Prometheus: bucket i counts jobs <= kUploadTimeBuckets[i];
  // the last entry is +Inf), sum in seconds.
  std::array<std::uint64_t, kUploadTimeBuckets.size() + 1> time_buckets{};
  double time_sum_seconds = 0;
  std::uint64_t time_count = 0;
  // Shared by every process on the backend.
  QueueStats queue;                             // ready, delayed, in flight, dead
  std::map<std::string, std::uint64_t> states;  // uploads per state ("completed": 12, ...)
};

// The Prometheus text exposition (version 0.0.4) of metrics, names prefixed
// "mediastore_".
MS_API std::string to_prometheus(const UploadMetrics& metrics);

struct CleanupReport {
  std::uint64_t failed_uploads = 0;     // failed uploads whose leftovers were removed
  std::uint64_t abandoned_uploads = 0;  // unfinished uploads without a job, marked failed
  std::uint64_t dead_lettered = 0;      // uploads whose job exhausted its attempts, marked failed
  std::uint64_t spool_files_removed = 0;
  std::uint64_t objects_removed = 0;
  // Storage staging: staged objects of no upload or of an ended one, older
  // than UploadOptions::staging_orphan_age, removed.
  std::uint64_t staging_objects_removed = 0;
  // Unfinished multipart uploads under the staging prefix older than
  // UploadOptions::staging_orphan_age, aborted (S3; 0 on the local backend).
  std::uint64_t multipart_uploads_aborted = 0;
  // Ended status records (and idempotency markers) older than
  // UploadOptions::record_ttl, removed.
  std::uint64_t records_expired = 0;
  // Direct uploads still awaiting_upload past their plan's expiry (plus
  // kDirectUploadGrace), marked failed and their staged bytes (object,
  // multipart upload) removed.
  std::uint64_t expired_direct_uploads = 0;
};

// A direct upload: the bytes go from the client straight to the storage
// backend (direct.hpp), under Config::staging_prefix, whatever MEDIA_STAGING
// says; the web process only signs.
struct DirectUploadRequest {
  std::string original_filename;  // required; used for the extension check
  std::uint64_t size = 0;         // exact bytes; 1 .. Config::max_upload_size
  // What the client declared; a single PUT must send exactly this
  // Content-Type. Default: application/octet-stream.
  std::string content_type;
  MediaKind media_kind = MediaKind::photo;     // Default: photo
  std::map<std::string, std::string> context;  // kept with the status
  // The SHA-256 of the file (64 hex digits), when the client knows it: signed
  // into a single PUT (x-amz-checksum-sha256) and checked by the worker
  // against the bytes it processes, single PUT or multipart. Default: "".
  std::string sha256;
  // Content-MD5 (base64 of the MD5) for a single PUT, which every S3 store
  // checks (direct.hpp). Default: "".
  std::string content_md5;
  // How long the plan's URLs are valid: 1 s .. 7 days, and with
  // kDirectUploadGrace below UploadOptions::staging_orphan_age (cleanup
  // aborts older multipart uploads). Default: 1 hour.
  std::chrono::seconds expires_in{3600};
};

// What create_direct_upload returns: the id (state awaiting_upload) and the
// plan for the client (its URLs are secrets while valid).
struct DirectUpload {
  std::string id;
  DirectUploadPlan plan;
};

// How long after its URLs expire a direct upload may still be completed
// (a last part that finished just in time); afterwards
// cleanup_failed_uploads marks it failed (expired).
inline constexpr std::chrono::seconds kDirectUploadGrace{15 * 60};

struct UploadOptions {
  // Attempts per upload before it fails (transient errors only). Default: 5.
  int max_attempts = 5;
  // Retry delay: base * 2^(attempt-1), capped at backoff_max, then scaled by a
  // random factor in [0.5, 1]. Defaults: 1 s, 5 min.
  std::chrono::milliseconds backoff_base{1000};
  std::chrono::milliseconds backoff_max{300000};
  // Lease of a job and how often workers extend it. Defaults: 30 s, 10 s.
  std::chrono::milliseconds lease_duration{30000};
  std::chrono::milliseconds heartbeat_interval{10000};
  // Thumbnails made of images; an empty list makes none. Default (nullopt):
  // thumbnail_specs_from_config(config), i.e. small, medium and large in
  // every MEDIA_THUMBNAIL_FORMATS format. UploadService::options() shows
  // the list in use (never nullopt).
  std::optional<std::vector<ThumbnailSpec>> thumbnails;
  // Validation rules. Default: ValidationPolicy::from_config(config).
  std::optional<ValidationPolicy> policy;
  // Prefix of every object key. Default: "uploads/".
  std::string key_prefix = "uploads/";
  // Lifetime of the URLs in results (where the backend signs). Default: 7 days.
  std::chrono::seconds url_expiry{7 * 24 * 3600};
  // The virus scanner of the scan stage, the first stage: an infected file
  // fails (unsupported_media, "contains malware: <signature>"), one not
  // scanned in full fails (too_large) unless config.scan.unscanned is
  // accept, and a scanner that cannot answer is a transient failure (the
  // upload retries; it is never accepted unscanned). Shared by every worker
  // thread, so it must be thread-safe. Default: null = a ClamdScanner from
  // config.scan when config.scan.mode is required, no scan stage when off.
  std::shared_ptr<Scanner> scanner;
  // Queue namespace (QueueOptions::name). Default: "uploads".
  std::string queue_name = "uploads";
  // Which upload context keys (UploadRequest::context) are copied into the
  // original's object metadata, as x-amz-meta-ctx-<key>; the name
  // "original-filename" in the list copies the file name too. Anyone holding
  // a URL of the object can read its metadata, so by default none are: the
  // metadata holds only upload-id and sha256 (the context stays in the
  // upload's status record). nullopt: Config::metadata_context_keys
  // (MEDIA_METADATA_CONTEXT_KEYS). Default: nullopt.
  std::optional<std::vector<std::string>> metadata_context_keys;
  // How long the status record of an ended upload (completed; failed, once
  // cleanup removed its leftovers) and an idempotency key are kept:
  // cleanup_failed_uploads removes them when last updated longer ago. 0 =
  // kept forever. Default: 30 days.
  std::chrono::seconds record_ttl{30 * 24 * 3600};
  // Store the original without its location (strip_location_file in
  // media.hpp): a strip_location stage before storing_original writes a
  // stripped copy into the spool folder, and that copy is what is stored
  // (uploaded, also when the upload is staged in storage),
  // with its own size and SHA-256 (object metadata "sha256"); the upload's
  // metadata keeps the uploaded file's "sha256" and gains
  // "location_stripped" = "true"/"false". A file whose location cannot be
  // removed fails the upload (it is never stored with it). nullopt:
  // Config::strip_location (MEDIA_STRIP_LOCATION). Default: nullopt.
  std::optional<bool> strip_location;
  // The upload context key (UploadRequest::context) whose value is the scope
  // of duplicate detection: an upload whose content has the SHA-256 of a
  // completed upload with the same value of that key completes as its
  // duplicate (UploadStatus::duplicate_of) and stores nothing; similar()
  // searches the same scope. Uploads without the key are neither
  // deduplicated nor searchable. A copy processed while the first is
  // unfinished waits for it (in place while it is processing, else as a
  // transient retry that uses an attempt) and takes over if it fails;
  // docs/configuration.md, "Duplicates". "" = no duplicate detection (no
  // deduplicating stage). nullopt: Config::dedup_scope_key
  // (MEDIA_DEDUP_SCOPE_KEY, default "circle_id"). Default: nullopt.
  std::optional<std::string> dedup_scope_key;
  // Storage staging (Config::staging_prefix): cleanup_failed_uploads removes
  // a staged object that has no status record, or whose upload ended, and
  // aborts a multipart upload under the staging prefix, once older than
  // this. A submission writes its staged object before its record, so the
  // age must exceed the longest submission (and a direct upload's validity).
  // Staged objects of failed and abandoned uploads go with their upload's
  // leftovers, at cleanup_failed_uploads' own age. Default: 24 hours.
  std::chrono::seconds staging_orphan_age{24 * 3600};
};

// One result of UploadService::similar().
struct SimilarUpload {
  std::string id;    // a completed upload of the same scope
  int distance = 0;  // Hamming distance of the perceptual hashes, 0..64
};

class MS_API UploadService {
 public:
  // The storage and queue config selects (make_storage, make_queue).
  static Result<std::shared_ptr<UploadService>> open(const Config& config, UploadOptions options = {});
  // Given storage and queue (tests, decorators). The queue's own options
  // (lease, attempts) are used as they are.
  static Result<std::shared_ptr<UploadService>> create(const Config& config, std::shared_ptr<StorageBackend> storage,
                                                       std::shared_ptr<JobQueue> queue, UploadOptions options = {});
  virtual ~UploadService();
  UploadService(const UploadService&) = delete;
  UploadService& operator=(const UploadService&) = delete;

  // Spools the source (written and fsynced under config.effective_spool_dir()),
  // records it as pending and queues it; returns the new upload id (UUID).
  // Fails at once (nothing kept) with invalid_argument (no name, empty
  // source), not_found/permission_denied (source file), too_large (over
  // max_upload_size) or the queue's error.
  Result<std::string> submit_upload(const UploadRequest& request);

  // A direct upload (see DirectUploadRequest): plans it in the storage
  // backend at "<Config::staging_prefix><id>" (direct.hpp: one presigned PUT
  // below the multipart threshold, else a multipart upload with equal
  // parts), records it as awaiting_upload (other processes on the queue
  // backend see it) and returns the id and the plan. Nothing is queued.
  // Fails, with no URL made, with invalid_argument (no name, size 0, a bad
  // sha256 or expiry), too_large (size above Config::max_upload_size or
  // 5 GiB, the largest staged object the worker copies into place), or
  // not_supported (a backend without direct uploads: the local one).
  Result<DirectUpload> create_direct_upload(const DirectUploadRequest& request);

  // Completes a direct upload once the client has sent every byte: checks
  // the staged object (multipart: the client's ETags of every part,
  // CompleteMultipartUpload; then it exists with the declared size), then
  // queues it exactly as submit_upload does (record pending, job queued) and
  // returns the status. `sha256`: the client's SHA-256 when it gives it only
  // now (it must equal one given at create); the worker checks the bytes
  // against it (failed, corrupt_media, on a mismatch). Calling it again
  // returns the current status (idempotent). Errors (the upload stays
  // awaiting_upload, so the client may fix and call again): not_found
  // (unknown id, nothing uploaded, a part never sent), invalid_argument (a
  // part missing from `parts`, not a direct upload), conflict (a size or
  // ETag other than the plan's; the upload already failed, e.g. expired or
  // cancelled).
  Result<UploadStatus> complete_direct_upload(std::string_view id, const std::vector<UploadedPart>& parts,
                                              std::string_view sha256 = {});

  // The current status; not_found for an id never submitted.
  Result<UploadStatus> status(std::string_view id);

  // Near duplicates of a completed photo (or video poster): the other
  // completed uploads of its dedup scope (the same value of the
  // dedup_scope_key context key) whose perceptual hash ("phash" in the
  // result metadata) is at most max_distance bits from its own, sorted by
  // distance, then id; exact duplicates are at distance 0.
  // kSimilarImageDistance (media.hpp) is the distance for "the same
  // picture". Empty when the upload has no phash or no scope value.
  // invalid_argument for max_distance outside 0..64 or when duplicate
  // detection is off (dedup_scope_key ""); not_found for unknown ids;
  // conflict when the upload has not completed. Reads one index record per
  // upload of the scope (at most 100000) and the status of each match.
  // Thread-safe.
  Result<std::vector<SimilarUpload>> similar(std::string_view id, int max_distance = kSimilarImageDistance);

  // Cancels an upload that has not finished: it becomes failed (cancelled),
  // its job is dropped and its spool and objects are removed. conflict if it
  // already completed or failed; not_found for unknown ids.
  Status cancel(std::string_view id);

  // Removes the spool files, staged objects and partial objects of uploads
  // that failed, and marks failed (then cleans) unfinished uploads whose job
  // is gone or dead-lettered, when last updated more than older_than ago;
  // also removes spool files of no upload older than that. Under
  // Config::staging_prefix it removes staged objects without a record or of
  // an ended upload and aborts multipart uploads, older than
  // UploadOptions::staging_orphan_age (whatever this process's
  // MEDIA_STAGING: the prefix is looked at in both modes).
  Result<CleanupReport> cleanup_failed_uploads(std::chrono::seconds older_than);

  // Jobs that exhausted their attempts, oldest first.
  Result<std::vector<DeadJob>> dead_letters(std::size_t limit = 100);

  // ---- lifecycle (src/upload/lifecycle.cpp, hook.cpp) ----

  // Called when an upload ends (completed or failed), with its final status,
  // after that status is durable in the record store. At least once per
  // upload end: a worker that dies after the record but before the job's
  // ack calls it again when the job is delivered again (another process's
  // worker may), so the hook must be idempotent; ended_since() finds what
  // was missed. Runs on the thread that ended the upload: a Worker thread
  // (before that job's ack; the lease is kept meanwhile), or the caller of
  // cancel() and cleanup_failed_uploads() (abandoned and dead-lettered
  // uploads). A non-ok Status or an exception is logged (warn) and changes
  // nothing else: the upload stays ended, the job is acked.
  using EndHook = std::function<Status(const UploadStatus& status)>;
  // Sets (or, with an empty function, clears) the hook. Thread-safe; a hook
  // call already running finishes with the old one. Default: none.
  void set_end_hook(EndHook hook);

  // Uploads that ended (completed or failed) at or after `since` (their
  // record's updated_at), oldest first, at most limit (1..10000). To page,
  // call again with the updated_at of the last one: uploads at that same
  // millisecond come again. An index range scan per ended state on sqlite
  // and redis (a scan on the memory queue). A cleanup of a failed upload's
  // leftovers updates its record, so it may be listed again. For a periodic
  // reconcile (`mediastore reconcile`) that catches what a crash between the
  // final record and the hook missed.
  Result<std::vector<UploadStatus>> ended_since(SystemTime since, std::size_t limit = 100);

  // Waits until the upload has ended or `timeout` is over, and returns its
  // status then (not ended at timeout: its current state). Polls the record
  // store with pauses from 10 ms doubling up to 500 ms. not_found for an
  // unknown id. Thread-safe; blocks the caller.
  Result<UploadStatus> wait(std::string_view id, std::chrono::milliseconds timeout);

  // Uploads whose UploadRequest::context holds key = value, oldest update
  // first, at most limit (1..10000). An index lookup (every context pair is
  // a record tag: put_record with tags), not a scan; uploads submitted
  // before this version are not indexed until their status is written again.
  // invalid_argument for an empty key.
  Result<std::vector<UploadStatus>> list_by_context(std::string_view key, std::string_view value,
                                                    std::size_t limit = 100);

  // Queues a failed upload again whose failure was transient
  // (is_transient(error_code): network, timeout, throttled, unavailable): it
  // becomes pending with attempt 0 and runs through the whole pipeline. Its
  // staged bytes must still be there: a failure that gave up keeps them
  // until cleanup_failed_uploads removes them (older_than later).
  // not_found (unknown id; staged bytes gone), conflict (not failed; failed
  // for a permanent reason such as unsupported_media: a retry would fail
  // the same way), or the queue's error.
  Status retry(std::string_view id);

  // retry() for up to limit dead-lettered jobs (oldest first) whose upload
  // can be retried (also an upload not yet marked failed); the others stay
  // in the dead-letter list and are logged with why. Returns how many were
  // queued again.
  Result<std::size_t> redrive_dead_letters(std::size_t limit = 100);

  Result<UploadMetrics> metrics();

  // Leases and processes up to max_jobs jobs in the calling thread, waiting
  // up to `wait` for the first; returns how many were processed. Worker uses
  // this; handy in tests.
  Result<std::size_t> process_next(std::size_t max_jobs, std::chrono::milliseconds wait);

  const Config& config() const;
  StorageBackend& storage();
  JobQueue& queue();
  const UploadOptions& options() const;

  struct Impl;

 private:
  explicit UploadService(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  friend class Worker;
};

// The worker thread count used when WorkerOptions::threads is 0: two per CPU
// core (std::thread::hardware_concurrency(); 2 when that is unknown), at most
// 256. An upload job waits on the storage for part of its time (a 12 MP photo
// on 2 cores sharing them with Ceph RGW: 2 threads 37, 4 threads 45 jobs/s;
// docs/benchmarks.md). Thread-safe.
MS_API int default_worker_threads();

struct WorkerOptions {
  int threads = 0;  // Default: 0 = default_worker_threads(); else 1..256
  // How long one lease call waits for work before checking for stop. Default: 500 ms.
  std::chrono::milliseconds poll_wait{500};
  // Maintenance (expired leases, cleanup_failed_uploads) period. Default: 60 s.
  std::chrono::milliseconds maintenance_interval{60000};
  // cleanup_failed_uploads threshold used by maintenance. Default: 1 hour.
  std::chrono::seconds cleanup_older_than{3600};
};

// How Worker::stop treats jobs in flight.
enum class StopMode {
  finish,   // finish them (then ack)
  release,  // give them back to the queue at the next stage boundary
};

// Threads that lease and process upload jobs, a heartbeat thread that keeps
// their leases, and periodic maintenance.
class MS_API Worker {
 public:
  Worker(std::shared_ptr<UploadService> service, WorkerOptions options = {});
  ~Worker();  // stop(StopMode::finish) + wait()
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Starts the threads; invalid_argument if already started or threads is
  // not 0..256.
  Status start();
  // Asks the threads to stop leasing; in-flight jobs are finished or
  // released. Returns at once; async-signal-unsafe (call from a normal
  // thread; a signal handler should only set a flag).
  void stop(StopMode mode = StopMode::finish);
  // Waits until every thread has ended.
  void wait();
  bool running() const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace mediastore
