// The credential chain, in the order the AWS SDKs use:
//   1. explicit settings (S3Settings::access_key / secret_key / session_token),
//   2. the environment: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY
//      (+ AWS_SESSION_TOKEN), then MINIO_ACCESS_KEY + MINIO_SECRET_KEY,
//   3. the shared credentials file (AWS_SHARED_CREDENTIALS_FILE, Default
//      ~/.aws/credentials), profile AWS_PROFILE (Default "default").
// A source that sets only half of a key pair is an error naming what is
// missing, not a silent fall-through. Secrets never appear in messages.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "mediastore/config.hpp"
#include "mediastore/status.hpp"
#include "s3/sigv4.hpp"

namespace mediastore::s3 {

// Where the credentials came from, for diagnostics ("explicit",
// "environment AWS_*", "environment MINIO_*", "profile 'x' in FILE").
struct ResolvedCredentials {
  Credentials credentials;
  std::string source;
};

// Resolves through the chain. `env` looks up environment variables (tests
// pass their own; Default: the process environment). auth_failed when no
// source has credentials (the message lists where it looked).
Result<ResolvedCredentials> resolve_credentials(const S3Settings& settings, const Config::Lookup& env = {});

// Reads one profile of an INI-style credentials file. not_found if the file
// or the profile is missing; invalid_argument if the profile lacks a key.
Result<Credentials> read_credentials_file(const std::string& path, std::string_view profile);

}  // namespace mediastore::s3
