// A fault-injecting HTTP/1.1 proxy for tests: sits on 127.0.0.1 between an
// S3 client and a real server (RGW), forwards requests and responses byte for
// byte, and breaks the ones a rule selects: S3 error bursts (503 SlowDown),
// connections reset in the middle of a request or response body, truncated
// responses (fewer bytes than Content-Length, then a clean close), and stalled
// sockets (accepted but never answered, or silent in the middle of a body).
//
// The client talks plain HTTP with path-style URLs to the proxy's endpoint;
// the Host header is passed through unchanged, so SigV4 signatures made for
// the proxy's address are checked by the server against that same address.
//
// Thread-safety: every public member may be called from any thread while the
// proxy runs (rules are consumed under a lock).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace mediastore::faults {

enum class Fault {
  none,
  // Answers `status` with an S3 XML error body <Code>s3_code</Code> without
  // contacting the server (the request body is read and dropped first).
  error_response,
  // Forwards the request head and `after_bytes` bytes of its body, then resets
  // both connections (TCP RST): the server never sees a complete request.
  reset_request,
  // Forwards the head and `after_bytes` of the body, then stops reading from
  // the client and never answers (the server's connection is reset).
  stall_request,
  // Forwards the whole request; the server answers, but the client's
  // connection is reset before any byte of the answer reaches it.
  drop_response,
  // Forwards the response head and `after_bytes` of its body, then resets.
  reset_response,
  // Forwards the response head (with the server's Content-Length) and
  // `after_bytes` of its body, then closes cleanly (FIN): a short body.
  truncate_response,
  // Forwards the response head and `after_bytes` of its body, then sends
  // nothing more and keeps the connection open.
  stall_response,
  // Connection level: accepts the next connection and never reads from it or
  // answers (method and query matchers are ignored).
  stall_connection,
};

const char* fault_name(Fault f);

struct FaultRule {
  Fault fault = Fault::none;
  std::string method;              // "PUT", ...; "" matches any
  std::string path_contains;       // substring of the path (before '?'); "" matches any
  std::vector<std::string> query;  // each "name=value" (exact) or "name" (present) must match
  // Matching requests it breaks; -1 = all of them. A rule is used up when a
  // request matches, even if that body ends before after_bytes (no fault).
  int times = 1;
  std::uint64_t after_bytes = 0;  // body bytes passed on before the fault strikes
  int status = 503;               // error_response only
  std::string s3_code = "SlowDown";
};

// One request as the proxy saw it.
struct SeenRequest {
  std::string method;
  std::string target;  // path?query as sent
  Fault fault = Fault::none;
};

class FaultProxy {
 public:
  // upstream_endpoint: "http://127.0.0.1:7481" (plain HTTP, numeric IPv4).
  explicit FaultProxy(std::string upstream_endpoint);
  ~FaultProxy();
  FaultProxy(const FaultProxy&) = delete;
  FaultProxy& operator=(const FaultProxy&) = delete;

  // Binds an ephemeral port on 127.0.0.1 and starts accepting. Returns an
  // empty string on success, else what failed.
  std::string start();
  // Stops accepting, unblocks and joins every connection thread. Idempotent.
  void stop();

  int port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

  void add_rule(FaultRule rule);
  void clear_rules();

  std::vector<SeenRequest> requests() const;
  // Requests seen with this method whose target contains `target_contains`.
  int count(std::string_view method, std::string_view target_contains) const;
  // Faults applied so far.
  int faults_applied() const { return faults_applied_.load(); }

 private:
  struct Conn;
  void accept_loop();
  void serve(int client_fd);
  // Finds and consumes the first rule matching the request (or, for
  // connection == true, the first stall_connection rule).
  FaultRule take_rule(std::string_view method, std::string_view target, bool connection);
  void track(int fd);
  void untrack(int fd);

  std::string upstream_host_;
  int upstream_port_ = 0;
  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> faults_applied_{0};
  std::thread acceptor_;

  mutable std::mutex mu_;
  std::vector<FaultRule> rules_;
  std::vector<SeenRequest> seen_;
  std::vector<std::thread> workers_;
  std::vector<int> open_fds_;
};

}  // namespace mediastore::faults
