// The credential chain, in the order the AWS SDKs use:
//   1. explicit settings (S3Settings::access_key / secret_key / session_token),
//   2. the environment: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY
//      (+ AWS_SESSION_TOKEN), then MINIO_ACCESS_KEY + MINIO_SECRET_KEY,
//   3. the shared credentials file (AWS_SHARED_CREDENTIALS_FILE, Default
//      ~/.aws/credentials), profile AWS_PROFILE (Default "default"),
//   4. web identity (EKS): AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN
//      [+ AWS_ROLE_SESSION_NAME], exchanged at STS with
//      AssumeRoleWithWebIdentity (an unsigned form POST; XML answer),
//   5. the container endpoint (ECS, EKS Pod Identity):
//      AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (on http://169.254.170.2) or
//      AWS_CONTAINER_CREDENTIALS_FULL_URI, with AWS_CONTAINER_AUTHORIZATION_
//      TOKEN_FILE or AWS_CONTAINER_AUTHORIZATION_TOKEN (JSON answer),
//   6. IMDSv2 (EC2): a session token from PUT /latest/api/token, then
//      /latest/meta-data/iam/security-credentials/<role> (JSON answer); off
//      with AWS_EC2_METADATA_DISABLED=true. No IMDSv1 fallback: an endpoint
//      that refuses the token is an error.
// A source that sets only half of a key pair is an error naming what is
// missing, not a silent fall-through. Secrets never appear in messages.
// Sources 4-6 give temporary credentials (with a session token and an
// expiry) that a CredentialCache refreshes before they expire.
//
// Endpoints and timeouts of 4-6 (the AWS SDKs' variable names):
//   AWS_ENDPOINT_URL_STS, else AWS_ENDPOINT_URL   STS endpoint. Default:
//     https://sts.<AWS_REGION|AWS_DEFAULT_REGION|S3 region>.amazonaws.com
//     (https://sts.amazonaws.com with AWS_STS_REGIONAL_ENDPOINTS=legacy)
//   AWS_EC2_METADATA_SERVICE_ENDPOINT   Default: http://169.254.169.254
//   AWS_METADATA_SERVICE_TIMEOUT        seconds per request to the container
//                                       endpoint and IMDS. Default: 1
//   AWS_METADATA_SERVICE_NUM_ATTEMPTS   Default: 1
// STS requests: 2 s to connect, 10 s in all, 2 attempts.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "mediastore/config.hpp"
#include "mediastore/status.hpp"
#include "s3/sigv4.hpp"

namespace mediastore::s3 {

// Credentials and when they expire (nullopt: they do not).
struct TimedCredentials {
  Credentials credentials;
  std::optional<std::chrono::system_clock::time_point> expiration;
};

// A source of temporary credentials (sources 4-6 above). fetch() makes one
// bounded round of requests: every request has a connect and a total
// timeout and a fixed number of attempts, so a slow or dead endpoint fails
// in bounded time with an error naming the provider and its endpoint
// (network_error, timeout, auth_failed for a refusal, internal for an answer
// that cannot be read). Thread-safety: fetch() may be called from several
// threads at once (CredentialCache calls it from one at a time).
class CredentialProvider {
 public:
  virtual ~CredentialProvider() = default;
  virtual Result<TimedCredentials> fetch() = 0;
  // "web identity (role R at https://sts...)", "container endpoint URL",
  // "IMDSv2 at URL": for messages and logs; holds no secret.
  virtual std::string name() const = 0;
};

// Timeouts and attempts of one provider's requests.
struct ProviderLimits {
  std::chrono::milliseconds connect_timeout{1000};  // Default: 1 s
  std::chrono::milliseconds total_timeout{1000};    // per request. Default: 1 s
  int attempts = 1;                                 // Default: 1
};

// role_arn and token_file required; session_name "" = "mediastore-<time>".
// The token file is read again on every fetch (it rotates).
std::unique_ptr<CredentialProvider> make_web_identity_provider(std::string token_file, std::string role_arn,
                                                               std::string session_name, std::string sts_endpoint,
                                                               ProviderLimits limits);
// url: the full credentials URL. Exactly one of auth_token_file (read on
// every fetch) and auth_token may be non-empty; both empty = no
// Authorization header.
std::unique_ptr<CredentialProvider> make_container_provider(std::string url, std::string auth_token,
                                                            std::string auth_token_file, ProviderLimits limits);
// endpoint: "http://169.254.169.254" or an override, without a path.
std::unique_ptr<CredentialProvider> make_imds_provider(std::string endpoint, ProviderLimits limits);

// The credentials every request signs with: fixed ones, or a provider's
// temporary ones refreshed ahead of expiry. get() returns the cached
// credentials until their refresh time: 5 minutes before the expiry, or at
// half their lifetime when that is shorter. From then on one caller fetches
// (one fetch in flight at a time) while the others keep using the cached
// credentials as long as they have at least 30 s left; only callers that
// have no usable credentials wait for that fetch, and share its result. A
// failed refresh while the old credentials are still usable is logged and
// retried later (after a quarter of the time left, at most 30 s); without
// usable credentials it is get()'s error. Thread-safe.
class CredentialCache {
 public:
  using Clock = std::function<std::chrono::system_clock::time_point()>;
  explicit CredentialCache(Credentials fixed, std::string source = "explicit");
  // `first`: the provider's first answer (already fetched).
  CredentialCache(std::shared_ptr<CredentialProvider> provider, TimedCredentials first);

  Result<Credentials> get();
  // Where the credentials come from (see ResolvedCredentials::source).
  const std::string& source() const { return source_; }
  // True for a provider's temporary credentials.
  bool refreshing() const { return provider_ != nullptr; }
  // Fetches made after the first (tests, diagnostics).
  std::uint64_t refreshes() const;
  // When the cached credentials are due for refresh (nullopt: never).
  std::optional<std::chrono::system_clock::time_point> refresh_at() const;
  // Tests: a clock instead of system_clock::now (set before use).
  void set_clock_for_tests(Clock clock) { clock_ = std::move(clock); }

  // The refresh time of credentials fetched at `fetched` that expire at
  // `expiration` (see the class comment).
  static std::chrono::system_clock::time_point refresh_time(std::chrono::system_clock::time_point fetched,
                                                            std::chrono::system_clock::time_point expiration);

 private:
  void store(TimedCredentials c, std::chrono::system_clock::time_point now);

  std::shared_ptr<CredentialProvider> provider_;
  std::string source_;
  Clock clock_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  TimedCredentials current_;
  std::chrono::system_clock::time_point refresh_at_{};
  bool fetching_ = false;
  std::uint64_t generation_ = 0;  // bumped when a fetch ends
  Status last_error_;             // of the last fetch
  std::uint64_t refreshes_ = 0;
};

// Where the credentials came from, for diagnostics ("explicit",
// "environment AWS_*", "environment MINIO_*", "profile 'x' in FILE",
// or a provider's name()).
struct ResolvedCredentials {
  Credentials credentials;
  std::string source;
  // Temporary credentials: the provider that refreshes them and their
  // expiry. Null / nullopt for the static sources 1-3.
  std::shared_ptr<CredentialProvider> provider;
  std::optional<std::chrono::system_clock::time_point> expiration;
};

// Resolves through the chain. `env` looks up environment variables (tests
// pass their own; Default: the process environment). auth_failed when no
// source has credentials (the message lists where it looked). A configured
// web identity or container source is fetched once here and its failure is
// the error; IMDS, the last resort, is tried only when nothing else is
// configured, and its failure is part of the "no S3 credentials" message.
Result<ResolvedCredentials> resolve_credentials(const S3Settings& settings, const Config::Lookup& env = {});

// Reads one profile of an INI-style credentials file. not_found if the file
// or the profile is missing; invalid_argument if the profile lacks a key.
Result<Credentials> read_credentials_file(const std::string& path, std::string_view profile);

// A cache over what resolve_credentials found.
std::shared_ptr<CredentialCache> make_credential_cache(ResolvedCredentials resolved);

}  // namespace mediastore::s3
