// The temporary-credential sources of the chain (web identity, container
// endpoint, IMDSv2) and their refresh, against credential_server.py.
//
// These endpoints (STS, 169.254.170.2, 169.254.169.254) exist only on AWS:
// here they can only be exercised by a small protocol server of the test's
// own on 127.0.0.1 that answers as the documented APIs do, including
// expiry, a refused IMDS token, a slow endpoint and a dead one.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "s3/client.hpp"
#include "s3/credentials.hpp"
#include "s3/http.hpp"
#include "support/temp_dir.hpp"

using namespace mediastore;
using namespace mediastore::s3;
using SysClock = std::chrono::system_clock;

namespace {

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

// One credential_server.py process for the test case.
class CredentialServer {
 public:
  CredentialServer() {
    const std::string cmd =
        env_or("MS_TEST_PYTHON", "/usr/bin/python3") + " " + env_or("MS_CRED_SERVER", "credential_server.py");
    pipe_ = ::popen(cmd.c_str(), "r");
    REQUIRE(pipe_ != nullptr);
    REQUIRE(std::fscanf(pipe_, "%d %d", &port_, &pid_) == 2);
  }
  ~CredentialServer() {
    if (pid_ > 0) ::kill(pid_, SIGTERM);
    if (pipe_ != nullptr) ::pclose(pipe_);
  }
  std::string url(const std::string& path = "") const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  void configure(const nlohmann::json& settings) {
    const std::string body = settings.dump();
    HttpRequest req;
    req.method = "POST";
    req.url = url("/_config");
    req.body = body;
    auto r = http_.perform(req);
    REQUIRE(r.ok());
    REQUIRE(r->status == 200);
  }
  // The requests the server saw (not the /_ control ones).
  nlohmann::json log() {
    HttpRequest req;
    req.method = "GET";
    req.url = url("/_log");
    auto r = http_.perform(req);
    REQUIRE(r.ok());
    return nlohmann::json::parse(r->body);
  }
  std::size_t count(const std::string& method, const std::string& path) {
    std::size_t n = 0;
    for (const auto& e : log()) n += e["method"] == method && e["path"] == path;
    return n;
  }

 private:
  FILE* pipe_ = nullptr;
  int port_ = 0;
  int pid_ = 0;
  HttpClient http_{HttpOptions{}};
};

Config::Lookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

// A port nothing listens on: bound, then closed.
int dead_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  ::close(fd);
  return ntohs(a.sin_port);
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

// Nothing in the home folder, IMDS off unless a test turns it on.
std::map<std::string, std::string> base_env(const test::TempDir& home) {
  return {{"HOME", home.path()}, {"AWS_EC2_METADATA_DISABLED", "true"}};
}

}  // namespace

TEST_CASE("web identity: the token is exchanged at STS for temporary credentials") {
  CredentialServer server;
  test::TempDir home;
  std::ofstream(home / "token") << "oidc-token\n";
  auto env = base_env(home);
  env["AWS_WEB_IDENTITY_TOKEN_FILE"] = home / "token";
  env["AWS_ROLE_ARN"] = "arn:aws:iam::123456789012:role/media";
  env["AWS_ROLE_SESSION_NAME"] = "media-test";
  env["AWS_ENDPOINT_URL_STS"] = server.url();
  auto r = resolve_credentials(S3Settings{}, env_of(env));
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  CHECK(r->credentials.access_key_id == "ASIATEST0001");
  CHECK(r->credentials.session_token == "session-token-1");
  REQUIRE(r->expiration.has_value());
  CHECK(*r->expiration > SysClock::now() + std::chrono::minutes(50));
  CHECK(contains(r->source, "web identity"));
  CHECK(r->provider != nullptr);
  auto log = server.log();
  REQUIRE(log.size() == 1);
  const std::string body = log[0]["body"];
  CHECK(log[0]["method"] == "POST");
  CHECK(contains(body, "RoleSessionName=media-test"));
  CHECK(contains(body, "RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fmedia"));
  CHECK(!log[0]["headers"].contains("authorization"));  // unsigned

  SUBCASE("a token STS refuses is auth_failed with its code, naming the provider") {
    server.configure({{"web_identity_token", "another"}});
    auto refused = resolve_credentials(S3Settings{}, env_of(env));
    REQUIRE(refused.status().is(ErrorCode::auth_failed));
    CHECK(contains(refused.status().message(), "InvalidIdentityToken"));
    CHECK(contains(refused.status().message(), server.url()));
    CHECK(!contains(refused.status().message(), "oidc-token"));
  }
  SUBCASE("half a web identity configuration is an error naming what is missing") {
    env.erase("AWS_ROLE_ARN");
    auto half = resolve_credentials(S3Settings{}, env_of(env));
    REQUIRE(half.status().is(ErrorCode::auth_failed));
    CHECK(contains(half.status().message(), "AWS_ROLE_ARN"));
  }
}

TEST_CASE("container endpoint: FULL_URI with an authorization token file") {
  CredentialServer server;
  test::TempDir home;
  std::ofstream(home / "auth") << "container-secret\n";
  server.configure({{"container_token", "container-secret"}});
  auto env = base_env(home);
  env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = server.url("/creds");
  env["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = home / "auth";
  auto r = resolve_credentials(S3Settings{}, env_of(env));
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  CHECK(r->credentials.access_key_id == "ASIATEST0001");
  CHECK(r->credentials.session_token == "session-token-1");
  CHECK(r->expiration.has_value());
  CHECK(server.log()[0]["headers"]["authorization"] == "container-secret");

  SUBCASE("a wrong token is auth_failed naming the endpoint") {
    env.erase("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "wrong";
    auto refused = resolve_credentials(S3Settings{}, env_of(env));
    REQUIRE(refused.status().is(ErrorCode::auth_failed));
    CHECK(contains(refused.status().message(), "container endpoint " + server.url("/creds")));
    CHECK(contains(refused.status().message(), "403"));
  }
  SUBCASE("a plain-http FULL_URI to another host is refused (the token would leave the machine)") {
    env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://credentials.example.com/creds";
    auto bad = resolve_credentials(S3Settings{}, env_of(env));
    REQUIRE(bad.status().is(ErrorCode::invalid_argument));
    CHECK(contains(bad.status().message(), "AWS_CONTAINER_CREDENTIALS_FULL_URI"));
  }
}

TEST_CASE("IMDSv2: session token, role name, role credentials") {
  CredentialServer server;
  test::TempDir home;
  auto env = base_env(home);
  env.erase("AWS_EC2_METADATA_DISABLED");
  env["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = server.url();
  auto r = resolve_credentials(S3Settings{}, env_of(env));
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  CHECK(r->credentials.access_key_id == "ASIATEST0001");
  CHECK(r->credentials.session_token == "session-token-1");
  auto log = server.log();
  REQUIRE(log.size() == 3);
  CHECK(log[0]["method"] == "PUT");
  CHECK(log[0]["path"] == "/latest/api/token");
  CHECK(log[0]["headers"]["x-aws-ec2-metadata-token-ttl-seconds"] == "21600");
  CHECK(log[1]["path"] == "/latest/meta-data/iam/security-credentials/");
  CHECK(log[2]["path"] == "/latest/meta-data/iam/security-credentials/test-role");
  CHECK(log[2]["headers"].contains("x-aws-ec2-metadata-token"));

  for (int refusal : {401, 403}) {
    CAPTURE(refusal);
    server.configure({{"imds_token_status", refusal}});
    auto refused = resolve_credentials(S3Settings{}, env_of(env));
    REQUIRE(refused.status().is(ErrorCode::auth_failed));
    CHECK(contains(refused.status().message(), "IMDSv2 at " + server.url() + " refused a session token"));
    CHECK(contains(refused.status().message(), std::to_string(refusal)));
  }
  env["AWS_EC2_METADATA_DISABLED"] = "true";
  auto off = resolve_credentials(S3Settings{}, env_of(env));
  REQUIRE(off.status().is(ErrorCode::auth_failed));
  CHECK(contains(off.status().message(), "AWS_EC2_METADATA_DISABLED"));
}

TEST_CASE("a slow endpoint fails within its timeout, a dead one at once, each named") {
  CredentialServer server;
  test::TempDir home;
  auto env = base_env(home);
  env["AWS_METADATA_SERVICE_TIMEOUT"] = "1";
  SUBCASE("slow: the server holds its answer for 30 s") {
    server.configure({{"delay", 30}});
    env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = server.url("/creds");
    const auto t0 = std::chrono::steady_clock::now();
    auto r = resolve_credentials(S3Settings{}, env_of(env));
    const auto waited = std::chrono::steady_clock::now() - t0;
    REQUIRE(r.status().is(ErrorCode::timeout));
    CHECK(contains(r.status().message(), "container endpoint " + server.url("/creds")));
    // Not a timing threshold: the client gave up before the server answered.
    CHECK(waited < std::chrono::seconds(30));
  }
  SUBCASE("dead: nothing listens on the port") {
    const std::string url = "http://127.0.0.1:" + std::to_string(dead_port()) + "/creds";
    env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = url;
    env["AWS_METADATA_SERVICE_NUM_ATTEMPTS"] = "2";
    auto r = resolve_credentials(S3Settings{}, env_of(env));
    REQUIRE(r.status().is(ErrorCode::network_error));
    CHECK(contains(r.status().message(), "container endpoint " + url));
  }
}

TEST_CASE("refresh: ahead of expiry, one fetch in flight, no request fails") {
  CredentialServer server;
  test::TempDir home;
  auto env = base_env(home);
  env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = server.url("/creds");
  auto r = resolve_credentials(S3Settings{}, env_of(env));
  REQUIRE_MESSAGE(r.ok(), r.status().message());
  const auto expiration = *r->expiration;
  auto cache = make_credential_cache(std::move(r.value()));
  // The cache's clock, moved by the test.
  std::atomic<SysClock::rep> offset{0};
  const auto start = SysClock::now();
  cache->set_clock_for_tests([&] { return start + SysClock::duration(offset.load()); });
  REQUIRE(cache->refresh_at().has_value());
  CHECK(*cache->refresh_at() < expiration - std::chrono::minutes(4));

  for (int i = 0; i < 5; ++i) {
    auto c = cache->get();
    REQUIRE(c.ok());
    CHECK(c->access_key_id == "ASIATEST0001");
  }
  CHECK(server.count("GET", "/creds") == 1);

  // Past the refresh time, before expiry; the refresh takes a while, so the
  // other threads arrive while it is in flight.
  offset = (*cache->refresh_at() - start + std::chrono::seconds(1)).count();
  REQUIRE(start + SysClock::duration(offset.load()) < expiration);
  server.configure({{"delay", 0.5}});
  constexpr int kThreads = 8;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0}, fresh{0};
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&] {
      auto c = cache->get();
      if (!c.ok()) ++failures;
      if (c.ok() && c->access_key_id == "ASIATEST0002") ++fresh;
    });
  }
  for (auto& t : threads) t.join();
  CHECK(failures == 0);
  CHECK(fresh >= 1);
  CHECK(server.count("GET", "/creds") == 2);  // one refresh for all eight
  CHECK(cache->refreshes() == 1);
  auto after = cache->get();
  REQUIRE(after.ok());
  CHECK(after->access_key_id == "ASIATEST0002");
  CHECK(after->session_token == "session-token-2");

  SUBCASE("a failed refresh keeps the still-valid credentials; expired ones are an error") {
    server.configure({{"delay", 0}, {"fail_status", 500}});
    offset = (*cache->refresh_at() - start + std::chrono::seconds(1)).count();
    auto kept = cache->get();
    REQUIRE(kept.ok());
    CHECK(kept->access_key_id == "ASIATEST0002");
    offset = (SysClock::now() + std::chrono::hours(2) - start).count();
    auto expired = cache->get();
    REQUIRE(!expired.ok());
    CHECK(contains(expired.status().message(), "expired"));
    CHECK(contains(expired.status().message(), "container endpoint"));
  }
}

TEST_CASE("the S3 client signs with the temporary credentials and their session token, refreshed") {
  CredentialServer server;
  test::TempDir home;
  auto env = base_env(home);
  env["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = server.url("/creds");
  S3Settings settings;
  settings.endpoint = server.url();  // the server's S3 stand-in
  settings.bucket = "media";
  settings.path_style = true;
  auto client = Client::create(settings, env_of(env));
  REQUIRE_MESSAGE(client.ok(), client.status().message());
  std::atomic<SysClock::rep> offset{0};
  const auto start = SysClock::now();
  (*client)->credential_cache().set_clock_for_tests([&] { return start + SysClock::duration(offset.load()); });

  MemoryBody body("hello");
  REQUIRE((*client)->put_object_single("a.txt", body, 5, {}).ok());
  offset = (*(*client)->credential_cache().refresh_at() - start + std::chrono::seconds(1)).count();
  MemoryBody body2("hello");
  REQUIRE((*client)->put_object_single("b.txt", body2, 5, {}).ok());
  auto presigned = (*client)->presign("GET", "b.txt", std::chrono::seconds(60));
  REQUIRE(presigned.ok());
  CHECK(contains(*presigned, "X-Amz-Security-Token=session-token-2"));

  std::vector<nlohmann::json> puts;
  for (auto& e : server.log()) {
    if (e["method"] == "PUT") puts.push_back(e);
  }
  REQUIRE(puts.size() == 2);
  CHECK(puts[0]["path"] == "/media/a.txt");
  CHECK(puts[0]["headers"]["x-amz-security-token"] == "session-token-1");
  CHECK(contains(puts[0]["headers"]["authorization"].get<std::string>(), "Credential=ASIATEST0001/"));
  CHECK(contains(puts[0]["headers"]["authorization"].get<std::string>(), "x-amz-security-token"));
  CHECK(puts[1]["headers"]["x-amz-security-token"] == "session-token-2");
  CHECK(contains(puts[1]["headers"]["authorization"].get<std::string>(), "Credential=ASIATEST0002/"));
}
