// In-process queue: one mutex, one condition variable, ordered sets of ready
// (by available time) and leased (by lease expiry) jobs.
#include <fmt/format.h>

#include <condition_variable>
#include <initializer_list>
#include <mutex>
#include <set>
#include <unordered_map>

#include "core/log_internal.hpp"
#include "queue/common.hpp"

namespace mediastore::detail {
namespace {

enum class JobState { ready, leased, dead };

struct Entry {
  std::string payload;
  JobState state = JobState::ready;
  int attempts = 0;
  std::int64_t available_at = 0;  // ready: when; leased: lease expiry; dead: died at
  std::uint64_t seq = 0;
  std::string token;
  std::string last_error;
};

// (time, seq, id)
using Slot = std::tuple<std::int64_t, std::uint64_t, std::string>;

class MemoryQueue final : public JobQueue {
 public:
  explicit MemoryQueue(QueueOptions options) : options_(std::move(options)) {}

  std::string backend_name() const override { return "memory"; }
  const QueueOptions& options() const override { return options_; }

  Status ack(const LeasedJob& job) override {
    std::lock_guard lock(mu_);
    return ack_locked(job);
  }

  std::vector<Status> ack_batch(const std::vector<LeasedJob>& jobs) override {
    std::vector<Status> out;
    out.reserve(jobs.size());
    std::lock_guard lock(mu_);
    for (const auto& j : jobs) out.push_back(ack_locked(j));
    return out;
  }

  Result<NackOutcome> nack(const LeasedJob& job, SystemTime retry_at, std::string_view error) override {
    NackOutcome outcome;
    {
      std::lock_guard lock(mu_);
      Entry* e = held(job);
      if (!e) return lease_lost(job);
      leased_.erase(Slot{e->available_at, e->seq, job.id});
      e->last_error = std::string(error);
      e->token.clear();
      e->seq = ++seq_;
      if (e->attempts >= options_.max_attempts) {
        e->state = JobState::dead;
        e->available_at = now_ms();
        dead_.emplace(e->available_at, e->seq, job.id);
        outcome = NackOutcome::dead_lettered;
      } else {
        e->state = JobState::ready;
        e->available_at = to_ms(retry_at);
        ready_.emplace(e->available_at, e->seq, job.id);
        outcome = NackOutcome::retry_scheduled;
      }
    }
    cv_.notify_one();
    return outcome;
  }

  Result<bool> contains(std::string_view id) override {
    std::lock_guard lock(mu_);
    return jobs_.count(std::string(id)) > 0;
  }

  Status remove(std::string_view id) override {
    std::lock_guard lock(mu_);
    auto it = jobs_.find(std::string(id));
    if (it == jobs_.end()) return Status::Ok();
    Entry& e = it->second;
    Slot s{e.available_at, e.seq, it->first};
    ready_.erase(s);
    leased_.erase(s);
    dead_.erase(s);
    jobs_.erase(it);
    return Status::Ok();
  }

  Result<std::size_t> requeue_expired() override {
    std::size_t n;
    {
      std::lock_guard lock(mu_);
      n = requeue_expired_locked(now_ms());
    }
    if (n) cv_.notify_all();
    return n;
  }

  Result<std::vector<DeadJob>> dead_letters(std::size_t limit) override {
    std::lock_guard lock(mu_);
    std::vector<DeadJob> out;
    for (auto& s : dead_) {
      if (out.size() >= limit) break;
      const Entry& e = jobs_.at(std::get<2>(s));
      out.push_back(DeadJob{std::get<2>(s), e.payload, e.attempts, e.last_error, from_ms(e.available_at)});
    }
    return out;
  }

  Result<QueueStats> stats() override {
    std::lock_guard lock(mu_);
    QueueStats st;
    std::int64_t now = now_ms();
    for (auto& s : ready_) (std::get<0>(s) <= now ? st.ready : st.delayed)++;
    st.in_flight = leased_.size();
    st.dead = dead_.size();
    return st;
  }

  Result<JobRecord> get_record(std::string_view id) override {
    std::lock_guard lock(mu_);
    auto it = records_.find(std::string(id));
    if (it == records_.end()) return no_record(id);
    return it->second;
  }

  Result<std::vector<JobRecord>> list_records(std::string_view state, SystemTime updated_before,
                                              std::size_t limit) override {
    std::vector<JobRecord> out;
    {
      std::lock_guard lock(mu_);
      for (auto& [id, r] : records_)
        if (r.state == state && r.updated_at < updated_before) out.push_back(r);
    }
    std::sort(out.begin(), out.end(),
              [](const JobRecord& a, const JobRecord& b) { return a.updated_at < b.updated_at; });
    if (out.size() > limit) out.resize(limit);
    return out;
  }

  // A scan of every record: the memory queue holds one process's records,
  // and keeps no time index per state.
  Result<std::vector<JobRecord>> list_records_since(std::string_view state, SystemTime updated_since,
                                                    std::size_t limit) override {
    std::vector<JobRecord> out;
    {
      std::lock_guard lock(mu_);
      for (auto& [id, r] : records_)
        if (r.state == state && r.updated_at >= updated_since) out.push_back(r);
    }
    return oldest_first(std::move(out), limit);
  }

  Result<std::vector<JobRecord>> list_records_by_tag(std::string_view tag, std::size_t limit) override {
    std::vector<JobRecord> out;
    {
      std::lock_guard lock(mu_);
      auto t = tags_.find(std::string(tag));
      if (t != tags_.end())
        for (auto& id : t->second)
          if (auto r = records_.find(id); r != records_.end()) out.push_back(r->second);
    }
    return oldest_first(std::move(out), limit);
  }

  Result<std::map<std::string, std::uint64_t>> count_records() override {
    std::lock_guard lock(mu_);
    std::map<std::string, std::uint64_t> out;
    for (auto& [id, r] : records_) out[r.state]++;
    return out;
  }

  Status remove_record(std::string_view id) override {
    std::lock_guard lock(mu_);
    records_.erase(std::string(id));
    set_tags_locked(std::string(id), {});
    return Status::Ok();
  }

 private:
  // ---- JobQueue hooks: the public calls check and default the arguments ----

  Status do_enqueue(std::string_view id, std::string_view payload, SystemTime not_before) override {
    std::int64_t at = to_ms_or_now(not_before);
    {
      std::lock_guard lock(mu_);
      MS_RETURN_IF_ERROR(enqueue_locked(id, payload, at));
    }
    cv_.notify_one();
    return Status::Ok();
  }

  void do_enqueue_batch(const std::vector<NewJob>& jobs, std::vector<Status>& results) override {
    std::int64_t now = now_ms();
    {
      std::lock_guard lock(mu_);
      for (std::size_t i = 0; i < jobs.size(); ++i)
        if (results[i].ok())
          results[i] = enqueue_locked(jobs[i].id, jobs[i].payload,
                                      jobs[i].not_before == SystemTime{} ? now : to_ms(jobs[i].not_before));
    }
    cv_.notify_all();
  }

  Result<std::vector<LeasedJob>> do_lease(std::size_t max_jobs, std::chrono::milliseconds lease_for,
                                          std::chrono::milliseconds wait) override {
    std::vector<LeasedJob> out;
    auto deadline = std::chrono::steady_clock::now() + wait;
    std::unique_lock lock(mu_);
    for (;;) {
      std::int64_t now = now_ms();
      requeue_expired_locked(now);
      while (out.size() < max_jobs && !ready_.empty() && std::get<0>(*ready_.begin()) <= now) {
        auto node = ready_.extract(ready_.begin());
        Entry& e = jobs_.at(std::get<2>(node.value()));
        e.state = JobState::leased;
        e.attempts++;
        e.token = new_lease_token();
        e.available_at = now + lease_for.count();
        e.seq = ++seq_;
        leased_.emplace(e.available_at, e.seq, std::get<2>(node.value()));
        out.push_back(LeasedJob{std::get<2>(node.value()), e.payload, e.attempts, e.token, from_ms(e.available_at),
                                e.last_error});
      }
      if (!out.empty()) return out;
      auto steady_now = std::chrono::steady_clock::now();
      if (steady_now >= deadline) return out;
      // Wake for the next delayed job or expiring lease, at most every 100 ms.
      auto until = std::min(deadline, steady_now + std::chrono::milliseconds(100));
      for (const auto* slots : {&ready_, &leased_}) {
        if (slots->empty()) continue;
        auto due =
            steady_now + std::chrono::milliseconds(std::max<std::int64_t>(0, std::get<0>(*slots->begin()) - now));
        until = std::min(until, due);
      }
      cv_.wait_until(lock, until);
    }
  }

  Status do_heartbeat(LeasedJob& job, std::chrono::milliseconds extend_by) override {
    std::lock_guard lock(mu_);
    Entry* e = held(job);
    if (!e) return lease_lost(job);
    leased_.erase(Slot{e->available_at, e->seq, job.id});
    e->available_at = now_ms() + extend_by.count();
    e->seq = ++seq_;
    leased_.emplace(e->available_at, e->seq, job.id);
    job.lease_expires = from_ms(e->available_at);
    return Status::Ok();
  }

  Status do_put_record(const JobRecord& record) override { return do_put_record_tagged(record, {}); }

  Status do_put_record_tagged(const JobRecord& record, const std::vector<std::string>& tags) override {
    std::lock_guard lock(mu_);
    records_[record.id] = record;
    set_tags_locked(record.id, tags);
    return Status::Ok();
  }

  // Replaces the tags of record id; caller holds mu_.
  void set_tags_locked(const std::string& id, const std::vector<std::string>& tags) {
    auto old = record_tags_.find(id);
    if (old != record_tags_.end()) {
      for (auto& t : old->second) {
        auto it = tags_.find(t);
        if (it == tags_.end()) continue;
        it->second.erase(id);
        if (it->second.empty()) tags_.erase(it);
      }
      record_tags_.erase(old);
    }
    if (tags.empty()) return;
    for (auto& t : tags) tags_[t].insert(id);
    record_tags_[id] = tags;
  }

  static std::vector<JobRecord> oldest_first(std::vector<JobRecord> out, std::size_t limit) {
    std::sort(out.begin(), out.end(),
              [](const JobRecord& a, const JobRecord& b) { return a.updated_at < b.updated_at; });
    if (out.size() > limit) out.resize(limit);
    return out;
  }

  Status do_create_record(const JobRecord& record) override {
    std::lock_guard lock(mu_);
    if (!records_.emplace(record.id, record).second) return record_exists(record.id);
    return Status::Ok();
  }

  Status enqueue_locked(std::string_view id, std::string_view payload, std::int64_t at) {
    std::string key(id);
    if (jobs_.count(key)) return already_queued(id);
    Entry e;
    e.payload = std::string(payload);
    e.available_at = at;
    e.seq = ++seq_;
    ready_.emplace(at, e.seq, key);
    jobs_.emplace(std::move(key), std::move(e));
    return Status::Ok();
  }

  Status ack_locked(const LeasedJob& job) {
    auto it = jobs_.find(job.id);
    if (it == jobs_.end()) return Status::Ok();
    Entry& e = it->second;
    if (e.token != job.lease_token || e.state == JobState::dead) return lease_lost(job);
    if (e.state == JobState::leased) {
      leased_.erase(Slot{e.available_at, e.seq, job.id});
    } else {
      ready_.erase(Slot{e.available_at, e.seq, job.id});
    }
    jobs_.erase(it);
    return Status::Ok();
  }

  Entry* held(const LeasedJob& job) {
    auto it = jobs_.find(job.id);
    if (it == jobs_.end() || it->second.state != JobState::leased || it->second.token != job.lease_token)
      return nullptr;
    return &it->second;
  }

  std::size_t requeue_expired_locked(std::int64_t now) {
    std::size_t n = 0;
    while (!leased_.empty() && std::get<0>(*leased_.begin()) <= now) {
      auto node = leased_.extract(leased_.begin());
      const std::string& id = std::get<2>(node.value());
      Entry& e = jobs_.at(id);
      e.token.clear();
      e.seq = ++seq_;
      e.available_at = now;
      if (e.attempts >= options_.max_attempts) {
        e.state = JobState::dead;
        if (e.last_error.empty()) e.last_error = "lease expired";
        dead_.emplace(now, e.seq, id);
        MS_LOGF(warn, "queue", job_field(id), "job {}: lease expired after attempt {}, dead-lettered", id, e.attempts);
      } else {
        e.state = JobState::ready;
        ready_.emplace(now, e.seq, id);
        MS_LOGF(info, "queue", job_field(id), "job {}: lease expired after attempt {}, re-queued", id, e.attempts);
      }
      ++n;
    }
    return n;
  }

  QueueOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<std::string, Entry> jobs_;
  std::set<Slot> ready_, leased_, dead_;
  std::uint64_t seq_ = 0;
  std::map<std::string, JobRecord> records_;
  std::map<std::string, std::set<std::string>> tags_;            // tag -> record ids
  std::map<std::string, std::vector<std::string>> record_tags_;  // record id -> its tags
};

}  // namespace
}  // namespace mediastore::detail

namespace mediastore {

std::shared_ptr<JobQueue> make_memory_queue(QueueOptions options) {
  return std::make_shared<detail::MemoryQueue>(std::move(options));
}

}  // namespace mediastore
