// JobQueue: one interface over an in-process queue, a durable SQLite file and
// Redis, with leases, heartbeats, retries and a dead-letter list.
//
// Delivery is at least once: a leased job that is neither acknowledged nor
// heartbeated before its lease runs out goes back to the queue (its attempt
// counter stays incremented) and is leased again; work must be idempotent.
// Every lease carries a token; ack/nack/heartbeat with the token of an older
// lease of the same job are refused (conflict), so a worker whose lease was
// taken over cannot finish a job a second time.
//
// Besides jobs, every backend keeps a small record store (id -> state, time,
// body) that any process sharing the backend can read: the upload workflow
// keeps its status there.
//
// Time: backends use the wall clock (system_clock, milliseconds) so that
// several processes (sqlite) or machines (redis; Redis' own clock) agree.
//
// Thread-safety: every JobQueue implementation is safe to call from many
// threads at once.
//
// Shape (non-virtual interface): the public calls whose arguments need
// checking or defaults (enqueue, enqueue_batch, lease, heartbeat, put_record,
// create_record)
// are not virtual; they check and complete their arguments once, in JobQueue,
// and then call the protected do_* hook that each backend implements. The
// other public calls are virtual and implemented by the backends directly.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "mediastore/config.hpp"
#include "mediastore/export.hpp"
#include "mediastore/status.hpp"

namespace mediastore {

using SystemTime = std::chrono::system_clock::time_point;

struct QueueOptions {
  // How long a lease lasts when lease() is called with lease_for = 0.
  // Default: 30 s.
  std::chrono::milliseconds lease_duration{30000};
  // A job leased this many times without ack goes to the dead-letter list
  // (on nack, or when its last lease expires). Default: 5.
  int max_attempts = 5;
  // Namespace of the backend's tables / keys, so that several queues can share
  // one file or one Redis database. Letters, digits, '_' and '-' only.
  // Default: "mediastore".
  std::string name = "mediastore";
};

// A job handed out by lease(). Plain value; the caller owns it.
struct LeasedJob {
  std::string id;
  std::string payload;
  int attempt = 0;          // 1 on the first lease, 2 on the second, ...
  std::string lease_token;  // identifies this lease
  SystemTime lease_expires{};
  std::string last_error;  // from the previous nack, "" if none
};

// A job that exhausted its attempts.
struct DeadJob {
  std::string id;
  std::string payload;
  int attempts = 0;
  std::string last_error;
  SystemTime died_at{};
};

struct QueueStats {
  std::uint64_t ready = 0;      // may be leased now
  std::uint64_t delayed = 0;    // waiting for a retry time
  std::uint64_t in_flight = 0;  // leased (including leases that ran out but were not yet reclaimed)
  std::uint64_t dead = 0;       // in the dead-letter list
};

// One entry of the record store.
struct JobRecord {
  std::string id;
  std::string state;  // free text chosen by the user ("pending", "failed", ...)
  SystemTime updated_at{};
  std::string body;  // opaque to the queue
};

// One job for enqueue_batch(). Plain value; the caller owns it.
struct NewJob {
  std::string id;
  std::string payload;
  SystemTime not_before{};  // default: leasable now
};

// What nack() did with the job.
enum class NackOutcome { retry_scheduled, dead_lettered };

class MS_API JobQueue {
 public:
  JobQueue() = default;
  JobQueue(const JobQueue&) = delete;
  JobQueue& operator=(const JobQueue&) = delete;
  virtual ~JobQueue();

  // "memory", "sqlite", "redis".
  virtual std::string backend_name() const = 0;
  virtual const QueueOptions& options() const = 0;

  // Adds a job that becomes leasable at not_before (default: now). ids are
  // unique: already_exists if a job with this id is queued, leased or dead.
  // invalid_argument if id is empty, longer than 256 bytes or holds control
  // characters.
  Status enqueue(std::string_view id, std::string_view payload, SystemTime not_before = {});

  // Leases up to max_jobs ready jobs for lease_for (0 or less =
  // options().lease_duration), waiting up to `wait` for the first one. Returns
  // an empty vector when none came, and at once when max_jobs is 0. Reclaims
  // expired leases first.
  Result<std::vector<LeasedJob>> lease(std::size_t max_jobs, std::chrono::milliseconds lease_for,
                                       std::chrono::milliseconds wait);

  // Extends job's lease to now + extend_by (0 or less =
  // options().lease_duration) and updates job.lease_expires. conflict if the
  // lease was lost (expired and taken over, cancelled, acked).
  Status heartbeat(LeasedJob& job, std::chrono::milliseconds extend_by);

  // Removes a finished job. Idempotent: acking a job that is gone is ok;
  // conflict if the job is now held under another lease.
  virtual Status ack(const LeasedJob& job) = 0;

  // Gives a job back to run again at retry_at, remembering error; once the job
  // has used options().max_attempts attempts it goes to the dead-letter list
  // instead. conflict if the lease was lost.
  virtual Result<NackOutcome> nack(const LeasedJob& job, SystemTime retry_at, std::string_view error) = 0;

  // True if a job with this id is queued, leased or dead.
  virtual Result<bool> contains(std::string_view id) = 0;

  // Removes a job in any state (queued, leased or dead); ok if absent.
  virtual Status remove(std::string_view id) = 0;

  // Puts jobs whose lease ran out back in the queue (or in the dead-letter
  // list once their attempts are used up). Returns how many were moved. Called
  // by lease(); callable by maintenance.
  virtual Result<std::size_t> requeue_expired() = 0;

  // Up to limit dead jobs, oldest first.
  virtual Result<std::vector<DeadJob>> dead_letters(std::size_t limit) = 0;

  virtual Result<QueueStats> stats() = 0;

  // ---- record store ----

  // Creates or replaces the record with record.id (updated_at as given; the
  // default-constructed time means now). invalid_argument if record.id is not
  // a valid job id (see enqueue()).
  Status put_record(const JobRecord& record);
  // put_record() that also replaces the record's index terms ("tags") with
  // `tags`, atomically with the record: list_records_by_tag(t) then finds
  // the record for each t in tags. put_record(record) without tags removes
  // the record's tags; remove_record() removes them too. Each tag must have
  // 1..512 bytes and no control characters (invalid_argument naming it);
  // duplicates count once. Cost: one index entry per tag (an SQLite row, a
  // member of a Redis sorted set per tag), rewritten on every put.
  // Default implementation (a backend that has no index): put_record() for
  // an empty list, invalid_argument ("does not index") otherwise.
  Status put_record(const JobRecord& record, const std::vector<std::string>& tags);
  // Creates the record with record.id only if there is none: atomic across
  // every process and thread sharing the backend, so exactly one of several
  // concurrent callers gets ok and the others already_exists naming the id
  // (the existing record is left as it was). updated_at as in put_record().
  // invalid_argument for a bad id. Used for once-only markers (a single-use
  // upload grant's nonce).
  Status create_record(const JobRecord& record);
  // not_found naming the id if there is no such record.
  virtual Result<JobRecord> get_record(std::string_view id) = 0;
  // Records in `state` last updated before `updated_before`, oldest first, at
  // most limit.
  virtual Result<std::vector<JobRecord>> list_records(std::string_view state, SystemTime updated_before,
                                                      std::size_t limit) = 0;
  // Records in `state` last updated at or after `updated_since`, oldest
  // first, at most limit (an index range scan on every backend). Default
  // implementation: invalid_argument ("does not list records by time").
  virtual Result<std::vector<JobRecord>> list_records_since(std::string_view state, SystemTime updated_since,
                                                            std::size_t limit);
  // Records that carry `tag` (put_record with tags), oldest update first, at
  // most limit: one index lookup (SQLite: the tag table's primary key; Redis:
  // the tag's sorted set; memory: a map), not a scan of every record.
  // Default implementation: invalid_argument ("does not index records by tag").
  virtual Result<std::vector<JobRecord>> list_records_by_tag(std::string_view tag, std::size_t limit);
  // Number of records per state.
  virtual Result<std::map<std::string, std::uint64_t>> count_records() = 0;
  // ok if absent.
  virtual Status remove_record(std::string_view id) = 0;

  // ---- batches (additive; each backend implements them in one go) ----

  // Enqueues several jobs at once; returns one Status per job, in order, each
  // what enqueue() would have returned for it (already_exists and
  // invalid_argument concern that job only; the others are still queued). A
  // failure of the backend itself (I/O, unavailable) is reported on every job
  // it concerns. When it returns, every job reported ok is stored as durably
  // as by enqueue(). Cheaper than one enqueue() per job: SQLite commits the
  // batch in one transaction (one fsync), Redis sends it in one round trip
  // (split into scripts of at most 256 jobs, each atomic). An empty batch
  // returns an empty vector. Thread-safe; the caller keeps ownership of jobs.
  std::vector<Status> enqueue_batch(const std::vector<NewJob>& jobs);

  // Acknowledges several leased jobs at once; one Status per job, in order,
  // each what ack() would have returned for it. Same durability, cost and
  // thread-safety notes as enqueue_batch(). Default implementation: ack() per
  // job.
  virtual std::vector<Status> ack_batch(const std::vector<LeasedJob>& jobs);

 protected:
  // ---- hooks of the non-virtual calls above, implemented by each backend ----
  // Each is called only by its public call, after that call checked and
  // completed the arguments; it must be as thread-safe as the public call.

  // enqueue() with an id already checked (valid). not_before is as given
  // (SystemTime{} = now).
  virtual Status do_enqueue(std::string_view id, std::string_view payload, SystemTime not_before) = 0;

  // lease() with max_jobs >= 1 and lease_for > 0 (already defaulted).
  virtual Result<std::vector<LeasedJob>> do_lease(std::size_t max_jobs, std::chrono::milliseconds lease_for,
                                                  std::chrono::milliseconds wait) = 0;

  // heartbeat() with extend_by > 0 (already defaulted).
  virtual Status do_heartbeat(LeasedJob& job, std::chrono::milliseconds extend_by) = 0;

  // put_record() with record.id checked (valid) and record.updated_at set
  // (never SystemTime{}).
  virtual Status do_put_record(const JobRecord& record) = 0;
  // put_record(record, tags) with the record checked as for do_put_record()
  // and the tags checked and de-duplicated; must replace the record and its
  // tags atomically. Default implementation: do_put_record() when tags is
  // empty, invalid_argument otherwise (so that backends written before tags
  // keep working untagged).
  virtual Status do_put_record_tagged(const JobRecord& record, const std::vector<std::string>& tags);
  // create_record() with the same preconditions as do_put_record(); must be
  // atomic with respect to every other record call.
  virtual Status do_create_record(const JobRecord& record) = 0;

  // enqueue_batch()'s work. results holds one Status per job, in order: ok for
  // each job to enqueue, the refusal of the argument checks for the others,
  // which are not to be enqueued. The hook stores the outcome of every job
  // whose entry is ok (a failure of the backend itself may also be stored over
  // a refusal, for a job the batch did not reach). Default implementation:
  // do_enqueue() per such job.
  virtual void do_enqueue_batch(const std::vector<NewJob>& jobs, std::vector<Status>& results);
};

// An in-process queue (mutex + condition variable). Nothing survives the
// process. The returned object is thread-safe.
MS_API std::shared_ptr<JobQueue> make_memory_queue(QueueOptions options = {});

// A queue in an SQLite file in WAL mode that several processes on one machine
// may open at once; every change is one transaction, so a process killed at
// any instant loses nothing. `path` may be prefixed with "sqlite://"; missing
// parent folders are created.
//
// Durability: by default (synchronous=FULL) enqueue, nack, put_record and
// the other calls whose loss would lose work return only after their
// transaction is fsynced, so an accepted job also survives an OS crash or
// power loss. lease, heartbeat and ack are not fsynced on their own (the next
// fsynced commit carries them, in order): after an OS crash or power loss a
// lease may be gone (its worker died with the machine) or an acked job may be
// delivered again (at least once; never lost). Calls made at the same time by several
// threads of one returned object share one transaction and one fsync (group
// commit); separate objects (or processes) commit separately. The suffix
// "?synchronous=normal" (e.g. "sqlite:///var/q.sqlite3?synchronous=normal")
// skips the fsync per commit: still nothing lost when a process is killed,
// but an OS crash or power loss may drop the last commits (accepted jobs,
// acks). Not the default; "?synchronous=full" is the default spelled out;
// other suffixes are invalid_argument.
MS_API Result<std::shared_ptr<JobQueue>> make_sqlite_queue(const std::string& path, QueueOptions options = {});

// A queue in Redis ("redis://host:port/db", optional "redis://:password@...")
// shared by workers on many machines; every operation is one Lua script, so
// it is atomic. The returned object opens up to 4 connections on demand, so
// that its calls from several threads do not wait for one socket. Reconnects by itself after a Redis restart; calls
// made while Redis is down fail with unavailable.
MS_API Result<std::shared_ptr<JobQueue>> make_redis_queue(const std::string& url, QueueOptions options = {});

// The queue config selects (MEDIA_QUEUE_BACKEND, MEDIA_QUEUE_URL). sqlite
// without a URL uses config.effective_sqlite_path() (Default:
// "<MEDIA_ROOT>.state/queue.sqlite3", outside MEDIA_ROOT) and logs a warning
// when a queue file of the former default place ("<MEDIA_ROOT>/.spool/") is
// left unused. make_sqlite_queue makes its path absolute and logs it at info.
MS_API Result<std::shared_ptr<JobQueue>> make_queue(const Config& config, QueueOptions options = {});

}  // namespace mediastore
