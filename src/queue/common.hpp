// Helpers shared by the queue backends (internal).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "mediastore/log.hpp"
#include "mediastore/queue.hpp"

namespace mediastore::detail {

inline std::int64_t to_ms(SystemTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
inline SystemTime from_ms(std::int64_t ms) { return SystemTime(std::chrono::milliseconds(ms)); }
inline std::int64_t now_ms() { return to_ms(std::chrono::system_clock::now()); }
// to_ms(t), or now_ms() for the default SystemTime{} ("now").
inline std::int64_t to_ms_or_now(SystemTime t) { return t == SystemTime{} ? now_ms() : to_ms(t); }

// Letters, digits, '_' and '-', 1..64 characters.
Status validate_queue_name(std::string_view name);
// Job ids: 1..256 bytes, no control characters.
Status validate_job_id(std::string_view id);
// Record tags: 1..512 bytes, no control characters.
Status validate_record_tag(std::string_view tag);
// The structured log field naming a job.
inline std::vector<LogField> job_field(const std::string& id) { return {LogField{"job", id}}; }

// A fresh lease token.
std::string new_lease_token();

// The error of enqueue() for an id that is already queued.
Status already_queued(std::string_view id);
// The error of heartbeat(), ack() and nack() for a job whose lease was lost.
Status lease_lost(const LeasedJob& job);
// The error of get_record() for an id without a record.
Status no_record(std::string_view id);
// already_exists naming the record id (create_record).
Status record_exists(std::string_view id);

// How lease() waits in the backends that poll (SQLite, Redis): pauses from
// 2 ms, doubling up to 50 ms, until `wait` from construction is over.
class LeasePoll {
 public:
  explicit LeasePoll(std::chrono::milliseconds wait) : deadline_(std::chrono::steady_clock::now() + wait) {}

  // False once the wait is over; otherwise sleeps one pause and returns true.
  bool pause() {
    if (std::chrono::steady_clock::now() >= deadline_) return false;
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(pause_, deadline_ - std::chrono::steady_clock::now()));
    pause_ = std::min(pause_ * 2, std::chrono::milliseconds(50));
    return true;
  }

 private:
  std::chrono::steady_clock::time_point deadline_;
  std::chrono::milliseconds pause_{2};
};

}  // namespace mediastore::detail
