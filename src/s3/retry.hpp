// Retries like the AWS SDKs' "standard" mode: a fixed number of attempts,
// exponential backoff with full jitter, and a token-bucket retry budget shared
// by every request of one client so that an outage does not multiply the load.
#pragma once

#include <chrono>
#include <mutex>

#include "mediastore/status.hpp"

namespace mediastore::s3 {

struct RetryPolicy {
  int max_attempts = 3;                          // Default: 3 (1 = no retries)
  std::chrono::milliseconds base{1000};          // Default: 1 s
  std::chrono::milliseconds max_backoff{20000};  // Default: 20 s (the SDKs' cap)
};

// The pause before retry number `retry` (1 = the first retry):
// rand01 * min(base * 2^(retry-1), max_backoff), rand01 in [0, 1).
// Pure, for tests; the client passes a fresh random number.
std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int retry, double rand01) noexcept;

// A uniformly distributed number in [0, 1) from a thread-local generator.
double jitter01() noexcept;

// The retry budget (AWS standard mode numbers): 500 tokens; a retry costs 5
// (10 after a timeout); a retried request that then succeeds returns its
// cost; a request that succeeds at once adds 1 (up to the capacity). A retry
// that finds too few tokens is not made. Thread-safe.
class RetryBudget {
 public:
  static constexpr int kCapacity = 500;
  static constexpr int kRetryCost = 5;
  static constexpr int kTimeoutRetryCost = 10;

  explicit RetryBudget(int capacity = kCapacity) : capacity_(capacity), tokens_(capacity) {}

  // Takes the cost of one retry after a failure of kind `code`; returns the
  // tokens taken, or 0 if the budget is exhausted (then do not retry).
  int acquire(ErrorCode code);
  // After a success: `taken` = the tokens this request's retries took.
  void on_success(int taken);
  int tokens() const;

 private:
  mutable std::mutex mu_;
  int capacity_;
  int tokens_;
};

}  // namespace mediastore::s3
