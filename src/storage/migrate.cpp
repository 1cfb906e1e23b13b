// migrate(): copies every object from one backend to another, verified and
// resumable (see include/mediastore/migrate.hpp for the contract).
//
// The calling thread lists the source page by page and feeds a bounded queue;
// `concurrency` workers take objects from it. Each object is staged (memory
// up to memory_stage_limit, else an unlinked temp file) while its sha256 is
// computed, put into the destination, read back and hashed again; only a
// match is journalled and counted. The journal (storage/migrate_journal.hpp)
// makes a restarted run skip what a previous one verified.
#include "mediastore/migrate.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <exception>
#include <mutex>
#include <random>
#include <thread>

#include "core/crypto.hpp"
#include "core/log_internal.hpp"
#include "storage/file_util.hpp"
#include "storage/migrate_journal.hpp"

namespace mediastore {

const char* migrate_action_name(MigrateAction action) noexcept {
  switch (action) {
    case MigrateAction::copied: return "copied";
    case MigrateAction::skipped_journal: return "skipped_journal";
    case MigrateAction::skipped_same: return "skipped_same";
    case MigrateAction::planned: return "planned";
    case MigrateAction::failed: return "failed";
  }
  return "unknown";
}

namespace detail {
namespace {

// Hashes (and counts) everything written, optionally passing it on.
class HashingSink final : public ByteSink {
 public:
  explicit HashingSink(ByteSink* next = nullptr) : next_(next) {}
  Status write(const void* data, std::size_t n) override {
    hasher_.update(data, n);
    bytes_ += n;
    return next_ ? next_->write(data, n) : Status::Ok();
  }
  Status reset() override {
    hasher_.finish();  // discards and restarts
    bytes_ = 0;
    return next_ ? next_->reset() : Status::Ok();
  }
  std::string hex() { return hex_lower(hasher_.finish()); }
  std::uint64_t bytes() const { return bytes_; }

 private:
  ByteSink* next_;
  Hasher hasher_;
  std::uint64_t bytes_ = 0;
};

// Holds one object between reading the source and writing the destination:
// in memory up to `limit` bytes, then in an unlinked temp file.
class StageSink final : public ByteSink {
 public:
  StageSink(std::uint64_t limit, std::string dir) : limit_(limit), dir_(std::move(dir)) {}
  Status write(const void* data, std::size_t n) override {
    if (!fd_.valid() && mem_.size() + n <= limit_) {
      mem_.append(static_cast<const char*>(data), n);
      size_ += n;
      return Status::Ok();
    }
    if (!fd_.valid()) {
      MS_RETURN_IF_ERROR(open_temp());
      MS_RETURN_IF_ERROR(write_all(fd_.get(), mem_.data(), mem_.size(), what()));
      mem_.clear();
      mem_.shrink_to_fit();
    }
    MS_RETURN_IF_ERROR(write_all(fd_.get(), data, n, what()));
    size_ += n;
    return Status::Ok();
  }
  Status reset() override {
    mem_.clear();
    size_ = 0;
    if (fd_.valid() && (::ftruncate(fd_.get(), 0) != 0 || ::lseek(fd_.get(), 0, SEEK_SET) < 0))
      return errno_status(errno, what());
    return Status::Ok();
  }
  // A source over the staged bytes; valid while this sink lives.
  std::unique_ptr<ByteSource> source() const {
    if (fd_.valid()) return std::make_unique<FdSource>(fd_.get(), size_, "cannot read the migration staging file");
    return std::make_unique<MemorySource>(mem_);
  }
  std::uint64_t size() const { return size_; }

 private:
  std::string what() const { return fmt::format("cannot write a staging file in '{}'", dir_); }
  Status open_temp() {
    int fd = ::open(dir_.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd < 0) {
      // Filesystems without O_TMPFILE: a named file, unlinked at once.
      std::string tmpl = dir_ + "/mediastore-migrate-XXXXXX";
      fd = ::mkostemp(tmpl.data(), O_CLOEXEC);
      if (fd < 0) return errno_status(errno, fmt::format("cannot create a staging file in '{}'", dir_));
      ::unlink(tmpl.c_str());
    }
    fd_.reset(fd);
    return Status::Ok();
  }

  std::uint64_t limit_;
  std::string dir_;
  std::string mem_;
  UniqueFd fd_;
  std::uint64_t size_ = 0;
};

std::string ascii_lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string effective_type(const std::string& t) { return t.empty() ? "application/octet-stream" : t; }

Metadata normalised_meta(const Metadata& m) {
  Metadata out;
  for (const auto& [k, v] : m) out[ascii_lower(k)] = v;
  return out;
}

// Empty when the metadata that migration carries over is equal, else what
// differs.
std::string metadata_difference(const ObjectInfo& src, const ObjectInfo& dst) {
  if (effective_type(src.content_type) != effective_type(dst.content_type))
    return fmt::format("content type '{}' != '{}'", dst.content_type, src.content_type);
  if (src.cache_control != dst.cache_control)
    return fmt::format("cache control '{}' != '{}'", dst.cache_control, src.cache_control);
  if (src.content_disposition != dst.content_disposition)
    return fmt::format("content disposition '{}' != '{}'", dst.content_disposition, src.content_disposition);
  if (normalised_meta(src.user_metadata) != normalised_meta(dst.user_metadata)) return "user metadata differs";
  return {};
}

struct Outcome {
  MigrateAction action;
  std::uint64_t size = 0;
};

class Run {
 public:
  Run(StorageBackend& from, StorageBackend& to, const MigrateOptions& opt, Journal* journal, std::string temp_dir)
      : from_(from), to_(to), opt_(opt), journal_(journal), temp_dir_(std::move(temp_dir)) {}

  MigrateReport run() {
    start_ = std::chrono::steady_clock::now();
    std::vector<std::thread> workers;
    try {
      for (int i = 0; i < opt_.concurrency; ++i) workers.emplace_back([this] { work(); });
    } catch (const std::exception& e) {
      // Fewer threads than asked for (resource limits): go on with those.
      MS_LOG(warn, "migrate", "started {} of {} worker threads: {}", workers.size(), opt_.concurrency, e.what());
    }
    if (workers.empty()) {
      report_.error = Status::Internal("migrate: cannot start any worker thread");
      return std::move(report_);
    }
    list_source();
    {
      std::lock_guard<std::mutex> lock(qmu_);
      listing_over_ = true;
    }
    q_not_empty_.notify_all();
    for (auto& t : workers) t.join();

    if (journal_) {
      Status st = journal_->flush();
      if (!st.ok() && report_.error.ok()) report_.error = st;
    }
    report_.cancelled = opt_.stop && opt_.stop->load();
    report_.counts.elapsed = std::chrono::steady_clock::now() - start_;
    std::sort(report_.failures.begin(), report_.failures.end(),
              [](const MigrateFailure& a, const MigrateFailure& b) { return a.key < b.key; });
    std::sort(report_.planned.begin(), report_.planned.end());
    MS_LOG(info, "migrate", "{} -> {}: listed {}, copied {}, skipped {}, failed {}, deleted {}{}", from_.name(),
           to_.name(), report_.counts.listed, report_.counts.copied, report_.counts.skipped, report_.counts.failed,
           report_.counts.deleted, report_.cancelled ? " (stopped)" : "");
    return std::move(report_);
  }

 private:
  bool stopping() const { return (opt_.stop && opt_.stop->load()) || fatal_.load(); }

  // ---- listing (calling thread) ----

  void list_source() {
    ListOptions lo;
    lo.prefix = opt_.prefix;
    lo.max_keys = 1000;
    while (!stopping()) {
      Result<ListPage> page = Status::Internal("not listed");
      for (int attempt = 1;; ++attempt) {
        page = from_.list(lo);
        if (page.ok() || !page.status().transient() || attempt >= opt_.attempts || stopping()) break;
        backoff(attempt);
      }
      if (!page.ok()) {
        fail_run(page.status().with_context("listing the source"));
        return;
      }
      {
        std::lock_guard<std::mutex> lock(mu_);
        for (const auto& o : page->objects) {
          ++report_.counts.listed;
          report_.counts.bytes_listed += o.size;
        }
        if (page->next_page_token.empty()) report_.counts.listing_done = true;
        notify_progress_locked();
      }
      for (auto& o : page->objects) {
        std::unique_lock<std::mutex> lock(qmu_);
        q_not_full_.wait(lock, [&] { return queue_.size() < queue_limit() || stopping(); });
        if (stopping()) return;
        queue_.push_back(std::move(o));
        lock.unlock();
        q_not_empty_.notify_one();
      }
      if (page->next_page_token.empty()) return;
      lo.page_token = page->next_page_token;
    }
  }

  std::size_t queue_limit() const { return static_cast<std::size_t>(opt_.concurrency) * 4 + 16; }

  void fail_run(const Status& st) {
    std::lock_guard<std::mutex> lock(mu_);
    if (report_.error.ok()) report_.error = st;
    MS_LOG(error, "migrate", "{}", st.to_string());
  }

  // ---- workers ----

  void work() {
    while (true) {
      ObjectInfo item;
      {
        std::unique_lock<std::mutex> lock(qmu_);
        q_not_empty_.wait(lock, [&] { return !queue_.empty() || listing_over_ || stopping(); });
        if (stopping() || queue_.empty()) {
          q_not_full_.notify_all();
          return;
        }
        item = std::move(queue_.front());
        queue_.pop_front();
      }
      q_not_full_.notify_one();
      handle(item);
    }
  }

  void handle(const ObjectInfo& listed) {
    Result<Outcome> out = Status::Internal("not attempted");
    for (int attempt = 1;; ++attempt) {
      out = process(listed);
      if (out.ok() || !out.status().transient() || attempt >= opt_.attempts || stopping()) break;
      MS_LOG(warn, "migrate", "'{}': {} (attempt {} of {}, retrying)", listed.key, out.status().to_string(), attempt,
             opt_.attempts);
      backoff(attempt);
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (!out.ok()) {
      // An object interrupted by stop is neither done nor failed: the next
      // run does it.
      if (stopping() && out.status().is(ErrorCode::cancelled)) return;
      ++report_.counts.failed;
      report_.failures.push_back({listed.key, out.status()});
      MS_LOG(warn, "migrate", "'{}' failed: {}", listed.key, out.status().to_string());
      if (opt_.on_object) opt_.on_object(listed.key, listed.size, MigrateAction::failed, out.status());
      notify_progress_locked();
      return;
    }
    switch (out->action) {
      case MigrateAction::copied:
        ++report_.counts.copied;
        report_.counts.bytes += out->size;
        break;
      case MigrateAction::skipped_journal:
      case MigrateAction::skipped_same: ++report_.counts.skipped; break;
      case MigrateAction::planned:
        ++report_.counts.planned;
        report_.counts.bytes += out->size;
        report_.planned.push_back(listed.key);
        break;
      case MigrateAction::failed: break;
    }
    if (opt_.on_object) opt_.on_object(listed.key, out->size, out->action, Status::Ok());
    notify_progress_locked();
  }

  void notify_progress_locked() {
    if (!opt_.progress) return;
    MigrateProgress p = report_.counts;
    p.elapsed = std::chrono::steady_clock::now() - start_;
    opt_.progress(p);
  }

  void backoff(int attempt) {
    // Full jitter over 100 ms x 2^attempt, cut short by stop.
    thread_local std::mt19937 rng{std::random_device{}()};
    const int cap_ms = 100 << std::min(attempt, 6);
    auto wait = std::chrono::milliseconds(std::uniform_int_distribution<int>(cap_ms / 4, cap_ms)(rng));
    const auto until = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < until && !stopping())
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }

  ProgressFn cancel_fn() const {
    return [this](std::uint64_t, std::uint64_t) { return !stopping(); };
  }

  // Streams `key` of `backend` through a hashing sink; returns (bytes, hex).
  Result<std::pair<std::uint64_t, std::string>> hash_object(StorageBackend& backend, const std::string& key,
                                                            const char* which) {
    HashingSink sink;
    Status st = backend.read(key, sink, std::nullopt, cancel_fn());
    if (!st.ok()) return st.with_context(fmt::format("reading '{}' from the {}", key, which));
    return std::make_pair(sink.bytes(), sink.hex());
  }

  Status delete_source(const std::string& key) {
    Status st = from_.remove(key);
    if (!st.ok())
      return st.with_context(fmt::format("'{}' was copied and verified, but deleting the source failed", key));
    std::lock_guard<std::mutex> lock(mu_);
    ++report_.counts.deleted;
    return Status::Ok();
  }

  Status journal_record(const std::string& key, std::uint64_t size, const std::string& etag, const std::string& sha) {
    if (!journal_ || opt_.dry_run) return Status::Ok();
    Status st = journal_->record(key, size, etag, sha);
    if (!st.ok()) {
      // Without a journal the run would keep going but lose its resumability:
      // stop instead.
      fail_run(st);
      fatal_ = true;
      q_not_empty_.notify_all();
      q_not_full_.notify_all();
    }
    return st;
  }

  Result<Outcome> process(const ObjectInfo& listed) {
    const std::string& key = listed.key;
    if (stopping()) return Status::Cancelled(fmt::format("'{}' not started: stopping", key));

    // 1. The journal says it is done (same size and etag as now). Listings
    // usually carry the etag, which saves a stat per finished object.
    std::optional<ObjectInfo> src;
    std::string etag = listed.etag;
    if (journal_ && etag.empty()) {
      auto s = from_.stat(key);
      if (!s.ok()) return s.status().with_context(fmt::format("stat of source '{}'", key));
      src = std::move(*s);
      etag = src->etag;
    }
    const std::uint64_t listed_size = src ? src->size : listed.size;
    if (journal_ && !etag.empty()) {
      auto entry = journal_->find(key);
      if (entry && entry->size == listed_size && entry->etag == etag) {
        bool in_place = true;
        if (opt_.delete_source && !opt_.dry_run) {
          // Delete only what the destination still holds; if it lost the
          // object, copy it again below.
          auto d = to_.stat(key);
          in_place = d.ok() && d->size == listed_size;
          if (in_place) MS_RETURN_IF_ERROR(delete_source(key));
        }
        if (in_place) return Outcome{MigrateAction::skipped_journal, listed_size};
      }
    }
    if (!src) {
      auto s = from_.stat(key);
      if (!s.ok()) return s.status().with_context(fmt::format("stat of source '{}'", key));
      src = std::move(*s);
    }

    // 2. The destination already holds the same object.
    auto dst = to_.stat(key);
    if (!dst.ok() && !dst.status().is(ErrorCode::not_found))
      return dst.status().with_context(fmt::format("stat of destination '{}'", key));
    if (dst.ok() && dst->size == src->size && metadata_difference(*src, *dst).empty()) {
      auto sh = hash_object(from_, key, "source");
      if (!sh.ok()) return sh.status();
      auto dh = hash_object(to_, key, "destination");
      if (!dh.ok()) return dh.status();
      if (sh->first == dh->first && sh->second == dh->second) {
        if (!opt_.dry_run) {
          MS_RETURN_IF_ERROR(journal_record(key, src->size, src->etag, sh->second));
          if (opt_.delete_source) MS_RETURN_IF_ERROR(delete_source(key));
        }
        return Outcome{MigrateAction::skipped_same, src->size};
      }
    }
    if (opt_.dry_run) return Outcome{MigrateAction::planned, src->size};

    // 3. Copy: stage + hash, put, read back + hash, compare.
    StageSink stage(opt_.memory_stage_limit, temp_dir_);
    HashingSink src_hash(&stage);
    Status st = from_.read(key, src_hash, std::nullopt, cancel_fn());
    if (!st.ok()) return st.with_context(fmt::format("reading source '{}'", key));
    const std::uint64_t size = src_hash.bytes();
    const std::string sha = src_hash.hex();
    if (size != src->size)
      return Status::Conflict(
          fmt::format("source '{}' changed while it was copied ({} bytes listed, {} read)", key, src->size, size));

    PutOptions po;
    po.content_type = effective_type(src->content_type);
    po.cache_control = src->cache_control;
    po.content_disposition = src->content_disposition;
    po.user_metadata = src->user_metadata;
    po.progress = cancel_fn();
    auto body = stage.source();
    st = to_.put(key, *body, po);
    if (!st.ok()) return st.with_context(fmt::format("writing destination '{}'", key));

    auto back = to_.stat(key);
    if (!back.ok()) return back.status().with_context(fmt::format("verifying destination '{}'", key));
    if (back->size != size)
      return Status::Conflict(
          fmt::format("verification of '{}' failed: destination has {} bytes, source {}", key, back->size, size));
    if (auto diff = metadata_difference(*src, *back); !diff.empty())
      return Status::Conflict(fmt::format("verification of '{}' failed: destination {}", key, diff));
    auto dh = hash_object(to_, key, "destination");
    if (!dh.ok()) return dh.status().with_context("verifying");
    if (dh->first != size || dh->second != sha)
      return Status::Conflict(fmt::format(
          "verification of '{}' failed: destination reads back {} bytes with sha256 {}, source {} bytes with sha256 {}",
          key, dh->first, dh->second, size, sha));

    MS_RETURN_IF_ERROR(journal_record(key, size, src->etag, sha));
    if (opt_.delete_source) MS_RETURN_IF_ERROR(delete_source(key));
    MS_LOG(debug, "migrate", "copied '{}' ({} bytes, sha256 {})", key, size, sha);
    return Outcome{MigrateAction::copied, size};
  }

  StorageBackend& from_;
  StorageBackend& to_;
  const MigrateOptions& opt_;
  Journal* journal_;
  std::string temp_dir_;
  std::chrono::steady_clock::time_point start_;
  std::atomic<bool> fatal_{false};

  std::mutex mu_;  // report_ and the callbacks
  MigrateReport report_;

  std::mutex qmu_;  // queue_ and listing_over_
  std::condition_variable q_not_empty_;
  std::condition_variable q_not_full_;
  std::deque<ObjectInfo> queue_;
  bool listing_over_ = false;
};

}  // namespace
}  // namespace detail

Result<MigrateReport> migrate(StorageBackend& from, StorageBackend& to, const MigrateOptions& options) {
  if (options.concurrency < 1 || options.concurrency > 256)
    return Status::InvalidArgument(fmt::format("migrate: concurrency must be 1..256, got {}", options.concurrency));
  if (options.attempts < 1 || options.attempts > 20)
    return Status::InvalidArgument(fmt::format("migrate: attempts must be 1..20, got {}", options.attempts));
  if (!options.prefix.empty()) {
    // A prefix is a key start; it must not try to escape like a bad key.
    Status st = validate_key(options.prefix.back() == '/' ? options.prefix.substr(0, options.prefix.size() - 1)
                                                          : options.prefix);
    if (!st.ok()) return Status::InvalidArgument(fmt::format("migrate: bad prefix '{}'", options.prefix));
  }
  if (&from == &to) return Status::InvalidArgument("migrate: source and destination are the same backend object");

  std::string temp_dir = options.temp_dir;
  if (temp_dir.empty()) {
    const char* t = std::getenv("TMPDIR");
    temp_dir = t && *t ? t : "/tmp";
  }
  struct stat st {};
  if (!options.dry_run && (::stat(temp_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)))
    return Status::InvalidArgument(fmt::format("migrate: staging folder '{}' is not a folder", temp_dir));

  std::unique_ptr<detail::Journal> journal;
  if (!options.journal_path.empty()) {
    auto j = detail::Journal::open(options.journal_path, options.journal_scope, options.dry_run);
    if (!j.ok()) return j.status();
    journal = std::move(*j);
  }
  detail::Run run(from, to, options, journal.get(), temp_dir);
  return run.run();
}

}  // namespace mediastore
