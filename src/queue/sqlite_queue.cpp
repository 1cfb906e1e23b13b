// Durable queue in an SQLite file (WAL), shared by the processes of one
// machine. Each operation runs inside an IMMEDIATE transaction; a process
// killed at any instant leaves either the old or the new state.
//
// Group commit: the writing calls (enqueue, ack, nack, heartbeat, lease and
// their batch forms) made at the same time by several threads of one
// SqliteQueue object are run in one transaction by whichever caller comes
// first (the leader); the others wait and return once that transaction is
// committed. With synchronous=FULL (the default) the commit is one fsync of
// the WAL for the whole group instead of one per call, and every caller still
// returns only after its change is durable. A call whose statements fail is
// rolled back on its own and the rest of the group is run again.
//
// What must survive an OS crash or power loss is fsynced: enqueued jobs,
// nacks, dead letters and records. Leases, heartbeats and acks are not
// fsynced on their own (a group made only of them commits with
// synchronous=NORMAL): WAL commits reach the disk in order, so such a change
// is made durable by the next durable commit or checkpoint, and one lost to
// an OS crash only means that a lease is gone (every worker died with the
// machine anyway) or that an acked job runs again (at least once; the upload
// workflow acks after its durable final record and acks re-runs of ended
// uploads at once). A process crash loses nothing in either case.
#include <fmt/format.h>
#include <sqlite3.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <unordered_map>

#include "core/log_internal.hpp"
#include "queue/common.hpp"

namespace mediastore::detail {
namespace {

// Job states in the table.
constexpr int kReady = 0;
constexpr int kLeased = 1;
constexpr int kDead = 2;

// Whether a write transaction must be fsynced before it returns (see the
// file comment).
enum class Sync { durable, relaxed };

class Stmt {
 public:
  Stmt(sqlite3* db, const std::string& sql) { rc_ = sqlite3_prepare_v2(db, sql.c_str(), -1, &st_, nullptr); }
  // A statement from the cache (null if it failed to prepare): reset, not
  // finalized, at the end.
  explicit Stmt(sqlite3_stmt* cached) : st_(cached), rc_(cached ? SQLITE_OK : SQLITE_ERROR), cached_(true) {}
  ~Stmt() {
    if (!cached_) {
      sqlite3_finalize(st_);
    } else if (st_) {
      sqlite3_reset(st_);
      sqlite3_clear_bindings(st_);
    }
  }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  bool ok() const { return rc_ == SQLITE_OK; }
  Stmt& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(st_, i, v);
    return *this;
  }
  Stmt& bind(int i, std::string_view v) {
    sqlite3_bind_text(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind_blob(int i, std::string_view v) {
    sqlite3_bind_blob(st_, i, v.data(), static_cast<int>(v.size()), SQLITE_TRANSIENT);
    return *this;
  }
  int step() { return sqlite3_step(st_); }
  std::int64_t i64(int c) { return sqlite3_column_int64(st_, c); }
  std::string text(int c) {
    const void* p = sqlite3_column_blob(st_, c);
    int n = sqlite3_column_bytes(st_, c);
    return p ? std::string(static_cast<const char*>(p), static_cast<std::size_t>(n)) : std::string();
  }
  sqlite3_stmt* get() { return st_; }

 private:
  sqlite3_stmt* st_ = nullptr;
  int rc_;
  bool cached_ = false;
};

// Outcomes of a call that leave the transaction usable (nothing half done).
bool is_outcome(const Status& s) {
  return s.ok() || s.is(ErrorCode::already_exists) || s.is(ErrorCode::conflict) || s.is(ErrorCode::invalid_argument) ||
         s.is(ErrorCode::not_found);
}

class SqliteQueue final : public JobQueue {
 public:
  SqliteQueue(sqlite3* db, std::string path, QueueOptions options, std::string synchronous)
      : db_(db),
        path_(std::move(path)),
        options_(std::move(options)),
        t_(options_.name),
        synchronous_(std::move(synchronous)) {}
  ~SqliteQueue() override {
    for (auto& [sql, st] : cache_) sqlite3_finalize(st);
    sqlite3_close_v2(db_);
  }

  Status init() {
    MS_RETURN_IF_ERROR(exec("PRAGMA journal_mode=WAL"));
    MS_RETURN_IF_ERROR(exec("PRAGMA synchronous=" + synchronous_));
    MS_RETURN_IF_ERROR(exec(fmt::format(
        "CREATE TABLE IF NOT EXISTS {0}_jobs (id TEXT PRIMARY KEY, payload BLOB NOT NULL, state INTEGER NOT NULL,"
        " attempts INTEGER NOT NULL DEFAULT 0, at INTEGER NOT NULL, token TEXT NOT NULL DEFAULT '',"
        " last_error TEXT NOT NULL DEFAULT '');"
        "CREATE INDEX IF NOT EXISTS {0}_jobs_state_at ON {0}_jobs(state, at);"
        "CREATE TABLE IF NOT EXISTS {0}_records (id TEXT PRIMARY KEY, state TEXT NOT NULL, updated INTEGER NOT NULL,"
        " body BLOB NOT NULL);"
        "CREATE INDEX IF NOT EXISTS {0}_records_state ON {0}_records(state, updated);"
        // The record tags (put_record with tags): looked up by tag, replaced by record id.
        "CREATE TABLE IF NOT EXISTS {0}_record_tags (tag TEXT NOT NULL, id TEXT NOT NULL, PRIMARY KEY(tag, id))"
        " WITHOUT ROWID;"
        "CREATE INDEX IF NOT EXISTS {0}_record_tags_id ON {0}_record_tags(id);",
        t_)));
    return Status::Ok();
  }

  std::string backend_name() const override { return "sqlite"; }
  const QueueOptions& options() const override { return options_; }

  // Runs one(i) for every item of a batch in one write transaction: each
  // item gets its own outcome (a per-job refusal such as a duplicate id or a
  // stale token); a failure of the transaction itself becomes the outcome of
  // every item that had none.
  template <class One>
  std::vector<Status> batch_tx(std::size_t n, One one, Sync sync = Sync::durable) {
    std::vector<Status> out(n);
    if (n == 0) return out;
    Status s = write_tx(
        [&]() -> Status {
          for (std::size_t i = 0; i < n; ++i) {
            out[i] = one(i);
            if (!out[i].ok() && !is_outcome(out[i])) return out[i];
          }
          return Status::Ok();
        },
        sync);
    if (!s.ok())
      for (auto& o : out)
        if (o.ok() || !is_outcome(o)) o = s;
    return out;
  }

  Status ack(const LeasedJob& job) override {
    return write_tx([&] { return delete_job(job); }, Sync::relaxed);
  }

  std::vector<Status> ack_batch(const std::vector<LeasedJob>& jobs) override {
    return batch_tx(
        jobs.size(), [&](std::size_t i) { return delete_job(jobs[i]); }, Sync::relaxed);
  }

  Result<NackOutcome> nack(const LeasedJob& job, SystemTime retry_at, std::string_view error_text) override {
    bool dead = false;
    MS_RETURN_IF_ERROR(write_tx([&]() -> Status {
      Stmt sel(
          cached(fmt::format("SELECT attempts FROM {}_jobs WHERE id = ? AND state = {} AND token = ?", t_, kLeased)));
      sel.bind(1, job.id).bind(2, job.lease_token);
      int rc = sel.step();
      if (rc == SQLITE_DONE) return lease_lost(job);
      if (rc != SQLITE_ROW) return error("nack");
      dead = sel.i64(0) >= options_.max_attempts;
      Stmt up(cached(fmt::format("UPDATE {}_jobs SET state = ?, at = ?, token = '', last_error = ? WHERE id = ?", t_)));
      up.bind(1, static_cast<std::int64_t>(dead ? kDead : kReady)).bind(2, dead ? now_ms() : to_ms(retry_at));
      up.bind(3, error_text).bind(4, job.id);
      if (up.step() != SQLITE_DONE) return error("nack update");
      return Status::Ok();
    }));
    return dead ? NackOutcome::dead_lettered : NackOutcome::retry_scheduled;
  }

  Result<bool> contains(std::string_view id) override {
    std::lock_guard lock(mu_);
    Stmt st(db_, fmt::format("SELECT 1 FROM {}_jobs WHERE id = ?", t_));
    st.bind(1, id);
    int rc = step_retry(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) return error("contains");
    return rc == SQLITE_ROW;
  }

  Status remove(std::string_view id) override {
    std::lock_guard lock(mu_);
    Stmt st(db_, fmt::format("DELETE FROM {}_jobs WHERE id = ?", t_));
    st.bind(1, id);
    if (step_retry(st) != SQLITE_DONE) return error("remove");
    return Status::Ok();
  }

  Result<std::size_t> requeue_expired() override {
    std::lock_guard lock(mu_);
    MS_RETURN_IF_ERROR(begin());
    auto n = requeue_expired_tx(now_ms());
    if (!n.ok()) return rollback(n.status());
    MS_RETURN_IF_ERROR(commit());
    return n;
  }

  Result<std::vector<DeadJob>> dead_letters(std::size_t limit) override {
    std::lock_guard lock(mu_);
    Stmt st(db_, fmt::format("SELECT id, payload, attempts, last_error, at FROM {}_jobs WHERE state = {} ORDER BY at"
                             " LIMIT ?",
                             t_, kDead));
    st.bind(1, static_cast<std::int64_t>(limit));
    std::vector<DeadJob> out;
    int rc;
    while ((rc = st.step()) == SQLITE_ROW)
      out.push_back(DeadJob{st.text(0), st.text(1), static_cast<int>(st.i64(2)), st.text(3), from_ms(st.i64(4))});
    if (rc != SQLITE_DONE) return error("dead_letters");
    return out;
  }

  Result<QueueStats> stats() override {
    std::lock_guard lock(mu_);
    Stmt st(db_, fmt::format("SELECT state, at <= ?, count(*) FROM {}_jobs GROUP BY 1, 2", t_));
    st.bind(1, now_ms());
    QueueStats s;
    int rc;
    while ((rc = st.step()) == SQLITE_ROW) {
      auto n = static_cast<std::uint64_t>(st.i64(2));
      switch (st.i64(0)) {
        case kReady: (st.i64(1) ? s.ready : s.delayed) += n; break;
        case kLeased: s.in_flight += n; break;
        case kDead: s.dead += n; break;
      }
    }
    if (rc != SQLITE_DONE) return error("stats");
    return s;
  }

  Result<JobRecord> get_record(std::string_view id) override {
    std::lock_guard lock(mu_);
    Stmt st(db_, fmt::format("SELECT state, updated, body FROM {}_records WHERE id = ?", t_));
    st.bind(1, id);
    int rc = step_retry(st);
    if (rc == SQLITE_DONE) return no_record(id);
    if (rc != SQLITE_ROW) return error("get_record");
    return JobRecord{std::string(id), st.text(0), from_ms(st.i64(1)), st.text(2)};
  }

  Result<std::vector<JobRecord>> list_records(std::string_view state, SystemTime updated_before,
                                              std::size_t limit) override {
    return records_in_state("updated <", state, updated_before, limit, "list_records");
  }

  Result<std::vector<JobRecord>> list_records_since(std::string_view state, SystemTime updated_since,
                                                    std::size_t limit) override {
    // The (state, updated) index: a range scan.
    return records_in_state("updated >=", state, updated_since, limit, "list_records_since");
  }

  // Records of `state` whose update time satisfies "<condition> at", oldest
  // first; `what` names the call in errors.
  Result<std::vector<JobRecord>> records_in_state(std::string_view condition, std::string_view state, SystemTime at,
                                                  std::size_t limit, const char* what) {
    std::lock_guard lock(mu_);
    Stmt st(db_, fmt::format("SELECT id, updated, body FROM {}_records WHERE state = ? AND {} ? ORDER BY updated"
                             " LIMIT ?",
                             t_, condition));
    st.bind(1, state).bind(2, to_ms(at)).bind(3, static_cast<std::int64_t>(limit));
    std::vector<JobRecord> out;
    int rc;
    while ((rc = st.step()) == SQLITE_ROW)
      out.push_back(JobRecord{st.text(0), std::string(state), from_ms(st.i64(1)), st.text(2)});
    if (rc != SQLITE_DONE) return error(what);
    return out;
  }

  Result<std::vector<JobRecord>> list_records_by_tag(std::string_view tag, std::size_t limit) override {
    std::lock_guard lock(mu_);
    // The tag table's primary key finds the ids; the records' primary key
    // their rows; only the tag's records are sorted.
    Stmt st(db_, fmt::format("SELECT r.id, r.state, r.updated, r.body FROM {0}_record_tags t JOIN {0}_records r"
                             " ON r.id = t.id WHERE t.tag = ? ORDER BY r.updated LIMIT ?",
                             t_));
    st.bind(1, tag).bind(2, static_cast<std::int64_t>(limit));
    std::vector<JobRecord> out;
    int rc;
    while ((rc = st.step()) == SQLITE_ROW)
      out.push_back(JobRecord{st.text(0), st.text(1), from_ms(st.i64(2)), st.text(3)});
    if (rc != SQLITE_DONE) return error("list_records_by_tag");
    return out;
  }

  Result<std::map<std::string, std::uint64_t>> count_records() override {
    std::lock_guard lock(mu_);
    Stmt st(db_, fmt::format("SELECT state, count(*) FROM {}_records GROUP BY state", t_));
    std::map<std::string, std::uint64_t> out;
    int rc;
    while ((rc = st.step()) == SQLITE_ROW) out[st.text(0)] = static_cast<std::uint64_t>(st.i64(1));
    if (rc != SQLITE_DONE) return error("count_records");
    return out;
  }

  Status remove_record(std::string_view id) override {
    return write_tx([&]() -> Status {
      Stmt st(cached(fmt::format("DELETE FROM {}_records WHERE id = ?", t_)));
      if (!st.ok()) return error("prepare remove_record");
      st.bind(1, id);
      if (st.step() != SQLITE_DONE) return error("remove_record");
      return replace_tags(id, {});
    });
  }

 private:
  // ---- JobQueue hooks: the public calls check and default the arguments ----

  Status do_enqueue(std::string_view id, std::string_view payload, SystemTime not_before) override {
    std::int64_t at = to_ms_or_now(not_before);
    return write_tx([&] { return insert_job(id, payload, at); });
  }

  void do_enqueue_batch(const std::vector<NewJob>& jobs, std::vector<Status>& results) override {
    const std::int64_t now = now_ms();
    // A refused job keeps its refusal, unless the transaction fails before
    // reaching it (batch_tx then reports that failure on it too).
    results = batch_tx(jobs.size(), [&](std::size_t i) -> Status {
      if (!results[i].ok()) return results[i];
      return insert_job(jobs[i].id, jobs[i].payload,
                        jobs[i].not_before == SystemTime{} ? now : to_ms(jobs[i].not_before));
    });
  }

  Result<std::vector<LeasedJob>> do_lease(std::size_t max_jobs, std::chrono::milliseconds lease_for,
                                          std::chrono::milliseconds wait) override {
    std::vector<LeasedJob> out;
    LeasePoll poll(wait);
    for (;;) {
      Status s = write_tx(
          [&]() -> Status {
            out.clear();
            std::int64_t now = now_ms();
            auto moved = requeue_expired_tx(now);
            if (!moved.ok()) return moved.status();
            Stmt sel(
                cached(fmt::format("SELECT id, payload, attempts, last_error FROM {}_jobs WHERE state = {} AND at <= ?"
                                   " ORDER BY at LIMIT ?",
                                   t_, kReady)));
            if (!sel.ok()) return error("prepare lease");
            sel.bind(1, now).bind(2, static_cast<std::int64_t>(max_jobs));
            int rc;
            while ((rc = sel.step()) == SQLITE_ROW) {
              LeasedJob j;
              j.id = sel.text(0);
              j.payload = sel.text(1);
              j.attempt = static_cast<int>(sel.i64(2)) + 1;
              j.last_error = sel.text(3);
              j.lease_token = new_lease_token();
              j.lease_expires = from_ms(now + lease_for.count());
              out.push_back(std::move(j));
            }
            if (rc != SQLITE_DONE) return error("lease select");
            for (auto& j : out) {
              Stmt up(cached(fmt::format("UPDATE {}_jobs SET state = {}, attempts = ?, token = ?, at = ? WHERE id = ?",
                                         t_, kLeased)));
              up.bind(1, static_cast<std::int64_t>(j.attempt)).bind(2, j.lease_token).bind(3, to_ms(j.lease_expires));
              up.bind(4, j.id);
              if (up.step() != SQLITE_DONE) return error("lease update");
            }
            return Status::Ok();
          },
          Sync::relaxed);
      if (!s.ok()) return s;
      if (!out.empty() || !poll.pause()) return out;
    }
  }

  Status do_heartbeat(LeasedJob& job, std::chrono::milliseconds extend_by) override {
    std::int64_t until = now_ms() + extend_by.count();
    MS_RETURN_IF_ERROR(write_tx(
        [&]() -> Status {
          Stmt st(
              cached(fmt::format("UPDATE {}_jobs SET at = ? WHERE id = ? AND state = {} AND token = ?", t_, kLeased)));
          st.bind(1, until).bind(2, job.id).bind(3, job.lease_token);
          if (st.step() != SQLITE_DONE) return error("heartbeat");
          if (sqlite3_changes(db_) == 0) return lease_lost(job);
          return Status::Ok();
        },
        Sync::relaxed));
    job.lease_expires = from_ms(until);
    return Status::Ok();
  }

  Status do_put_record(const JobRecord& record) override { return do_put_record_tagged(record, {}); }

  // The record and its tags in one transaction.
  Status do_put_record_tagged(const JobRecord& record, const std::vector<std::string>& tags) override {
    std::int64_t at = to_ms(record.updated_at);
    return write_tx([&]() -> Status {
      Stmt st(
          cached(fmt::format("INSERT OR REPLACE INTO {}_records(id, state, updated, body) VALUES(?, ?, ?, ?)", t_)));
      if (!st.ok()) return error("prepare put_record");
      st.bind(1, record.id).bind(2, record.state).bind(3, at).bind_blob(4, record.body);
      if (st.step() != SQLITE_DONE) return error("put_record");
      return replace_tags(record.id, tags);
    });
  }

  // Inside a transaction: the tags of record id become `tags`.
  Status replace_tags(std::string_view id, const std::vector<std::string>& tags) {
    Stmt del(cached(fmt::format("DELETE FROM {}_record_tags WHERE id = ?", t_)));
    if (!del.ok()) return error("prepare tag removal");
    del.bind(1, id);
    if (del.step() != SQLITE_DONE) return error("tag removal");
    for (const auto& t : tags) {
      Stmt ins(cached(fmt::format("INSERT OR IGNORE INTO {}_record_tags(tag, id) VALUES(?, ?)", t_)));
      if (!ins.ok()) return error("prepare tag insert");
      ins.bind(1, t).bind(2, id);
      if (ins.step() != SQLITE_DONE) return error("tag insert");
    }
    return Status::Ok();
  }

  Status do_create_record(const JobRecord& record) override {
    std::int64_t at = to_ms(record.updated_at);
    std::lock_guard lock(mu_);
    // The primary key makes the insert the atomic test-and-set across
    // processes; OR IGNORE turns "exists" into zero changes.
    Stmt st(db_, fmt::format("INSERT OR IGNORE INTO {}_records(id, state, updated, body) VALUES(?, ?, ?, ?)", t_));
    st.bind(1, record.id).bind(2, record.state).bind(3, at).bind_blob(4, record.body);
    if (step_retry(st) != SQLITE_DONE) return error("create_record");
    if (sqlite3_changes(db_) == 0) return record_exists(record.id);
    return Status::Ok();
  }

  // A prepared statement for sql, prepared once per connection (null if it
  // fails). Caller holds mu_.
  sqlite3_stmt* cached(const std::string& sql) {
    auto it = cache_.find(sql);
    if (it != cache_.end()) return it->second;
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v3(db_, sql.c_str(), -1, SQLITE_PREPARE_PERSISTENT, &st, nullptr) != SQLITE_OK) {
      sqlite3_finalize(st);
      return nullptr;
    }
    cache_.emplace(sql, st);
    return st;
  }

  // Inside a transaction.
  Status insert_job(std::string_view id, std::string_view payload, std::int64_t at) {
    Stmt st(cached(fmt::format("INSERT INTO {}_jobs(id, payload, state, at) VALUES(?, ?, {}, ?)", t_, kReady)));
    if (!st.ok()) return error("prepare enqueue");
    st.bind(1, id).bind_blob(2, payload).bind(3, at);
    int rc = st.step();
    if (rc == SQLITE_CONSTRAINT) return already_queued(id);
    if (rc != SQLITE_DONE) return error("enqueue");
    return Status::Ok();
  }

  // ack's work; inside a transaction.
  Status delete_job(const LeasedJob& job) {
    Stmt del(cached(fmt::format("DELETE FROM {}_jobs WHERE id = ? AND token = ? AND state != {}", t_, kDead)));
    if (!del.ok()) return error("prepare ack");
    del.bind(1, job.id).bind(2, job.lease_token);
    if (del.step() != SQLITE_DONE) return error("ack");
    if (sqlite3_changes(db_) == 0) {
      Stmt chk(cached(fmt::format("SELECT 1 FROM {}_jobs WHERE id = ?", t_)));
      chk.bind(1, job.id);
      int rc = chk.step();
      if (rc == SQLITE_ROW) return lease_lost(job);
      if (rc != SQLITE_DONE) return error("ack check");
    }
    return Status::Ok();
  }

  // One caller's part of a group transaction.
  struct TxOp {
    const std::function<Status()>* body;
    Sync sync;
    Status result;
    bool done = false;
  };

  // Runs body inside a write transaction, together with the bodies other
  // threads submit at the same time (group commit, see the file comment);
  // returns body's result once the transaction is committed (fsynced unless
  // every body of the group is Sync::relaxed), or the error that prevented
  // the commit.
  Status write_tx(const std::function<Status()>& body, Sync sync = Sync::durable) {
    TxOp op{&body, sync, Status::Ok()};
    std::unique_lock g(group_mu_);
    pending_.push_back(&op);
    while (!op.done) {
      if (leading_) {
        group_cv_.wait(g);
        continue;
      }
      leading_ = true;
      std::vector<TxOp*> group;
      group.swap(pending_);
      g.unlock();
      run_group(group);
      g.lock();
      for (TxOp* o : group) o->done = true;
      leading_ = false;
      group_cv_.notify_all();
    }
    return op.result;
  }

  // The leader's work: one transaction for the whole group. A body that fails
  // with an error other than an outcome (already_exists, conflict, ...) rolls
  // the transaction back; it gets its error and the others run again.
  void run_group(std::vector<TxOp*> todo) {
    std::lock_guard lock(mu_);
    // A group of relaxed bodies commits without the fsync; the connection is
    // back at FULL before mu_ is released, for every other use of it.
    const bool relax = synchronous_ == "FULL" &&
                       std::none_of(todo.begin(), todo.end(), [](const TxOp* o) { return o->sync == Sync::durable; });
    struct Relaxed {
      SqliteQueue* q;
      bool on;
      ~Relaxed() {
        if (on && sqlite3_exec(q->db_, "PRAGMA synchronous=FULL", nullptr, nullptr, nullptr) != SQLITE_OK)
          MS_LOG(error, "queue", "sqlite queue '{}': cannot restore synchronous=FULL: {}", q->path_,
                 sqlite3_errmsg(q->db_));
      }
    } relaxed{this, relax && sqlite3_exec(db_, "PRAGMA synchronous=NORMAL", nullptr, nullptr, nullptr) == SQLITE_OK};
    while (!todo.empty()) {
      Status b = begin();
      if (!b.ok()) {
        for (TxOp* o : todo) o->result = b;
        return;
      }
      std::size_t failed = todo.size();
      for (std::size_t i = 0; i < todo.size(); ++i) {
        todo[i]->result = (*todo[i]->body)();
        if (!is_outcome(todo[i]->result)) {
          failed = i;
          break;
        }
      }
      if (failed < todo.size()) {
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        todo.erase(todo.begin() + static_cast<std::ptrdiff_t>(failed));
        continue;
      }
      Status c = commit();
      if (!c.ok())
        for (TxOp* o : todo) o->result = c;
      return;
    }
  }

  // Moves leases that ran out; inside a transaction.
  Result<std::size_t> requeue_expired_tx(std::int64_t now) {
    Stmt sel(cached(fmt::format("SELECT id, attempts FROM {}_jobs WHERE state = {} AND at <= ?", t_, kLeased)));
    if (!sel.ok()) return error("prepare requeue");
    sel.bind(1, now);
    std::vector<std::pair<std::string, std::int64_t>> expired;
    int rc;
    while ((rc = sel.step()) == SQLITE_ROW) expired.emplace_back(sel.text(0), sel.i64(1));
    if (rc != SQLITE_DONE) return error("requeue select");
    for (auto& [id, attempts] : expired) {
      bool dead = attempts >= options_.max_attempts;
      Stmt up(
          cached(fmt::format("UPDATE {}_jobs SET state = ?, at = ?, token = '',"
                             " last_error = CASE WHEN ? AND last_error = '' THEN 'lease expired' ELSE"
                             " last_error END WHERE id = ?",
                             t_)));
      up.bind(1, static_cast<std::int64_t>(dead ? kDead : kReady)).bind(2, now).bind(3, std::int64_t{dead});
      up.bind(4, id);
      if (up.step() != SQLITE_DONE) return error("requeue update");
      if (dead) {
        MS_LOGF(warn, "queue", job_field(id), "job {}: lease expired after attempt {}, dead-lettered", id, attempts);
      } else {
        MS_LOGF(info, "queue", job_field(id), "job {}: lease expired after attempt {}, re-queued", id, attempts);
      }
    }
    return expired.size();
  }

  // A single-statement step, retried while another process holds the lock
  // longer than busy_timeout.
  int step_retry(Stmt& st) {
    int rc;
    for (int i = 0; i < 100; ++i) {
      rc = st.step();
      if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) return rc;
      sqlite3_reset(st.get());
    }
    return rc;
  }

  Status begin() {
    for (int i = 0; i < 100; ++i) {
      int rc = sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr);
      if (rc == SQLITE_OK) return Status::Ok();
      if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) return error("begin");
    }
    return Status::Unavailable(fmt::format("queue file '{}' stays locked by another process", path_));
  }
  Status commit() {
    for (int i = 0; i < 100; ++i) {
      int rc = sqlite3_exec(db_, "COMMIT", nullptr, nullptr, nullptr);
      if (rc == SQLITE_OK) return Status::Ok();
      if (rc != SQLITE_BUSY) {
        Status s = error("commit");
        sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
        return s;
      }
    }
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return Status::Unavailable(fmt::format("queue file '{}' stays locked by another process", path_));
  }
  Status rollback(Status s) {
    sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    return s;
  }
  Status exec(const std::string& sql) {
    for (int i = 0; i < 100; ++i) {
      int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr);
      if (rc == SQLITE_OK) return Status::Ok();
      if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) return error("setup");
    }
    return Status::Unavailable(fmt::format("queue file '{}' stays locked by another process", path_));
  }
  Status error(std::string_view what) const {
    int rc = sqlite3_errcode(db_);
    std::string msg = fmt::format("sqlite queue '{}': {}: {}", path_, what, sqlite3_errmsg(db_));
    if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) return Status::Unavailable(msg);
    if (rc == SQLITE_FULL || rc == SQLITE_IOERR) return Status::IoError(msg);
    if (rc == SQLITE_READONLY || rc == SQLITE_PERM || rc == SQLITE_CANTOPEN) return Status::PermissionDenied(msg);
    return Status::Internal(msg);
  }

  sqlite3* db_;
  std::string path_;
  QueueOptions options_;
  std::string t_;                                         // table prefix
  std::string synchronous_;                               // "FULL" or "NORMAL"
  std::mutex mu_;                                         // the connection; held by the leader for a whole group
  std::unordered_map<std::string, sqlite3_stmt*> cache_;  // under mu_
  std::mutex group_mu_;                                   // pending_, leading_, TxOp::done
  std::condition_variable group_cv_;
  std::vector<TxOp*> pending_;
  bool leading_ = false;
};

}  // namespace
}  // namespace mediastore::detail

namespace mediastore {

Result<std::shared_ptr<JobQueue>> make_sqlite_queue(const std::string& path_in, QueueOptions options) {
  MS_RETURN_IF_ERROR(detail::validate_queue_name(options.name));
  std::string path = path_in;
  if (path.rfind("sqlite://", 0) == 0) path = path.substr(9);
  std::string synchronous = "FULL";
  if (auto q = path.find('?'); q != std::string::npos) {
    std::string query = path.substr(q + 1);
    path.resize(q);
    if (query == "synchronous=full") {
      synchronous = "FULL";
    } else if (query == "synchronous=normal") {
      synchronous = "NORMAL";
    } else {
      return Status::InvalidArgument(fmt::format(
          "MEDIA_QUEUE_URL: sqlite queue option '{}' is not supported (synchronous=full or synchronous=normal)",
          query));
    }
  }
  if (path.empty()) return Status::InvalidArgument("MEDIA_QUEUE_URL: empty sqlite queue path");
  {
    // Absolute once, so the log says which file every process uses.
    std::error_code ec;
    auto abs = std::filesystem::absolute(path, ec);
    if (!ec) path = abs.lexically_normal().string();
    auto parent = std::filesystem::path(path).parent_path();
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  }
  sqlite3* db = nullptr;
  int rc =
      sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = fmt::format("cannot open sqlite queue '{}': {}", path, db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close_v2(db);
    return Status::IoError(msg);
  }
  sqlite3_busy_timeout(db, 5000);
  auto q = std::make_shared<detail::SqliteQueue>(db, path, std::move(options), synchronous);
  MS_RETURN_IF_ERROR(q->init());
  MS_LOG(info, "queue", "sqlite queue '{}' open (synchronous={})", path, synchronous);
  return std::shared_ptr<JobQueue>(std::move(q));
}

}  // namespace mediastore
