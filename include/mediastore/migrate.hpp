// Migration: copies every object from one storage backend to another (local
// to S3, S3 to local, any to any), verified and resumable.
//
// For each source object (listed in key order under an optional prefix),
// migrate():
//   1. skips it when the journal records it as verified with the same size
//      and etag as the source now has;
//   2. skips it when the destination already holds the same bytes (size and
//      sha256 compared by reading both) with the same content type, cache
//      control, content disposition and user metadata;
//   3. otherwise streams it from the source into a staging buffer (memory for
//      small objects, an unlinked temp file for large ones) while hashing it,
//      puts it at the same key in the destination with its content type and
//      metadata, reads the destination back, and checks size, sha256 and
//      metadata; only then is the object counted as copied and recorded in
//      the journal;
//   4. with delete_source, removes the source object after step 2 or 3
//      succeeded (never before the copy is verified).
// Several objects are processed at once (MigrateOptions::concurrency).
//
// Resuming: the journal is an append-only text file of verified keys, fsynced
// in batches and at the end. A run that is interrupted (SIGINT through
// MigrateOptions::stop, SIGKILL, power or network loss) and started again with
// the same journal skips what it finished and copies the rest; entries lost
// with the last unsynced batch only cost a comparison (step 2), never a
// missed or duplicated object.
//
// Thread-safety: migrate() may run concurrently with other calls on the same
// backends; two runs must not share one journal (the second fails with
// conflict while the first holds its lock).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "mediastore/export.hpp"
#include "mediastore/status.hpp"
#include "mediastore/storage.hpp"

namespace mediastore {

// Counters of a run so far (also the final counts, see MigrateReport).
struct MigrateProgress {
  std::uint64_t listed = 0;        // source objects listed so far
  std::uint64_t copied = 0;        // copied and verified in this run
  std::uint64_t skipped = 0;       // already present (journal or identical destination)
  std::uint64_t failed = 0;        // objects that failed (see MigrateReport::failures)
  std::uint64_t deleted = 0;       // source objects removed (delete_source)
  std::uint64_t planned = 0;       // dry run: objects that would be copied
  std::uint64_t bytes = 0;         // bytes copied (verified) in this run
  std::uint64_t bytes_listed = 0;  // total size of the listed objects
  bool listing_done = false;       // true once every source object has been listed
  std::chrono::steady_clock::duration elapsed{};
};

// What happened to one object, passed to MigrateOptions::on_object.
enum class MigrateAction {
  copied,           // copied and verified
  skipped_journal,  // the journal records it as done
  skipped_same,     // the destination already held identical bytes and metadata
  planned,          // dry run: would be copied
  failed,           // see the status
};

MS_API const char* migrate_action_name(MigrateAction action) noexcept;

struct MigrateOptions {
  // Only keys starting with this prefix move. Default: "" (everything).
  std::string prefix;
  // Objects processed at once (1..256). Default: 8.
  int concurrency = 8;
  // Remove each source object once its copy is verified. Default: false.
  bool delete_source = false;
  // Change nothing: list, compare, and report what would be copied
  // (MigrateReport::planned). The journal is read if it exists, never
  // written. Default: false.
  bool dry_run = false;
  // The journal file (created if missing). Default: "" (no journal; resuming
  // then relies on comparing the destination only, which reads both copies).
  std::string journal_path;
  // Written into a new journal and compared with an existing one, so that a
  // journal of one source/destination pair is not used for another: a
  // mismatch is invalid_argument. Default: "" (not checked).
  std::string journal_scope;
  // Objects up to this size are staged in memory, larger ones in an unlinked
  // temp file under temp_dir, so memory stays below about
  // concurrency x memory_stage_limit. Default: 8 MiB.
  std::uint64_t memory_stage_limit = 8ull << 20;
  // Folder of the staging temp files. Default: "" ($TMPDIR, else /tmp).
  std::string temp_dir;
  // Attempts per object for transient errors (network_error, timeout,
  // throttled, unavailable), with a short backoff. Default: 3.
  int attempts = 3;
  // When it becomes true (e.g. set by a SIGINT handler; it is only read),
  // no new object starts, transfers in flight are cancelled, the journal is
  // flushed and migrate() returns with MigrateReport::cancelled set. The
  // pointee must outlive the call. Default: null (never stops).
  const std::atomic<bool>* stop = nullptr;
  // Called after every object (and every listed page) with the counters so
  // far; calls are serialised (never two at once) but come from the calling
  // and worker threads, and must not throw. Default: none.
  std::function<void(const MigrateProgress&)> progress;
  // Called for every object with what happened to it (status is ok except
  // for failed); serialised like progress, must not throw. Default: none.
  std::function<void(const std::string& key, std::uint64_t size, MigrateAction action, const Status& status)> on_object;
};

struct MigrateFailure {
  std::string key;
  Status status;  // names the key and the step (read, put, verify, delete)
};

struct MigrateReport {
  MigrateProgress counts;                // final counters
  std::vector<MigrateFailure> failures;  // sorted by key
  std::vector<std::string> planned;      // dry run: keys that would be copied, sorted
  bool cancelled = false;                // MigrateOptions::stop ended the run early
  // An error that ended the run early (listing the source failed, the journal
  // became unwritable); ok otherwise.
  Status error;

  // True when everything listed is in place: no failure, no error, not
  // cancelled.
  bool ok() const { return error.ok() && failures.empty() && !cancelled; }
};

// Copies every object under options.prefix from `from` to `to` (see the top
// of this file). Returns an error only when the run cannot start (bad
// options: invalid_argument; unreadable or foreign journal: io_error /
// invalid_argument; journal in use: conflict); otherwise a report whose
// failures list each object that did not make it. Blocks until done; uses
// options.concurrency threads of its own. The backends are borrowed for the
// call and must be thread-safe (every StorageBackend is).
MS_API Result<MigrateReport> migrate(StorageBackend& from, StorageBackend& to, const MigrateOptions& options);

}  // namespace mediastore
