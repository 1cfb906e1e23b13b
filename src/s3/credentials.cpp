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

bool is_true(const std::string& v) { return v == "true" || v == "TRUE" || v == "True" || v == "1"; }

// AWS_METADATA_SERVICE_TIMEOUT / _NUM_ATTEMPTS for the container endpoint
// and IMDS.
Result<ProviderLimits> metadata_limits(const Config::Lookup& env) {
  ProviderLimits l;
  const std::string timeout = get(env, "AWS_METADATA_SERVICE_TIMEOUT");
  if (!timeout.empty()) {
    char* end = nullptr;
    const double secs = std::strtod(timeout.c_str(), &end);
    if (end == timeout.c_str() || *end != '\0' || !(secs > 0) || secs > 60) {
      return Status::InvalidArgument(
          fmt::format("AWS_METADATA_SERVICE_TIMEOUT must be seconds in (0, 60], got '{}'", timeout));
    }
    l.connect_timeout = l.total_timeout = std::chrono::milliseconds(static_cast<long long>(secs * 1000));
  }
  const std::string attempts = get(env, "AWS_METADATA_SERVICE_NUM_ATTEMPTS");
  if (!attempts.empty()) {
    char* end = nullptr;
    const long n = std::strtol(attempts.c_str(), &end, 10);
    if (end == attempts.c_str() || *end != '\0' || n < 1 || n > 10) {
      return Status::InvalidArgument(
          fmt::format("AWS_METADATA_SERVICE_NUM_ATTEMPTS must be 1..10, got '{}'", attempts));
    }
    l.attempts = static_cast<int>(n);
  }
  return l;
}

std::string sts_endpoint(const S3Settings& settings, const Config::Lookup& env) {
  for (const char* var : {"AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL"}) {
    std::string v = get(env, var);
    while (!v.empty() && v.back() == '/') v.pop_back();
    if (!v.empty()) return v;
  }
  if (get(env, "AWS_STS_REGIONAL_ENDPOINTS") == "legacy") return "https://sts.amazonaws.com";
  std::string region = get(env, "AWS_REGION");
  if (region.empty()) region = get(env, "AWS_DEFAULT_REGION");
  if (region.empty()) region = settings.region.empty() ? "us-east-1" : settings.region;
  return fmt::format("https://sts.{}.amazonaws.com", region);
}

// A container credentials URL given in full must not send the authorization
// token anywhere but to the local agent or over TLS (the SDKs' rule).
bool allowed_full_uri(const std::string& url) {
  if (url.rfind("https://", 0) == 0) return true;
  if (url.rfind("http://", 0) != 0) return false;
  std::string host = url.substr(7, url.find_first_of("/?#", 7) - 7);
  if (!host.empty() && host.front() == '[') {
    host = host.substr(0, host.find(']') + 1);
  } else {
    host = host.substr(0, host.find(':'));
  }
  return host == "localhost" || host.rfind("127.", 0) == 0 || host == "[::1]" || host == "169.254.170.2" ||
         host == "169.254.170.23" || host == "[fd00:ec2::23]";
}

Result<ResolvedCredentials> from_provider(std::shared_ptr<CredentialProvider> provider) {
  auto first = provider->fetch();
  if (!first.ok()) return first.status();
  ResolvedCredentials out;
  out.credentials = std::move(first->credentials);
  out.expiration = first->expiration;
  out.source = provider->name();
  out.provider = std::move(provider);
  return out;
}

// Sources 4-5: nullopt when neither is configured.
Result<std::optional<ResolvedCredentials>> role_sources(const S3Settings& settings, const Config::Lookup& env) {
  const std::string token_file = get(env, "AWS_WEB_IDENTITY_TOKEN_FILE");
  const std::string role_arn = get(env, "AWS_ROLE_ARN");
  if (!token_file.empty() || !role_arn.empty()) {
    if (token_file.empty() || role_arn.empty()) {
      return Status::AuthFailed(fmt::format("{} is set but {} is not",
                                            token_file.empty() ? "AWS_ROLE_ARN" : "AWS_WEB_IDENTITY_TOKEN_FILE",
                                            token_file.empty() ? "AWS_WEB_IDENTITY_TOKEN_FILE" : "AWS_ROLE_ARN"));
    }
    ProviderLimits limits{std::chrono::milliseconds(2000), std::chrono::milliseconds(10000), 2};
    auto r = from_provider(make_web_identity_provider(token_file, role_arn, get(env, "AWS_ROLE_SESSION_NAME"),
                                                      sts_endpoint(settings, env), limits));
    if (!r.ok()) return r.status();
    return std::optional<ResolvedCredentials>(std::move(r.value()));
  }
  const std::string relative = get(env, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
  std::string url = relative.empty() ? get(env, "AWS_CONTAINER_CREDENTIALS_FULL_URI") : std::string();
  if (!relative.empty()) {
    url = "http://169.254.170.2" + (relative.front() == '/' ? relative : "/" + relative);
  } else if (!url.empty() && !allowed_full_uri(url)) {
    return Status::InvalidArgument(fmt::format(
        "AWS_CONTAINER_CREDENTIALS_FULL_URI '{}' must be https, or http to a loopback address or the container agent "
        "(169.254.170.2, 169.254.170.23)",
        url.substr(0, url.find('?'))));
  }
  if (url.empty()) return std::optional<ResolvedCredentials>();
  auto limits = metadata_limits(env);
  if (!limits.ok()) return limits.status();
  auto r = from_provider(make_container_provider(url, get(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN"),
                                                 get(env, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"), *limits));
  if (!r.ok()) return r.status();
  return std::optional<ResolvedCredentials>(std::move(r.value()));
}

// Source 6, the last resort: nullopt + why when it has nothing.
Result<ResolvedCredentials> imds_source(const Config::Lookup& env) {
  if (is_true(get(env, "AWS_EC2_METADATA_DISABLED"))) {
    return Status::AuthFailed("IMDS is disabled (AWS_EC2_METADATA_DISABLED)");
  }
  auto limits = metadata_limits(env);
  if (!limits.ok()) return limits.status();
  std::string endpoint = get(env, "AWS_EC2_METADATA_SERVICE_ENDPOINT");
  if (endpoint.empty()) endpoint = "http://169.254.169.254";
  return from_provider(make_imds_provider(endpoint, *limits));
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
    return ResolvedCredentials{
        Credentials{settings.access_key, settings.secret_key, settings.session_token}, "explicit", {}, {}};
  }
  // 2. environment
  auto aws = env_pair(env, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN");
  if (!aws.ok()) return aws.status();
  if (aws->has_value()) return ResolvedCredentials{std::move(**aws), "environment AWS_*", {}, {}};
  auto minio = env_pair(env, "MINIO_ACCESS_KEY", "MINIO_SECRET_KEY", nullptr);
  if (!minio.ok()) return minio.status();
  if (minio->has_value()) return ResolvedCredentials{std::move(**minio), "environment MINIO_*", {}, {}};
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
  std::string file_problem;
  if (file.empty()) {
    file_problem = "no credentials file (HOME is not set)";
  } else {
    auto c = read_credentials_file(file, profile);
    if (c.ok())
      return ResolvedCredentials{std::move(c.value()), fmt::format("profile '{}' in {}", profile, file), {}, {}};
    if (c.status().is(ErrorCode::invalid_argument) || profile_named) {
      return Status::AuthFailed(c.status().message());
    }
    file_problem = c.status().message();
  }
  // 4-5. web identity, container endpoint
  auto role = role_sources(settings, env);
  if (!role.ok()) return role.status();
  if (role->has_value()) return std::move(**role);
  // 6. IMDS
  auto imds = imds_source(env);
  if (imds.ok()) return imds;
  if (imds.status().is(ErrorCode::invalid_argument)) return imds.status();
  return Status::AuthFailed(fmt::format(
      "no S3 credentials: none in the settings, none in AWS_*/MINIO_* variables, {}, no web identity or container "
      "endpoint configured, and {}",
      file_problem, imds.status().message()));
}

}  // namespace mediastore::s3
