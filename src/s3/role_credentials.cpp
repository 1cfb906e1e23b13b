// Temporary credentials: the web identity, container and IMDSv2 providers,
// and the cache that refreshes their credentials ahead of expiry.
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "core/log_internal.hpp"
#include "s3/credentials.hpp"
#include "s3/http.hpp"
#include "s3/sigv4.hpp"
#include "s3/url.hpp"
#include "s3/xml.hpp"

namespace mediastore::s3 {

namespace {

using SysClock = std::chrono::system_clock;

HttpOptions http_options(const ProviderLimits& limits) {
  HttpOptions o;
  o.connect_timeout = limits.connect_timeout;
  o.low_speed_timeout = limits.total_timeout;
  o.total_timeout = limits.total_timeout;
  o.max_idle_handles = 2;
  return o;
}

// One request with the provider's attempts: transport errors and 5xx/429
// answers are tried again after a short pause; other answers are returned.
Result<HttpResponse> perform_bounded(HttpClient& http, const HttpRequest& request, int attempts) {
  Result<HttpResponse> r = Status::Internal("no attempt made");
  const int n = std::max(1, attempts);
  for (int attempt = 1; attempt <= n; ++attempt) {
    if (attempt > 1) std::this_thread::sleep_for(std::chrono::milliseconds(100 * (attempt - 1)));
    r = http.perform(request);
    if (r.ok() && r->status < 500 && r->status != 429) return r;
  }
  return r;
}

Result<std::string> read_token_file(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::AuthFailed(fmt::format("{} file '{}' cannot be read: {}", what, path, std::strerror(errno)));
  std::ostringstream ss;
  ss << in.rdbuf();
  std::string token = ss.str();
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
  if (token.empty()) return Status::AuthFailed(fmt::format("{} file '{}' is empty", what, path));
  return token;
}

// The JSON credentials document of the container endpoint and IMDS.
Result<TimedCredentials> parse_json_credentials(std::string_view body, const std::string& who) {
  const auto doc = nlohmann::json::parse(body, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return Status::Internal(fmt::format("{}: the answer is not a JSON object", who));
  }
  auto str = [&](const char* name) -> std::string {
    auto it = doc.find(name);
    return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (const std::string code = str("Code"); !code.empty() && code != "Success") {
    return Status::AuthFailed(fmt::format("{}: the answer's Code is '{}': {}", who, code, str("Message")));
  }
  TimedCredentials out;
  out.credentials.access_key_id = str("AccessKeyId");
  out.credentials.secret_access_key = str("SecretAccessKey");
  out.credentials.session_token = str("Token");
  const std::string expiration = str("Expiration");
  if (out.credentials.access_key_id.empty() || out.credentials.secret_access_key.empty()) {
    return Status::Internal(fmt::format("{}: the answer lacks AccessKeyId or SecretAccessKey", who));
  }
  if (!expiration.empty()) {
    auto t = parse_iso8601(expiration);
    if (!t) return Status::Internal(fmt::format("{}: the answer's Expiration '{}' is not ISO 8601", who, expiration));
    out.expiration = *t;
  }
  return out;
}

Status http_refusal(const std::string& who, const HttpResponse& r) {
  const std::string body = r.body.substr(0, 200);
  const std::string msg = fmt::format("{}: HTTP {}{}{}", who, r.status, body.empty() ? "" : ": ", body);
  if (r.status == 401 || r.status == 403) return Status::AuthFailed(msg);
  if (r.status == 404) return Status::NotFound(msg);
  return Status::NetworkError(msg);
}

class WebIdentityProvider final : public CredentialProvider {
 public:
  WebIdentityProvider(std::string token_file, std::string role_arn, std::string session_name, std::string endpoint,
                      ProviderLimits limits)
      : token_file_(std::move(token_file)),
        role_arn_(std::move(role_arn)),
        session_name_(std::move(session_name)),
        endpoint_(std::move(endpoint)),
        limits_(limits),
        http_(http_options(limits)) {
    if (session_name_.empty()) {
      session_name_ =
          fmt::format("mediastore-{}",
                      std::chrono::duration_cast<std::chrono::seconds>(SysClock::now().time_since_epoch()).count());
    }
  }
  std::string name() const override { return fmt::format("web identity (role {} at {})", role_arn_, endpoint_); }

  Result<TimedCredentials> fetch() override {
    auto token = read_token_file(token_file_, "web identity token (AWS_WEB_IDENTITY_TOKEN_FILE)");
    if (!token.ok()) return token.status().with_context(name());
    // AssumeRoleWithWebIdentity is not signed: the token is the proof. A
    // form POST keeps the token out of URLs (and proxy logs).
    const std::string body = encode_query({{"Action", "AssumeRoleWithWebIdentity"},
                                           {"Version", "2011-06-15"},
                                           {"RoleArn", role_arn_},
                                           {"RoleSessionName", session_name_},
                                           {"WebIdentityToken", *token}});
    HttpRequest req;
    req.method = "POST";
    req.url = endpoint_ + "/";
    req.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}, {"Accept", "application/xml"}};
    req.body = body;
    auto r = perform_bounded(http_, req, limits_.attempts);
    if (!r.ok()) return r.status().with_context(name());
    if (r->status != 200) {
      auto parsed = parse_assume_role_with_web_identity(r->body);
      if (!parsed.ok() && parsed.status().is(ErrorCode::auth_failed)) {
        return Status::AuthFailed(fmt::format("{}: HTTP {}: {}", name(), r->status, parsed.status().message()));
      }
      return http_refusal(name(), r.value());
    }
    auto parsed = parse_assume_role_with_web_identity(r->body);
    if (!parsed.ok()) return parsed.status().with_context(name());
    TimedCredentials out;
    out.credentials = Credentials{std::move(parsed->access_key_id), std::move(parsed->secret_access_key),
                                  std::move(parsed->session_token)};
    out.expiration = parsed->expiration;
    return out;
  }

 private:
  std::string token_file_, role_arn_, session_name_, endpoint_;
  ProviderLimits limits_;
  HttpClient http_;
};

class ContainerProvider final : public CredentialProvider {
 public:
  ContainerProvider(std::string url, std::string auth_token, std::string auth_token_file, ProviderLimits limits)
      : url_(std::move(url)),
        auth_token_(std::move(auth_token)),
        auth_token_file_(std::move(auth_token_file)),
        limits_(limits),
        http_(http_options(limits)) {}
  std::string name() const override { return fmt::format("container endpoint {}", url_); }

  Result<TimedCredentials> fetch() override {
    HttpRequest req;
    req.method = "GET";
    req.url = url_;
    req.headers = {{"Accept", "application/json"}};
    if (!auth_token_file_.empty()) {
      auto token =
          read_token_file(auth_token_file_, "container authorization token (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE)");
      if (!token.ok()) return token.status().with_context(name());
      req.headers.emplace_back("Authorization", *token);
    } else if (!auth_token_.empty()) {
      req.headers.emplace_back("Authorization", auth_token_);
    }
    auto r = perform_bounded(http_, req, limits_.attempts);
    if (!r.ok()) return r.status().with_context(name());
    if (r->status != 200) return http_refusal(name(), r.value());
    return parse_json_credentials(r->body, name());
  }

 private:
  std::string url_, auth_token_, auth_token_file_;
  ProviderLimits limits_;
  HttpClient http_;
};

class ImdsProvider final : public CredentialProvider {
 public:
  ImdsProvider(std::string endpoint, ProviderLimits limits)
      : endpoint_(std::move(endpoint)), limits_(limits), http_(http_options(limits)) {
    while (!endpoint_.empty() && endpoint_.back() == '/') endpoint_.pop_back();
  }
  std::string name() const override { return fmt::format("IMDSv2 at {}", endpoint_); }

  Result<TimedCredentials> fetch() override {
    // A fresh session token per fetch: fetches are minutes or hours apart.
    HttpRequest put;
    put.method = "PUT";
    put.url = endpoint_ + "/latest/api/token";
    put.headers = {{"X-aws-ec2-metadata-token-ttl-seconds", "21600"}};
    auto t = perform_bounded(http_, put, limits_.attempts);
    if (!t.ok()) return t.status().with_context(name());
    if (t->status != 200) {
      return http_refusal(name() + " refused a session token (PUT /latest/api/token)", t.value());
    }
    const std::string token = t->body;
    auto get = [&](const std::string& path) -> Result<HttpResponse> {
      HttpRequest req;
      req.method = "GET";
      req.url = endpoint_ + path;
      req.headers = {{"X-aws-ec2-metadata-token", token}};
      auto r = perform_bounded(http_, req, limits_.attempts);
      if (!r.ok()) return r.status().with_context(name());
      if (r->status != 200) return http_refusal(fmt::format("{} GET {}", name(), path), r.value());
      return r;
    };
    auto roles = get("/latest/meta-data/iam/security-credentials/");
    if (!roles.ok()) return roles.status();
    std::string role;
    std::istringstream lines(roles->body);
    while (std::getline(lines, role)) {
      while (!role.empty() && (role.back() == '\r' || role.back() == ' ')) role.pop_back();
      if (!role.empty()) break;
    }
    if (role.empty() || role.find('/') != std::string::npos) {
      return Status::NotFound(fmt::format("{}: no IAM role is attached to this instance", name()));
    }
    auto creds = get("/latest/meta-data/iam/security-credentials/" + uri_encode(role, true));
    if (!creds.ok()) return creds.status();
    return parse_json_credentials(creds->body, fmt::format("{} (role {})", name(), role));
  }

 private:
  std::string endpoint_;
  ProviderLimits limits_;
  HttpClient http_;
};

// Credentials with less than this left are not used for a new request.
constexpr std::chrono::seconds kMinRemaining{30};

}  // namespace

std::unique_ptr<CredentialProvider> make_web_identity_provider(std::string token_file, std::string role_arn,
                                                               std::string session_name, std::string sts_endpoint,
                                                               ProviderLimits limits) {
  return std::make_unique<WebIdentityProvider>(std::move(token_file), std::move(role_arn), std::move(session_name),
                                               std::move(sts_endpoint), limits);
}

std::unique_ptr<CredentialProvider> make_container_provider(std::string url, std::string auth_token,
                                                            std::string auth_token_file, ProviderLimits limits) {
  return std::make_unique<ContainerProvider>(std::move(url), std::move(auth_token), std::move(auth_token_file), limits);
}

std::unique_ptr<CredentialProvider> make_imds_provider(std::string endpoint, ProviderLimits limits) {
  return std::make_unique<ImdsProvider>(std::move(endpoint), limits);
}

// ---------------------------------------------------------------- cache

CredentialCache::CredentialCache(Credentials fixed, std::string source)
    : source_(std::move(source)), clock_([] { return SysClock::now(); }) {
  current_.credentials = std::move(fixed);
}

CredentialCache::CredentialCache(std::shared_ptr<CredentialProvider> provider, TimedCredentials first)
    : provider_(std::move(provider)), source_(provider_->name()), clock_([] { return SysClock::now(); }) {
  store(std::move(first), clock_());
}

SysClock::time_point CredentialCache::refresh_time(SysClock::time_point fetched, SysClock::time_point expiration) {
  const auto lifetime = expiration - fetched;
  return expiration - std::min<SysClock::duration>(std::chrono::minutes(5), lifetime / 2);
}

void CredentialCache::store(TimedCredentials c, SysClock::time_point now) {
  current_ = std::move(c);
  refresh_at_ = current_.expiration ? refresh_time(now, *current_.expiration) : SysClock::time_point::max();
}

std::uint64_t CredentialCache::refreshes() const {
  std::lock_guard<std::mutex> lock(mu_);
  return refreshes_;
}

std::optional<SysClock::time_point> CredentialCache::refresh_at() const {
  std::lock_guard<std::mutex> lock(mu_);
  if (provider_ == nullptr || !current_.expiration) return std::nullopt;
  return refresh_at_;
}

Result<Credentials> CredentialCache::get() {
  std::unique_lock<std::mutex> lock(mu_);
  if (provider_ == nullptr) return current_.credentials;
  for (;;) {
    const auto now = clock_();
    if (now < refresh_at_) return current_.credentials;
    const bool usable = !current_.expiration || now + kMinRemaining < *current_.expiration;
    if (fetching_) {
      if (usable) return current_.credentials;  // the fetch in flight will replace them
      const std::uint64_t gen = generation_;
      cv_.wait(lock, [&] { return generation_ != gen; });
      if (!last_error_.ok()) {
        const bool still = !current_.expiration || clock_() + kMinRemaining < *current_.expiration;
        if (!still) return last_error_;
      }
      continue;
    }
    fetching_ = true;
    lock.unlock();
    auto fetched = provider_->fetch();
    lock.lock();
    fetching_ = false;
    ++generation_;
    const auto after = clock_();
    if (fetched.ok()) {
      ++refreshes_;
      last_error_ = Status::Ok();
      store(std::move(fetched.value()), after);
      MS_LOG(debug, "s3", "refreshed credentials from {} (key {})", source_,
             mask_secret(current_.credentials.access_key_id, 4));
      cv_.notify_all();
      return current_.credentials;
    }
    last_error_ = fetched.status();
    const bool still = !current_.expiration || after + kMinRemaining < *current_.expiration;
    cv_.notify_all();
    if (still) {
      // Keep the old ones; try again after a quarter of the time left, at
      // most 30 s from now.
      const auto left = *current_.expiration - after;
      refresh_at_ = after + std::min<SysClock::duration>(std::chrono::seconds(30), left / 4);
      MS_LOG(warn, "s3", "refreshing credentials from {} failed, still using the current ones: {}", source_,
             last_error_.message());
      return current_.credentials;
    }
    return last_error_.with_context("the credentials expired and their refresh failed");
  }
}

std::shared_ptr<CredentialCache> make_credential_cache(ResolvedCredentials resolved) {
  if (resolved.provider == nullptr) {
    return std::make_shared<CredentialCache>(std::move(resolved.credentials), std::move(resolved.source));
  }
  return std::make_shared<CredentialCache>(std::move(resolved.provider),
                                           TimedCredentials{std::move(resolved.credentials), resolved.expiration});
}

}  // namespace mediastore::s3
