// The credential chain: explicit, environment, shared credentials file.
#include <doctest/doctest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "core/crypto.hpp"
#include "s3/credentials.hpp"

using namespace mediastore;
using namespace mediastore::s3;

namespace {

struct TempFile {
  std::string path;
  explicit TempFile(const std::string& text)
      : path((std::filesystem::temp_directory_path() / ("ms-creds-" + detail::random_hex(6))).string()) {
    std::ofstream(path) << text;
  }
  ~TempFile() { std::remove(path.c_str()); }
};

Config::Lookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
    auto it = vars.find(std::string(name));
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

const char* kFile = R"(# a comment
[default]
aws_access_key_id = DEFAULTKEY
aws_secret_access_key = defaultsecret

[work]
aws_access_key_id=WORKKEY   ; inline comment
aws_secret_access_key=work/secret+key
aws_session_token = worktoken

[profile half]
aws_access_key_id = ONLYKEY
)";

}  // namespace

TEST_CASE("explicit settings come first") {
  S3Settings s;
  s.access_key = "EXPLICIT";
  s.secret_key = "explicitsecret";
  s.session_token = "tok";
  auto r = resolve_credentials(s, env_of({{"AWS_ACCESS_KEY_ID", "ENVKEY"}, {"AWS_SECRET_ACCESS_KEY", "envsecret"}}));
  REQUIRE(r.ok());
  CHECK(r->credentials.access_key_id == "EXPLICIT");
  CHECK(r->credentials.session_token == "tok");
  CHECK(r->source == "explicit");
  s.secret_key.clear();
  auto half = resolve_credentials(s, env_of({}));
  CHECK(half.status().is(ErrorCode::auth_failed));
  CHECK(half.status().message().find("secret key") != std::string::npos);
}

TEST_CASE("then the environment: AWS_* before MINIO_*") {
  S3Settings s;
  auto r = resolve_credentials(s, env_of({{"AWS_ACCESS_KEY_ID", "ENVKEY"},
                                          {"AWS_SECRET_ACCESS_KEY", "envsecret"},
                                          {"AWS_SESSION_TOKEN", "envtoken"},
                                          {"MINIO_ACCESS_KEY", "MINIOKEY"},
                                          {"MINIO_SECRET_KEY", "miniosecret"}}));
  REQUIRE(r.ok());
  CHECK(r->credentials.access_key_id == "ENVKEY");
  CHECK(r->credentials.secret_access_key == "envsecret");
  CHECK(r->credentials.session_token == "envtoken");
  auto m = resolve_credentials(s, env_of({{"MINIO_ACCESS_KEY", "MINIOKEY"}, {"MINIO_SECRET_KEY", "miniosecret"}}));
  REQUIRE(m.ok());
  CHECK(m->credentials.access_key_id == "MINIOKEY");
  CHECK(m->source == "environment MINIO_*");
  auto half = resolve_credentials(s, env_of({{"AWS_ACCESS_KEY_ID", "ENVKEY"}}));
  CHECK(half.status().is(ErrorCode::auth_failed));
  CHECK(half.status().message().find("AWS_SECRET_ACCESS_KEY") != std::string::npos);
}

TEST_CASE("then the shared credentials file and profile") {
  TempFile f(kFile);
  S3Settings s;
  auto d = resolve_credentials(s, env_of({{"AWS_SHARED_CREDENTIALS_FILE", f.path}}));
  REQUIRE_MESSAGE(d.ok(), d.status().to_string());
  CHECK(d->credentials.access_key_id == "DEFAULTKEY");
  CHECK(d->credentials.secret_access_key == "defaultsecret");
  CHECK(d->credentials.session_token.empty());

  auto w = resolve_credentials(s, env_of({{"AWS_SHARED_CREDENTIALS_FILE", f.path}, {"AWS_PROFILE", "work"}}));
  REQUIRE(w.ok());
  CHECK(w->credentials.access_key_id == "WORKKEY");
  CHECK(w->credentials.secret_access_key == "work/secret+key");
  CHECK(w->credentials.session_token == "worktoken");

  // Settings override the variables.
  s.profile = "work";
  s.credentials_file = f.path;
  auto sw = resolve_credentials(s, env_of({{"AWS_PROFILE", "nope"}}));
  REQUIRE(sw.ok());
  CHECK(sw->credentials.access_key_id == "WORKKEY");

  s = S3Settings{};
  auto missing = resolve_credentials(s, env_of({{"AWS_SHARED_CREDENTIALS_FILE", f.path}, {"AWS_PROFILE", "nope"}}));
  CHECK(missing.status().is(ErrorCode::auth_failed));
  CHECK(missing.status().message().find("'nope'") != std::string::npos);
  auto half = resolve_credentials(s, env_of({{"AWS_SHARED_CREDENTIALS_FILE", f.path}, {"AWS_PROFILE", "half"}}));
  CHECK(half.status().is(ErrorCode::auth_failed));
  CHECK(half.status().message().find("aws_secret_access_key") != std::string::npos);
  CHECK(half.status().message().find("ONLYKEY") == std::string::npos);
}

TEST_CASE("HOME/.aws/credentials is the default file; nothing anywhere is auth_failed") {
  const auto home = std::filesystem::temp_directory_path() / ("ms-home-" + detail::random_hex(6));
  std::filesystem::create_directories(home / ".aws");
  std::ofstream(home / ".aws" / "credentials") << kFile;
  auto r = resolve_credentials(S3Settings{}, env_of({{"HOME", home.string()}}));
  REQUIRE(r.ok());
  CHECK(r->credentials.access_key_id == "DEFAULTKEY");
  std::filesystem::remove_all(home);
  // IMDS off: the chain's last resort is tested against a protocol server
  // in tests/credentials.
  auto none =
      resolve_credentials(S3Settings{}, env_of({{"HOME", home.string()}, {"AWS_EC2_METADATA_DISABLED", "true"}}));
  CHECK(none.status().is(ErrorCode::auth_failed));
  CHECK(none.status().message().find("no S3 credentials") != std::string::npos);
}
