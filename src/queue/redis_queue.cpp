// Queue on Redis: a hash per job, sorted sets "ready" (by when leasable),
// "leased" (by lease expiry) and "dead"; every operation is one Lua script
// and therefore atomic. Lease times come from Redis' own clock (TIME), so
// workers on machines with skewed clocks agree on expiry. With appendonly
// persistence a Redis restart loses nothing.
//
// Each RedisQueue keeps a small pool of connections (up to
// kMaxConnections, opened on demand), so that the threads of one process —
// a Worker's threads, its heartbeats, a web process's submits — do not queue
// on one socket.
#include <fmt/format.h>
#include <hiredis/hiredis.h>
#include <openssl/evp.h>

#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <unordered_map>

#include "core/crypto.hpp"
#include "core/log_internal.hpp"
#include "queue/common.hpp"

namespace mediastore::detail {
namespace {

constexpr const char* kPrelude = R"lua(
local p = ARGV[1]
local now_ms
-- Redis' clock in ms, read once per script and only by scripts that need it.
local function clock()
  if not now_ms then
    local t = redis.call('TIME')
    now_ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  return now_ms
end
local function requeue(maxatt)
  local now = clock()
  local ids = redis.call('ZRANGEBYSCORE', p .. 'leased', '-inf', now, 'LIMIT', 0, 1000)
  local out = {}
  for _, id in ipairs(ids) do
    local jk = p .. 'job:' .. id
    redis.call('ZREM', p .. 'leased', id)
    local att = tonumber(redis.call('HGET', jk, 'attempts') or '0')
    redis.call('HSET', jk, 'token', '')
    if att >= maxatt then
      redis.call('HSET', jk, 'state', 'dead')
      if (redis.call('HGET', jk, 'last_error') or '') == '' then redis.call('HSET', jk, 'last_error', 'lease expired') end
      redis.call('ZADD', p .. 'dead', now, id)
      out[#out + 1] = id; out[#out + 1] = 'dead'; out[#out + 1] = tostring(att)
    else
      redis.call('HSET', jk, 'state', 'ready')
      redis.call('ZADD', p .. 'ready', now, id)
      out[#out + 1] = id; out[#out + 1] = 'ready'; out[#out + 1] = tostring(att)
    end
  end
  return out
end
)lua";

// ARGV: prefix id payload delay_ms
constexpr const char* kEnqueue = R"lua(
local now = clock()
local jk = p .. 'job:' .. ARGV[2]
if redis.call('EXISTS', jk) == 1 then return 0 end
redis.call('HSET', jk, 'payload', ARGV[3], 'attempts', 0, 'token', '', 'state', 'ready', 'last_error', '')
redis.call('ZADD', p .. 'ready', now + tonumber(ARGV[4]), ARGV[2])
return 1
)lua";

// ARGV: prefix (id payload delay_ms)... -> 1 queued / 0 already there, per job
constexpr const char* kEnqueueBatch = R"lua(
local now = clock()
local out = {}
for i = 2, #ARGV, 3 do
  local jk = p .. 'job:' .. ARGV[i]
  if redis.call('EXISTS', jk) == 1 then
    out[#out + 1] = 0
  else
    redis.call('HSET', jk, 'payload', ARGV[i + 1], 'attempts', 0, 'token', '', 'state', 'ready', 'last_error', '')
    redis.call('ZADD', p .. 'ready', now + tonumber(ARGV[i + 2]), ARGV[i])
    out[#out + 1] = 1
  end
end
return out
)lua";

// ARGV: prefix n lease_ms maxatt token_base
constexpr const char* kLease = R"lua(
local now = clock()
local moved = requeue(tonumber(ARGV[4]))
local ids = redis.call('ZRANGEBYSCORE', p .. 'ready', '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
local leased = {}
local exp = now + tonumber(ARGV[3])
for i, id in ipairs(ids) do
  local jk = p .. 'job:' .. id
  redis.call('ZREM', p .. 'ready', id)
  local att = redis.call('HINCRBY', jk, 'attempts', 1)
  local tok = ARGV[5] .. '-' .. i
  redis.call('HSET', jk, 'state', 'leased', 'token', tok)
  redis.call('ZADD', p .. 'leased', exp, id)
  local f = redis.call('HMGET', jk, 'payload', 'last_error')
  leased[#leased + 1] = id
  leased[#leased + 1] = f[1] or ''
  leased[#leased + 1] = tostring(att)
  leased[#leased + 1] = tok
  leased[#leased + 1] = tostring(exp)
  leased[#leased + 1] = f[2] or ''
end
return {moved, leased}
)lua";

// ARGV: prefix id token extend_ms -> expiry or -1
constexpr const char* kHeartbeat = R"lua(
local now = clock()
local jk = p .. 'job:' .. ARGV[2]
local f = redis.call('HMGET', jk, 'state', 'token')
if f[1] ~= 'leased' or f[2] ~= ARGV[3] then return -1 end
local at = now + tonumber(ARGV[4])
redis.call('ZADD', p .. 'leased', at, ARGV[2])
return at
)lua";

// ARGV: prefix id token -> 1 ok, 0 conflict. A job whose token matches is
// leased (requeue and nack clear the token), so it is only in "leased".
constexpr const char* kAck = R"lua(
local jk = p .. 'job:' .. ARGV[2]
local f = redis.call('HMGET', jk, 'state', 'token')
if not f[1] then return 1 end
if f[1] == 'dead' or f[2] ~= ARGV[3] then return 0 end
redis.call('DEL', jk)
redis.call('ZREM', p .. 'leased', ARGV[2])
return 1
)lua";

// ARGV: prefix (id token)... -> 1 ok / 0 conflict, per job
constexpr const char* kAckBatch = R"lua(
local out = {}
for i = 2, #ARGV, 2 do
  local id = ARGV[i]
  local jk = p .. 'job:' .. id
  local f = redis.call('HMGET', jk, 'state', 'token')
  if not f[1] then
    out[#out + 1] = 1
  elseif f[1] == 'dead' or f[2] ~= ARGV[i + 1] then
    out[#out + 1] = 0
  else
    redis.call('DEL', jk)
    redis.call('ZREM', p .. 'leased', id)
    out[#out + 1] = 1
  end
end
return out
)lua";

// Jobs per batch script: bounds how long one script blocks Redis.
constexpr std::size_t kBatchChunk = 256;

// ARGV: prefix id token delay_ms error maxatt -> -1 conflict, 0 retry, 1 dead
constexpr const char* kNack = R"lua(
local now = clock()
local jk = p .. 'job:' .. ARGV[2]
local f = redis.call('HMGET', jk, 'state', 'token', 'attempts')
if f[1] ~= 'leased' or f[2] ~= ARGV[3] then return -1 end
redis.call('ZREM', p .. 'leased', ARGV[2])
redis.call('HSET', jk, 'token', '', 'last_error', ARGV[5])
if tonumber(f[3]) >= tonumber(ARGV[6]) then
  redis.call('HSET', jk, 'state', 'dead')
  redis.call('ZADD', p .. 'dead', now, ARGV[2])
  return 1
end
redis.call('HSET', jk, 'state', 'ready')
redis.call('ZADD', p .. 'ready', now + tonumber(ARGV[4]), ARGV[2])
return 0
)lua";

// ARGV: prefix id
constexpr const char* kRemove = R"lua(
redis.call('DEL', p .. 'job:' .. ARGV[2])
redis.call('ZREM', p .. 'ready', ARGV[2])
redis.call('ZREM', p .. 'leased', ARGV[2])
redis.call('ZREM', p .. 'dead', ARGV[2])
return 1
)lua";

// ARGV: prefix maxatt
constexpr const char* kRequeue = R"lua(
return requeue(tonumber(ARGV[2]))
)lua";

// ARGV: prefix limit
constexpr const char* kDeadLetters = R"lua(
local ids = redis.call('ZRANGE', p .. 'dead', 0, tonumber(ARGV[2]) - 1, 'WITHSCORES')
local out = {}
for i = 1, #ids, 2 do
  local f = redis.call('HMGET', p .. 'job:' .. ids[i], 'payload', 'attempts', 'last_error')
  out[#out + 1] = ids[i]; out[#out + 1] = f[1] or ''; out[#out + 1] = f[2] or '0'
  out[#out + 1] = f[3] or ''; out[#out + 1] = ids[i + 1]
end
return out
)lua";

// ARGV: prefix
constexpr const char* kStats = R"lua(
local now = clock()
return {redis.call('ZCOUNT', p .. 'ready', '-inf', now), redis.call('ZCOUNT', p .. 'ready', '(' .. now, '+inf'),
        redis.call('ZCARD', p .. 'leased'), redis.call('ZCARD', p .. 'dead')}
)lua";

// ARGV: prefix id state updated_ms body tag... The record's tags are the
// set rtags:<id>; each tag is a sorted set tag:<tag> of record ids scored by
// their update time. Old tags are dropped, the new ones added, in the same
// script as the record.
constexpr const char* kPutRecord = R"lua(
local rk = p .. 'rec:' .. ARGV[2]
local old = redis.call('HGET', rk, 'state')
if old then redis.call('ZREM', p .. 'recs:' .. old, ARGV[2]) end
redis.call('HSET', rk, 'state', ARGV[3], 'updated', ARGV[4], 'body', ARGV[5])
redis.call('ZADD', p .. 'recs:' .. ARGV[3], tonumber(ARGV[4]), ARGV[2])
redis.call('SADD', p .. 'recstates', ARGV[3])
local tk = p .. 'rtags:' .. ARGV[2]
for _, t in ipairs(redis.call('SMEMBERS', tk)) do redis.call('ZREM', p .. 'tag:' .. t, ARGV[2]) end
redis.call('DEL', tk)
for i = 6, #ARGV do
  redis.call('ZADD', p .. 'tag:' .. ARGV[i], tonumber(ARGV[4]), ARGV[2])
  redis.call('SADD', tk, ARGV[i])
end
return 1
)lua";

// ARGV: prefix id state updated_ms body. 0 if the record exists (untouched).
constexpr const char* kCreateRecord = R"lua(
local rk = p .. 'rec:' .. ARGV[2]
if redis.call('EXISTS', rk) == 1 then return 0 end
redis.call('HSET', rk, 'state', ARGV[3], 'updated', ARGV[4], 'body', ARGV[5])
redis.call('ZADD', p .. 'recs:' .. ARGV[3], tonumber(ARGV[4]), ARGV[2])
redis.call('SADD', p .. 'recstates', ARGV[3])
return 1
)lua";

// ARGV: prefix state before_ms limit
constexpr const char* kListRecords = R"lua(
local ids = redis.call('ZRANGEBYSCORE', p .. 'recs:' .. ARGV[2], '-inf', '(' .. ARGV[3], 'LIMIT', 0, tonumber(ARGV[4]))
local out = {}
for _, id in ipairs(ids) do
  local f = redis.call('HMGET', p .. 'rec:' .. id, 'updated', 'body')
  out[#out + 1] = id; out[#out + 1] = f[1] or '0'; out[#out + 1] = f[2] or ''
end
return out
)lua";

// ARGV: prefix state since_ms limit
constexpr const char* kListRecordsSince = R"lua(
local ids = redis.call('ZRANGEBYSCORE', p .. 'recs:' .. ARGV[2], ARGV[3], '+inf', 'LIMIT', 0, tonumber(ARGV[4]))
local out = {}
for _, id in ipairs(ids) do
  local f = redis.call('HMGET', p .. 'rec:' .. id, 'updated', 'body')
  out[#out + 1] = id; out[#out + 1] = f[1] or '0'; out[#out + 1] = f[2] or ''
end
return out
)lua";

// ARGV: prefix tag limit. Replies id, state, updated, body per record.
constexpr const char* kListRecordsByTag = R"lua(
local ids = redis.call('ZRANGE', p .. 'tag:' .. ARGV[2], 0, tonumber(ARGV[3]) - 1)
local out = {}
for _, id in ipairs(ids) do
  local f = redis.call('HMGET', p .. 'rec:' .. id, 'state', 'updated', 'body')
  if f[1] then
    out[#out + 1] = id; out[#out + 1] = f[1]; out[#out + 1] = f[2] or '0'; out[#out + 1] = f[3] or ''
  end
end
return out
)lua";

// ARGV: prefix
constexpr const char* kCountRecords = R"lua(
local out = {}
for _, st in ipairs(redis.call('SMEMBERS', p .. 'recstates')) do
  out[#out + 1] = st; out[#out + 1] = tostring(redis.call('ZCARD', p .. 'recs:' .. st))
end
return out
)lua";

// ARGV: prefix id
constexpr const char* kRemoveRecord = R"lua(
local rk = p .. 'rec:' .. ARGV[2]
local old = redis.call('HGET', rk, 'state')
if old then redis.call('ZREM', p .. 'recs:' .. old, ARGV[2]) end
redis.call('DEL', rk)
local tk = p .. 'rtags:' .. ARGV[2]
for _, t in ipairs(redis.call('SMEMBERS', tk)) do redis.call('ZREM', p .. 'tag:' .. t, ARGV[2]) end
redis.call('DEL', tk)
return 1
)lua";

struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

struct RedisUrl {
  std::string host = "127.0.0.1";
  int port = 6379;
  int db = 0;
  std::string user, password;
};

Result<RedisUrl> parse_url(std::string_view url) {
  RedisUrl u;
  std::string_view rest = url;
  if (rest.rfind("redis://", 0) != 0)
    return Status::InvalidArgument(fmt::format("MEDIA_QUEUE_URL '{}' must start with redis://", url));
  rest.remove_prefix(8);
  auto slash = rest.find('/');
  std::string_view auth_host = rest.substr(0, slash);
  if (slash != std::string_view::npos) {
    std::string_view dbs = rest.substr(slash + 1);
    if (!dbs.empty()) {
      if (dbs.find_first_not_of("0123456789") != std::string_view::npos || dbs.size() > 4)
        return Status::InvalidArgument("MEDIA_QUEUE_URL: database must be a number");
      u.db = std::atoi(std::string(dbs).c_str());
    }
  }
  auto at = auth_host.rfind('@');
  if (at != std::string_view::npos) {
    std::string_view auth = auth_host.substr(0, at);
    auth_host.remove_prefix(at + 1);
    auto colon = auth.find(':');
    if (colon == std::string_view::npos) {
      u.password = std::string(auth);
    } else {
      u.user = std::string(auth.substr(0, colon));
      u.password = std::string(auth.substr(colon + 1));
    }
  }
  auto colon = auth_host.rfind(':');
  if (colon != std::string_view::npos) {
    std::string_view ps = auth_host.substr(colon + 1);
    if (ps.empty() || ps.find_first_not_of("0123456789") != std::string_view::npos || ps.size() > 5)
      return Status::InvalidArgument("MEDIA_QUEUE_URL: port must be a number");
    u.port = std::atoi(std::string(ps).c_str());
    auth_host = auth_host.substr(0, colon);
  }
  if (!auth_host.empty()) u.host = std::string(auth_host);
  return u;
}

class RedisQueue final : public JobQueue {
 public:
  RedisQueue(RedisUrl url, QueueOptions options)
      : url_(std::move(url)), options_(std::move(options)), prefix_("ms:" + options_.name + ":") {}
  ~RedisQueue() override {
    for (redisContext* c : idle_)
      if (c) redisFree(c);
  }

  // Connections per queue object.
  static constexpr int kMaxConnections = 4;

  std::string backend_name() const override { return "redis"; }
  const QueueOptions& options() const override { return options_; }

  std::vector<Status> ack_batch(const std::vector<LeasedJob>& jobs) override {
    std::vector<Status> out(jobs.size());
    for (std::size_t from = 0; from < jobs.size(); from += kBatchChunk) {
      std::size_t to = std::min(jobs.size(), from + kBatchChunk);
      std::vector<std::string> args;
      for (std::size_t i = from; i < to; ++i) {
        args.push_back(jobs[i].id);
        args.push_back(jobs[i].lease_token);
      }
      auto r = eval(kAckBatch, std::move(args));
      if (r.ok() && (r.value()->type != REDIS_REPLY_ARRAY || r.value()->elements != to - from))
        r = Status::Internal("redis queue: bad ack batch reply");
      for (std::size_t i = from; i < to; ++i) {
        if (!r.ok()) {
          out[i] = r.status();
        } else if (r.value()->element[i - from]->integer == 0) {
          out[i] = lease_lost(jobs[i]);
        }
      }
    }
    return out;
  }

  Status ack(const LeasedJob& job) override {
    auto r = eval(kAck, {job.id, job.lease_token});
    if (!r.ok()) return r.status();
    if (r.value()->integer == 0) return lease_lost(job);
    return Status::Ok();
  }

  Result<NackOutcome> nack(const LeasedJob& job, SystemTime retry_at, std::string_view error) override {
    std::int64_t delay = std::max<std::int64_t>(0, to_ms(retry_at) - now_ms());
    auto r = eval(kNack, {job.id, job.lease_token, std::to_string(delay), std::string(error),
                          std::to_string(options_.max_attempts)});
    if (!r.ok()) return r.status();
    long long v = r.value()->integer;
    if (v < 0) return lease_lost(job);
    return v == 1 ? NackOutcome::dead_lettered : NackOutcome::retry_scheduled;
  }

  Result<bool> contains(std::string_view id) override {
    auto r = command({"EXISTS", prefix_ + "job:" + std::string(id)});
    if (!r.ok()) return r.status();
    return r.value()->integer == 1;
  }

  Status remove(std::string_view id) override { return eval(kRemove, {std::string(id)}).status(); }

  Result<std::size_t> requeue_expired() override {
    auto r = eval(kRequeue, {std::to_string(options_.max_attempts)});
    if (!r.ok()) return r.status();
    return log_moved(r.value().get());
  }

  Result<std::vector<DeadJob>> dead_letters(std::size_t limit) override {
    std::vector<DeadJob> out;
    if (limit == 0) return out;
    auto r = eval(kDeadLetters, {std::to_string(limit)});
    if (!r.ok()) return r.status();
    redisReply* a = r.value().get();
    for (std::size_t i = 0; i + 4 < a->elements; i += 5) {
      out.push_back(DeadJob{str(a->element[i]), str(a->element[i + 1]), std::atoi(str(a->element[i + 2]).c_str()),
                            str(a->element[i + 3]), from_ms(std::atoll(str(a->element[i + 4]).c_str()))});
    }
    return out;
  }

  Result<QueueStats> stats() override {
    auto r = eval(kStats, {});
    if (!r.ok()) return r.status();
    redisReply* a = r.value().get();
    if (a->type != REDIS_REPLY_ARRAY || a->elements != 4) return Status::Internal("redis queue: bad stats reply");
    QueueStats s;
    s.ready = static_cast<std::uint64_t>(a->element[0]->integer);
    s.delayed = static_cast<std::uint64_t>(a->element[1]->integer);
    s.in_flight = static_cast<std::uint64_t>(a->element[2]->integer);
    s.dead = static_cast<std::uint64_t>(a->element[3]->integer);
    return s;
  }

  Result<JobRecord> get_record(std::string_view id) override {
    auto r = command({"HMGET", prefix_ + "rec:" + std::string(id), "state", "updated", "body"});
    if (!r.ok()) return r.status();
    redisReply* a = r.value().get();
    if (a->type != REDIS_REPLY_ARRAY || a->elements != 3) return Status::Internal("redis queue: bad HMGET reply");
    if (a->element[0]->type == REDIS_REPLY_NIL) return no_record(id);
    return JobRecord{std::string(id), str(a->element[0]), from_ms(std::atoll(str(a->element[1]).c_str())),
                     str(a->element[2])};
  }

  Result<std::vector<JobRecord>> list_records(std::string_view state, SystemTime updated_before,
                                              std::size_t limit) override {
    return records_in_state(kListRecords, state, updated_before, limit);
  }

  Result<std::vector<JobRecord>> list_records_since(std::string_view state, SystemTime updated_since,
                                                    std::size_t limit) override {
    return records_in_state(kListRecordsSince, state, updated_since, limit);
  }

  // Runs a script that lists the records of `state` on one side of `at`,
  // answering flat (id, updated ms, body) triples.
  Result<std::vector<JobRecord>> records_in_state(const char* script, std::string_view state, SystemTime at,
                                                  std::size_t limit) {
    std::vector<JobRecord> out;
    if (limit == 0) return out;
    auto r = eval(script, {std::string(state), std::to_string(to_ms(at)), std::to_string(limit)});
    if (!r.ok()) return r.status();
    redisReply* a = r.value().get();
    for (std::size_t i = 0; i + 2 < a->elements; i += 3)
      out.push_back(JobRecord{str(a->element[i]), std::string(state),
                              from_ms(std::atoll(str(a->element[i + 1]).c_str())), str(a->element[i + 2])});
    return out;
  }

  Result<std::vector<JobRecord>> list_records_by_tag(std::string_view tag, std::size_t limit) override {
    std::vector<JobRecord> out;
    if (limit == 0) return out;
    auto r = eval(kListRecordsByTag, {std::string(tag), std::to_string(limit)});
    if (!r.ok()) return r.status();
    redisReply* a = r.value().get();
    for (std::size_t i = 0; i + 3 < a->elements; i += 4)
      out.push_back(JobRecord{str(a->element[i]), str(a->element[i + 1]),
                              from_ms(std::atoll(str(a->element[i + 2]).c_str())), str(a->element[i + 3])});
    return out;
  }

  Result<std::map<std::string, std::uint64_t>> count_records() override {
    auto r = eval(kCountRecords, {});
    if (!r.ok()) return r.status();
    std::map<std::string, std::uint64_t> out;
    redisReply* a = r.value().get();
    for (std::size_t i = 0; i + 1 < a->elements; i += 2) {
      auto n = std::strtoull(str(a->element[i + 1]).c_str(), nullptr, 10);
      if (n) out[str(a->element[i])] = n;
    }
    return out;
  }

  Status remove_record(std::string_view id) override { return eval(kRemoveRecord, {std::string(id)}).status(); }

  Status connect_now() {
    Conn c(*this);
    return c.ensure();
  }

 private:
  // ---- JobQueue hooks: the public calls check and default the arguments ----

  Status do_enqueue(std::string_view id, std::string_view payload, SystemTime not_before) override {
    std::int64_t delay = not_before == SystemTime{} ? 0 : std::max<std::int64_t>(0, to_ms(not_before) - now_ms());
    auto r = eval(kEnqueue, {std::string(id), std::string(payload), std::to_string(delay)});
    if (!r.ok()) return r.status();
    if (r.value()->integer == 0) return already_queued(id);
    return Status::Ok();
  }

  void do_enqueue_batch(const std::vector<NewJob>& jobs, std::vector<Status>& results) override {
    std::int64_t now = now_ms();
    for (std::size_t from = 0; from < jobs.size(); from += kBatchChunk) {
      std::size_t to = std::min(jobs.size(), from + kBatchChunk);
      std::vector<std::string> args;
      std::vector<std::size_t> sent;
      for (std::size_t i = from; i < to; ++i) {
        if (!results[i].ok()) continue;
        std::int64_t delay =
            jobs[i].not_before == SystemTime{} ? 0 : std::max<std::int64_t>(0, to_ms(jobs[i].not_before) - now);
        args.push_back(jobs[i].id);
        args.push_back(jobs[i].payload);
        args.push_back(std::to_string(delay));
        sent.push_back(i);
      }
      if (sent.empty()) continue;
      auto r = eval(kEnqueueBatch, std::move(args));
      if (r.ok() && (r.value()->type != REDIS_REPLY_ARRAY || r.value()->elements != sent.size()))
        r = Status::Internal("redis queue: bad enqueue batch reply");
      for (std::size_t k = 0; k < sent.size(); ++k) {
        if (!r.ok()) {
          results[sent[k]] = r.status();
        } else if (r.value()->element[k]->integer == 0) {
          results[sent[k]] = already_queued(jobs[sent[k]].id);
        }
      }
    }
  }

  Result<std::vector<LeasedJob>> do_lease(std::size_t max_jobs, std::chrono::milliseconds lease_for,
                                          std::chrono::milliseconds wait) override {
    std::vector<LeasedJob> out;
    LeasePoll poll(wait);
    for (;;) {
      auto r = eval(kLease, {std::to_string(max_jobs), std::to_string(lease_for.count()),
                             std::to_string(options_.max_attempts), new_lease_token()});
      if (!r.ok()) return r.status();
      redisReply* top = r.value().get();
      if (top->type != REDIS_REPLY_ARRAY || top->elements != 2) return Status::Internal("redis queue: bad lease reply");
      log_moved(top->element[0]);
      redisReply* l = top->element[1];
      for (std::size_t i = 0; i + 5 < l->elements; i += 6) {
        LeasedJob j;
        j.id = str(l->element[i]);
        j.payload = str(l->element[i + 1]);
        j.attempt = std::atoi(str(l->element[i + 2]).c_str());
        j.lease_token = str(l->element[i + 3]);
        // Expiry as seen by Redis' clock, translated to ours.
        j.lease_expires = std::chrono::system_clock::now() + lease_for;
        j.last_error = str(l->element[i + 5]);
        out.push_back(std::move(j));
      }
      if (!out.empty() || !poll.pause()) return out;
    }
  }

  Status do_heartbeat(LeasedJob& job, std::chrono::milliseconds extend_by) override {
    auto r = eval(kHeartbeat, {job.id, job.lease_token, std::to_string(extend_by.count())});
    if (!r.ok()) return r.status();
    if (r.value()->integer < 0) return lease_lost(job);
    job.lease_expires = std::chrono::system_clock::now() + extend_by;
    return Status::Ok();
  }

  Status do_put_record(const JobRecord& record) override { return do_put_record_tagged(record, {}); }

  Status do_put_record_tagged(const JobRecord& record, const std::vector<std::string>& tags) override {
    std::vector<std::string> args{record.id, record.state, std::to_string(to_ms(record.updated_at)), record.body};
    args.insert(args.end(), tags.begin(), tags.end());
    return eval(kPutRecord, std::move(args)).status();
  }

  Status do_create_record(const JobRecord& record) override {
    std::int64_t at = to_ms(record.updated_at);
    auto r = eval(kCreateRecord, {record.id, record.state, std::to_string(at), record.body});
    if (!r.ok()) return r.status();
    if ((*r)->type == REDIS_REPLY_INTEGER && (*r)->integer == 0) return record_exists(record.id);
    return Status::Ok();
  }

  static std::string str(const redisReply* r) {
    if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS || r->type == REDIS_REPLY_ERROR)
      return std::string(r->str, r->len);
    if (r->type == REDIS_REPLY_INTEGER) return std::to_string(r->integer);
    return "";
  }

  std::size_t log_moved(const redisReply* a) {
    std::size_t n = 0;
    for (std::size_t i = 0; i + 2 < a->elements; i += 3, ++n) {
      std::string id = str(a->element[i]);
      if (str(a->element[i + 1]) == "dead") {
        MS_LOGF(warn, "queue", job_field(id), "job {}: lease expired after attempt {}, dead-lettered", id,
                str(a->element[i + 2]));
      } else {
        MS_LOGF(info, "queue", job_field(id), "job {}: lease expired after attempt {}, re-queued", id,
                str(a->element[i + 2]));
      }
    }
    return n;
  }

  // A script's full text and its SHA-1, computed once per script.
  struct Script {
    std::string text;
    std::string sha1;
  };
  static const Script& script(const char* body) {
    static std::mutex mu;
    static std::unordered_map<const char*, Script> cache;
    std::lock_guard lock(mu);
    auto it = cache.find(body);
    if (it != cache.end()) return it->second;
    Script s;
    s.text = std::string(kPrelude) + body;
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(s.text.data(), s.text.size(), digest, &len, EVP_sha1(), nullptr);
    s.sha1 = detail::hex_lower(digest, len);
    return cache.emplace(body, std::move(s)).first->second;
  }

  // Runs a script by its SHA-1 (EVALSHA), sending the text only when the
  // server does not have it yet (after a restart or SCRIPT FLUSH): the text
  // is ~1.5 KB, which Redis would otherwise parse and hash on every call.
  Result<Reply> eval(const char* body, std::vector<std::string> args) {
    const Script& sc = script(body);
    std::vector<std::string> argv{"EVALSHA", sc.sha1, "0", prefix_};
    for (auto& a : args) argv.push_back(std::move(a));
    auto r = command(argv);
    if (!r.ok() && r.status().message().find("NOSCRIPT") != std::string::npos) {
      argv[0] = "EVAL";
      argv[1] = sc.text;
      r = command(argv);
    }
    return r;
  }

  // Runs one command; a broken connection is dropped and re-established by
  // the next call (a command that failed mid-flight is not repeated: the
  // caller sees unavailable and decides).
  Result<Reply> command(const std::vector<std::string>& argv) {
    std::vector<const char*> ptrs;
    std::vector<std::size_t> lens;
    for (auto& a : argv) {
      ptrs.push_back(a.data());
      lens.push_back(a.size());
    }
    Conn conn(*this);
    MS_RETURN_IF_ERROR(conn.ensure());
    auto* raw =
        static_cast<redisReply*>(redisCommandArgv(conn.ctx, static_cast<int>(argv.size()), ptrs.data(), lens.data()));
    if (!raw) {
      Status s = Status::Unavailable(fmt::format("redis {}:{}: {}", url_.host, url_.port, conn.ctx->errstr));
      MS_LOG(warn, "queue", "redis connection lost: {}", s.message());
      redisFree(conn.ctx);
      conn.ctx = nullptr;
      return s;
    }
    Reply r(raw);
    if (r->type == REDIS_REPLY_ERROR) {
      std::string msg(r->str, r->len);
      if (msg.rfind("LOADING", 0) == 0 || msg.rfind("BUSY", 0) == 0 || msg.rfind("TRYAGAIN", 0) == 0)
        return Status::Unavailable(fmt::format("redis {}:{}: {}", url_.host, url_.port, msg));
      if (msg.rfind("NOAUTH", 0) == 0 || msg.rfind("WRONGPASS", 0) == 0)
        return Status::AuthFailed(fmt::format("redis {}:{}: authentication failed", url_.host, url_.port));
      return Status::Internal(fmt::format("redis {}:{}: {}", url_.host, url_.port, msg));
    }
    return r;
  }

  // One connection of the pool, held for one call: taken from the idle ones,
  // or a new slot while fewer than kMaxConnections are open, or else waited
  // for. A connection left null (never opened, or dropped after an error) is
  // (re)connected by ensure().
  struct Conn {
    explicit Conn(RedisQueue& q) : q(q) {
      std::unique_lock lock(q.pool_mu_);
      q.pool_cv_.wait(lock, [&] { return !q.idle_.empty() || q.open_ < kMaxConnections; });
      if (!q.idle_.empty()) {
        ctx = q.idle_.back();
        q.idle_.pop_back();
      } else {
        ++q.open_;
      }
    }
    ~Conn() {
      {
        std::lock_guard lock(q.pool_mu_);
        if (ctx) {
          q.idle_.push_back(ctx);
        } else {
          --q.open_;
        }
      }
      q.pool_cv_.notify_one();
    }
    Conn(const Conn&) = delete;
    Conn& operator=(const Conn&) = delete;
    Status ensure() {
      if (ctx) return Status::Ok();
      auto c = q.connect();
      if (!c.ok()) return c.status();
      ctx = c.value();
      return Status::Ok();
    }
    RedisQueue& q;
    redisContext* ctx = nullptr;
  };

  Result<redisContext*> connect() {
    timeval tv{2, 0};
    redisContext* c = redisConnectWithTimeout(url_.host.c_str(), url_.port, tv);
    if (!c || c->err) {
      Status s = Status::Unavailable(
          fmt::format("cannot connect to redis {}:{}: {}", url_.host, url_.port, c ? c->errstr : "oom"));
      if (c) redisFree(c);
      return s;
    }
    timeval io{10, 0};
    redisSetTimeout(c, io);
    auto simple = [&](std::vector<std::string> argv) -> Status {
      std::vector<const char*> ptrs;
      std::vector<std::size_t> lens;
      for (auto& a : argv) {
        ptrs.push_back(a.data());
        lens.push_back(a.size());
      }
      auto* raw =
          static_cast<redisReply*>(redisCommandArgv(c, static_cast<int>(argv.size()), ptrs.data(), lens.data()));
      if (!raw) return Status::Unavailable(fmt::format("redis {}:{}: {}", url_.host, url_.port, c->errstr));
      Reply r(raw);
      if (r->type == REDIS_REPLY_ERROR) {
        std::string msg(r->str, r->len);
        if (argv[0] == "AUTH")
          return Status::AuthFailed(fmt::format("redis {}:{}: authentication failed", url_.host, url_.port));
        return Status::Unavailable(fmt::format("redis {}:{}: {}", url_.host, url_.port, msg));
      }
      return Status::Ok();
    };
    Status s;
    if (!url_.password.empty())
      s = url_.user.empty() ? simple({"AUTH", url_.password}) : simple({"AUTH", url_.user, url_.password});
    if (s.ok() && url_.db != 0) s = simple({"SELECT", std::to_string(url_.db)});
    if (!s.ok()) {
      redisFree(c);
      return s;
    }
    MS_LOG(debug, "queue", "connected to redis {}:{} db {}", url_.host, url_.port, url_.db);
    return c;
  }

  RedisUrl url_;
  QueueOptions options_;
  std::string prefix_;
  std::mutex pool_mu_;  // idle_, open_
  std::condition_variable pool_cv_;
  std::vector<redisContext*> idle_;  // connected, not in use
  int open_ = 0;                     // slots in use or idle
};

}  // namespace
}  // namespace mediastore::detail

namespace mediastore {

Result<std::shared_ptr<JobQueue>> make_redis_queue(const std::string& url, QueueOptions options) {
  MS_RETURN_IF_ERROR(detail::validate_queue_name(options.name));
  auto u = detail::parse_url(url);
  if (!u.ok()) return u.status();
  auto q = std::make_shared<detail::RedisQueue>(std::move(u.value()), std::move(options));
  // Connect once now so that a wrong address or password shows at once.
  MS_RETURN_IF_ERROR(q->connect_now());
  return std::shared_ptr<JobQueue>(std::move(q));
}

}  // namespace mediastore
