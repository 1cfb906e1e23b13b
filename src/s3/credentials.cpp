#include "s3/credentials.hpp"

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

namespace mediastore::s3 {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::optional<std::string> process_env(std::string_view name) {
  const char* v = std::getenv(std::string(name).c_str());
  if (v == nullptr) return std::nullopt;
  return std::string(v);
}

std::string get(const Config::Lookup& env, std::string_view name) {
  auto v = env ? env(name) : process_env(name);
  return v ? *v : std::string();
}

// A pair from the environment: nullopt when neither variable is set; an
// error when only one is.
Result<std::optional<Credentials>> env_pair(const Config::Lookup& env, const char* id_var, const char* secret_var,
                                            const char* token_var) {
  Credentials c;
  c.access_key_id = get(env, id_var);
  c.secret_access_key = get(env, secret_var);
  if (c.access_key_id.empty() && c.secret_access_key.empty()) return std::optional<Credentials>();
  if (c.access_key_id.empty()) return Status::AuthFailed(fmt::format("{} is set but {} is not", secret_var, id_var));
  if (c.secret_access_key.empty()) {
    return Status::AuthFailed(fmt::format("{} is set but {} is not", id_var, secret_var));
  }
  if (token_var != nullptr) c.session_token = get(env, token_var);
  return std::optional<Credentials>(std::move(c));
}

}  // namespace

Result<Credentials> read_credentials_file(const std::string& path, std::string_view profile) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(fmt::format("credentials file '{}' cannot be read: {}", path, std::strerror(errno)));
  Credentials c;
  bool in_profile = false;
  bool found = false;
  std::string line;
  while (std::getline(in, line)) {
    std::string_view l = trim(line);
    if (l.empty() || l.front() == '#' || l.front() == ';') continue;
    if (l.front() == '[') {
      auto close = l.find(']');
      std::string_view name = trim(l.substr(1, close == std::string_view::npos ? l.size() - 1 : close - 1));
      // ~/.aws/config writes "[profile x]"; the credentials file "[x]". Accept both.
      if (name.substr(0, 8) == "profile ") name = trim(name.substr(8));
      in_profile = name == profile;
      found = found || in_profile;
      continue;
    }
    if (!in_profile) continue;
    auto eq = l.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view k = trim(l.substr(0, eq));
    std::string_view v = trim(l.substr(eq + 1));
    // Inline comments after whitespace.
    for (std::size_t i = 1; i < v.size(); ++i) {
      if ((v[i] == '#' || v[i] == ';') && (v[i - 1] == ' ' || v[i - 1] == '\t')) {
        v = trim(v.substr(0, i));
        break;
      }
    }
    if (k == "aws_access_key_id") c.access_key_id = std::string(v);
    if (k == "aws_secret_access_key") c.secret_access_key = std::string(v);
    if (k == "aws_session_token" || k == "aws_security_token") c.session_token = std::string(v);
  }
  if (!found) return Status::NotFound(fmt::format("profile '{}' not found in credentials file '{}'", profile, path));
  if (c.access_key_id.empty() || c.secret_access_key.empty()) {
    return Status::InvalidArgument(
        fmt::format("profile '{}' in credentials file '{}' lacks {}", profile, path,
                    c.access_key_id.empty() ? "aws_access_key_id" : "aws_secret_access_key"));
  }
  return c;
}

Result<ResolvedCredentials> resolve_credentials(const S3Settings& settings, const Config::Lookup& env) {
  // 1. explicit
  if (!settings.access_key.empty() || !settings.secret_key.empty()) {
    if (settings.access_key.empty() || settings.secret_key.empty()) {
      return Status::AuthFailed(fmt::format("the S3 settings give the {} but not the {}",
                                            settings.access_key.empty() ? "secret key" : "access key",
                                            settings.access_key.empty() ? "access key" : "secret key"));
    }
    return ResolvedCredentials{Credentials{settings.access_key, settings.secret_key, settings.session_token},
                               "explicit"};
  }
  // 2. environment
  auto aws = env_pair(env, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN");
  if (!aws.ok()) return aws.status();
  if (aws->has_value()) return ResolvedCredentials{std::move(**aws), "environment AWS_*"};
  auto minio = env_pair(env, "MINIO_ACCESS_KEY", "MINIO_SECRET_KEY", nullptr);
  if (!minio.ok()) return minio.status();
  if (minio->has_value()) return ResolvedCredentials{std::move(**minio), "environment MINIO_*"};
  // 3. shared credentials file
  std::string file = settings.credentials_file;
  if (file.empty()) file = get(env, "AWS_SHARED_CREDENTIALS_FILE");
  if (file.empty()) {
    const std::string home = get(env, "HOME");
    if (!home.empty()) file = home + "/.aws/credentials";
  }
  std::string profile = settings.profile;
  if (profile.empty()) profile = get(env, "AWS_PROFILE");
  const bool profile_named = !profile.empty();
  if (profile.empty()) profile = "default";
  if (file.empty()) {
    return Status::AuthFailed(
        "no S3 credentials: none in the settings, none in AWS_*/MINIO_* variables, and no credentials file (HOME is "
        "not set)");
  }
  auto c = read_credentials_file(file, profile);
  if (c.ok()) return ResolvedCredentials{std::move(c.value()), fmt::format("profile '{}' in {}", profile, file)};
  if (c.status().is(ErrorCode::invalid_argument) || profile_named) {
    return Status::AuthFailed(c.status().message());
  }
  return Status::AuthFailed(fmt::format(
      "no S3 credentials: none in the settings, none in AWS_*/MINIO_* variables, and {}", c.status().message()));
}

}  // namespace mediastore::s3
