// Helpers shared by the queue backends (internal).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <vector>

#include "mediastore/log.hpp"
#include "mediastore/queue.hpp"

namespace mediastore::detail {

inline std::int64_t to_ms(SystemTime t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
inline SystemTime from_ms(std::int64_t ms) { return SystemTime(std::chrono::milliseconds(ms)); }
inline std::int64_t now_ms() { return to_ms(std::chrono::system_clock::now()); }

// Letters, digits, '_' and '-', 1..64 characters.
Status validate_queue_name(std::string_view name);
// Job ids: 1..256 bytes, no control characters.
Status validate_job_id(std::string_view id);
// The structured log field naming a job.
inline std::vector<LogField> job_field(const std::string& id) { return {LogField{"job", id}}; }

// A fresh lease token.
std::string new_lease_token();

}  // namespace mediastore::detail
