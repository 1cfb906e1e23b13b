#include "s3/retry.hpp"

#include <algorithm>
#include <cmath>
#include <random>

namespace mediastore::s3 {

std::chrono::milliseconds backoff_delay(const RetryPolicy& policy, int retry, double rand01) noexcept {
  if (retry < 1) retry = 1;
  rand01 = std::clamp(rand01, 0.0, 1.0);
  const double cap = static_cast<double>(policy.max_backoff.count());
  // 2^(retry-1) grows past any cap quickly; stop doubling there.
  double ceiling = static_cast<double>(policy.base.count());
  for (int i = 1; i < retry && ceiling < cap; ++i) ceiling *= 2;
  ceiling = std::min(ceiling, cap);
  return std::chrono::milliseconds(static_cast<long long>(std::floor(rand01 * ceiling)));
}

double jitter01() noexcept {
  thread_local std::mt19937_64 gen{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(gen);
}

int RetryBudget::acquire(ErrorCode code) {
  const int cost = code == ErrorCode::timeout ? kTimeoutRetryCost : kRetryCost;
  std::lock_guard<std::mutex> lock(mu_);
  if (tokens_ < cost) return 0;
  tokens_ -= cost;
  return cost;
}

void RetryBudget::on_success(int taken) {
  std::lock_guard<std::mutex> lock(mu_);
  tokens_ = std::min(capacity_, tokens_ + (taken > 0 ? taken : 1));
}

int RetryBudget::tokens() const {
  std::lock_guard<std::mutex> lock(mu_);
  return tokens_;
}

}  // namespace mediastore::s3
