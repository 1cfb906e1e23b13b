// `mediastore serve`: the media service routes (mediastore/http.hpp) on a
// libmicrohttpd server; `mediastore grant`: prints an upload grant.
//
// The glue lives here, not in the library: the routes and their
// request/response types are framework-neutral library code that other
// hosts (a Django view, a tus endpoint) reuse, while the choice of HTTP
// server is the CLI's (docs/architecture.md).
#include <arpa/inet.h>
#include <fmt/format.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdarg>
#include <cstring>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>

#include "cli.hpp"
#include "mediastore/grant.hpp"
#include "mediastore/http.hpp"

namespace mediastore::cli {

namespace {

using Clock = std::chrono::steady_clock;

// -v: problems of single requests on stderr; -vv: libmicrohttpd's own messages.
std::atomic<int> g_verbosity{0};
void note(int level, const std::string& line) {
  if (g_verbosity.load(std::memory_order_relaxed) >= level) std::cerr << "serve: " << line << "\n";
}

struct Limits {
  unsigned threads = 4;
  unsigned max_connections = 256;
  unsigned per_ip_connections = 32;
  unsigned connection_timeout = 30;  // seconds without a byte
  double header_timeout = 10;        // seconds to send a whole request head
  std::size_t max_header_bytes = 32 * 1024;
};

// One TCP connection: when its current request head started, whether it has
// arrived. The watchdog shuts down connections whose head is late.
struct Conn {
  MHD_socket fd = MHD_INVALID_SOCKET;
  Clock::time_point head_started = Clock::now();
  bool head_done = false;
};

// One request: the raw target (from the URI log callback) and its exchange.
struct Req {
  std::string target;
  bool begun = false;
  bool declared_length = false;  // Content-Length given (the handler bounded it)
  std::unique_ptr<http::Exchange> exchange;
  // A refusal found mid-body, sent once the (bounded) rest is discarded:
  // libmicrohttpd queues responses only before or after the body.
  std::optional<http::Response> refusal;
};

class Server {
 public:
  Server(std::shared_ptr<http::Router> router, Limits limits) : router_(std::move(router)), limits_(limits) {}

  ~Server() { stop(); }

  Status start(const sockaddr* addr, bool ipv6) {
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG;
    if (ipv6) flags |= MHD_USE_IPv6;
    daemon_ = MHD_start_daemon(
        flags, 0, nullptr, nullptr, &Server::access, this, MHD_OPTION_SOCK_ADDR, addr, MHD_OPTION_THREAD_POOL_SIZE,
        limits_.threads, MHD_OPTION_CONNECTION_LIMIT, limits_.max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        limits_.per_ip_connections, MHD_OPTION_CONNECTION_TIMEOUT, limits_.connection_timeout,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, limits_.max_header_bytes, MHD_OPTION_URI_LOG_CALLBACK, &Server::uri_log,
        this, MHD_OPTION_UNESCAPE_CALLBACK, &Server::no_unescape, this, MHD_OPTION_NOTIFY_CONNECTION,
        &Server::notify_connection, this, MHD_OPTION_NOTIFY_COMPLETED, &Server::completed, this,
        MHD_OPTION_EXTERNAL_LOGGER, &Server::log, this, MHD_OPTION_END);
    if (!daemon_) return Status::NetworkError("the HTTP server could not start (address in use or not permitted?)");
    watchdog_ = std::thread([this] { watch(); });
    return Status::Ok();
  }

  void stop() {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      stopping_ = true;
    }
    cv_.notify_all();
    if (watchdog_.joinable()) watchdog_.join();
    if (daemon_) MHD_stop_daemon(daemon_);
    daemon_ = nullptr;
  }

 private:
  // Keeps the target exactly as received (the signature of a media URL is
  // over the encoded path).
  static size_t no_unescape(void*, MHD_Connection*, char* s) { return std::strlen(s); }

  static void log(void*, const char* fmt, va_list ap) {
    char buf[512];
    std::vsnprintf(buf, sizeof buf, fmt, ap);
    std::string line(buf);
    while (!line.empty() && line.back() == '\n') line.pop_back();
    note(2, "libmicrohttpd: " + line);
  }

  static void* uri_log(void*, const char* uri, MHD_Connection*) {
    auto* r = new Req;
    r->target = uri ? uri : "";
    return r;
  }

  static void notify_connection(void* cls, MHD_Connection* c, void** socket_context,
                                enum MHD_ConnectionNotificationCode code) {
    auto* self = static_cast<Server*>(cls);
    std::lock_guard lock(self->mu_);
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
      auto* conn = new Conn;
      const MHD_ConnectionInfo* info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
      if (info) conn->fd = info->connect_fd;
      self->conns_.insert(conn);
      *socket_context = conn;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
      // Called before libmicrohttpd closes the socket: once erased under the
      // lock the watchdog can no longer shut down a reused descriptor.
      auto* conn = static_cast<Conn*>(*socket_context);
      self->conns_.erase(conn);
      delete conn;
      *socket_context = nullptr;
    }
  }

  static void completed(void* cls, MHD_Connection* c, void** req_cls, enum MHD_RequestTerminationCode) {
    auto* self = static_cast<Server*>(cls);
    delete static_cast<Req*>(*req_cls);
    *req_cls = nullptr;
    // The connection now waits for its next request head.
    const MHD_ConnectionInfo* info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    std::lock_guard lock(self->mu_);
    if (info && info->socket_context) {
      auto* conn = static_cast<Conn*>(info->socket_context);
      conn->head_done = false;
      conn->head_started = Clock::now();
    }
  }

  // Slow heads (slowloris): libmicrohttpd's timeout is per idle period, so a
  // client dribbling a byte at a time would hold a connection forever.
  void watch() {
    const auto limit =
        std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(limits_.header_timeout));
    std::unique_lock lock(mu_);
    while (!stopping_) {
      cv_.wait_for(lock, std::chrono::milliseconds(200));
      const auto now = Clock::now();
      for (Conn* c : conns_) {
        if (!c->head_done && now - c->head_started > limit && c->fd != MHD_INVALID_SOCKET) {
          ::shutdown(c->fd, SHUT_RDWR);
          c->head_done = true;  // once
        }
      }
    }
  }

  static MHD_Result header_iter(void* cls, enum MHD_ValueKind, const char* key, const char* value) {
    auto* headers = static_cast<std::vector<http::Header>*>(cls);
    std::string name(key ? key : "");
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    headers->push_back({std::move(name), value ? value : ""});
    return MHD_YES;
  }

  static ssize_t read_stream(void* cls, uint64_t, char* buf, size_t max) {
    auto* reader = static_cast<http::BodyReader*>(cls);
    auto n = reader->read(buf, max);
    if (!n.ok()) {
      note(1, "a media response ended early: " + n.status().message());
      return MHD_CONTENT_READER_END_WITH_ERROR;
    }
    if (*n == 0) return MHD_CONTENT_READER_END_OF_STREAM;
    return static_cast<ssize_t>(*n);
  }

  static void free_stream(void* cls) { delete static_cast<std::shared_ptr<http::BodyReader>*>(cls); }

  static MHD_Result send(MHD_Connection* c, http::Response&& r, bool close) {
    MHD_Response* resp = nullptr;
    if (r.stream) {
      auto* holder = new std::shared_ptr<http::BodyReader>(r.stream);
      resp = MHD_create_response_from_callback(
          r.stream_size, 64 * 1024,
          [](void* cls, uint64_t pos, char* buf, size_t max) -> ssize_t {
            return read_stream(static_cast<std::shared_ptr<http::BodyReader>*>(cls)->get(), pos, buf, max);
          },
          holder, &Server::free_stream);
    } else {
      resp = MHD_create_response_from_buffer(r.body.size(), r.body.data(), MHD_RESPMEM_MUST_COPY);
    }
    if (!resp) return MHD_NO;
    for (const auto& h : r.headers) MHD_add_response_header(resp, h.name.c_str(), h.value.c_str());
    if (close) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    const MHD_Result ok = MHD_queue_response(c, static_cast<unsigned>(r.status), resp);
    MHD_destroy_response(resp);
    return ok;
  }

  static MHD_Result access(void* cls, MHD_Connection* c, const char*, const char* method, const char*,
                           const char* upload_data, size_t* upload_data_size, void** req_cls) {
    auto* self = static_cast<Server*>(cls);
    auto* req = static_cast<Req*>(*req_cls);
    if (!req) return MHD_NO;  // the URI log callback always sets it
    try {
      if (!req->begun) {
        req->begun = true;
        if (const MHD_ConnectionInfo* info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
            info && info->socket_context) {
          std::lock_guard lock(self->mu_);
          static_cast<Conn*>(info->socket_context)->head_done = true;
        }
        http::Request request;
        request.method = method ? method : "";
        request.target = req->target;
        MHD_get_connection_values(c, MHD_HEADER_KIND, &Server::header_iter, &request.headers);
        if (const MHD_ConnectionInfo* info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS)) {
          char host[INET6_ADDRSTRLEN] = "";
          const sockaddr* sa = info->client_addr;
          if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(sa)->sin_addr, host, sizeof host);
          else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr, host, sizeof host);
          request.remote_address = host;
        }
        http::Started started = self->router_->begin(request);
        if (auto* r = std::get_if<http::Response>(&started)) {
          // Answered from the head: a body, if any, is not read.
          const bool has_body = request.header("content-length") || request.header("transfer-encoding");
          return send(c, std::move(*r), has_body);
        }
        req->declared_length = request.header("content-length") != nullptr;
        req->exchange = std::move(std::get<std::unique_ptr<http::Exchange>>(started));
        return MHD_YES;
      }
      if (*upload_data_size > 0) {
        if (req->refusal) {
          *upload_data_size = 0;
          return MHD_YES;  // discarding the declared rest
        }
        auto early = req->exchange->on_body(std::string_view(upload_data, *upload_data_size));
        *upload_data_size = 0;
        if (early) {
          req->exchange.reset();
          // A chunked body has no bound: drop the connection at once.
          if (!req->declared_length) return MHD_NO;
          req->refusal = std::move(*early);
        }
        return MHD_YES;
      }
      if (req->refusal) return send(c, std::move(*req->refusal), true);
      if (!req->exchange) return MHD_YES;  // already answered
      http::Response r = req->exchange->finish();
      req->exchange.reset();
      return send(c, std::move(r), false);
    } catch (const std::exception& e) {
      note(0, "request " + req->target + " failed: " + e.what());
      return MHD_NO;
    }
  }

  std::shared_ptr<http::Router> router_;
  Limits limits_;
  MHD_Daemon* daemon_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::set<Conn*> conns_;
  std::thread watchdog_;
};

// "127.0.0.1:8080", "[::1]:8080", "0.0.0.0:80".
Status parse_listen(const std::string& text, sockaddr_storage& out, bool& ipv6) {
  std::string host, port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find("]:");
    if (close == std::string::npos) return Status::InvalidArgument("--listen must be HOST:PORT or [V6HOST]:PORT");
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
    ipv6 = true;
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string::npos) return Status::InvalidArgument("--listen must be HOST:PORT");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    ipv6 = false;
  }
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port) > 65535)
    return Status::InvalidArgument(fmt::format("--listen: bad port '{}'", port));
  std::memset(&out, 0, sizeof out);
  if (ipv6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&out);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(static_cast<uint16_t>(std::stoi(port)));
    if (inet_pton(AF_INET6, host.c_str(), &a->sin6_addr) != 1)
      return Status::InvalidArgument(fmt::format("--listen: '{}' is not an IPv6 address", host));
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&out);
    a->sin_family = AF_INET;
    a->sin_port = htons(static_cast<uint16_t>(std::stoi(port)));
    if (inet_pton(AF_INET, host.c_str(), &a->sin_addr) != 1)
      return Status::InvalidArgument(fmt::format("--listen: '{}' is not an IPv4 address", host));
  }
  return Status::Ok();
}

void add_serve(CLI::App& app, Context& ctx) {
  struct Args {
    std::string listen = "127.0.0.1:8000";
    bool worker = false;
    int worker_threads = 0;
    Limits limits;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "serve", "Serve the media service over HTTP (uploads, status, signed media, /healthz, /metrics) until SIGTERM");
  cmd->add_option("--listen", a->listen, "HOST:PORT to listen on (default: 127.0.0.1:8000)");
  cmd->add_flag("--worker", a->worker, "Also process uploads in this process (an in-process Worker)");
  cmd->add_option("--worker-threads", a->worker_threads, "Worker threads with --worker (default: 0 = two per core)")
      ->check(CLI::Range(0, 256));
  cmd->add_option("--threads", a->limits.threads, "HTTP threads (default: 4)")
      ->envname("MEDIA_HTTP_THREADS")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--max-connections", a->limits.max_connections, "Open connections at most (default: 256)")
      ->envname("MEDIA_HTTP_MAX_CONNECTIONS")
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--per-ip-connections", a->limits.per_ip_connections,
                  "Open connections from one client address at most (default: 32)")
      ->envname("MEDIA_HTTP_PER_IP_CONNECTIONS")
      ->check(CLI::Range(1, 100000));
  cmd->add_option("--connection-timeout", a->limits.connection_timeout,
                  "Seconds a connection may stay silent before it is closed (default: 30)")
      ->envname("MEDIA_HTTP_CONNECTION_TIMEOUT")
      ->check(CLI::Range(1, 3600));
  cmd->add_option("--header-timeout", a->limits.header_timeout,
                  "Seconds a client has to send a whole request head (default: 10)")
      ->envname("MEDIA_HTTP_HEADER_TIMEOUT")
      ->check(CLI::Range(0.1, 3600.0));
  cmd->add_option("--max-header-bytes", a->limits.max_header_bytes,
                  "Per-connection memory for the request head; larger heads are refused (default: 32768)")
      ->envname("MEDIA_HTTP_MAX_HEADER_BYTES")
      ->check(CLI::Range(4096, 1 << 24));
  cmd->callback([&ctx, a] {
    ctx.action = [&ctx, a]() -> int {
      sigset_t set = block_stop_signals();
      g_verbosity = ctx.verbosity;
      const Config* config = ctx.config();
      if (!config) return ctx.failure_status;
      sockaddr_storage addr{};
      bool ipv6 = false;
      if (Status s = parse_listen(a->listen, addr, ipv6); !s.ok()) return ctx.fail(s);
      auto svc = UploadService::open(*config);
      if (!svc.ok()) return ctx.fail(svc.status());
      auto router = http::make_media_service(*svc);
      if (!router.ok()) return ctx.fail(router.status());
      std::unique_ptr<Worker> worker;
      if (a->worker) {
        WorkerOptions wo;
        wo.threads = a->worker_threads;
        worker = std::make_unique<Worker>(*svc, wo);
        if (Status s = worker->start(); !s.ok()) return ctx.fail(s);
      }
      Server server(*router, a->limits);
      if (Status s = server.start(reinterpret_cast<const sockaddr*>(&addr), ipv6); !s.ok())
        return ctx.fail(Status(s.code(), fmt::format("{}: {}", a->listen, s.message())));
      if (ctx.json)
        ctx.print_json({{"listening", a->listen}, {"worker", a->worker}});
      else
        std::cerr << "serve: listening on http://" << a->listen << (a->worker ? " with an in-process worker" : "")
                  << "; SIGTERM or Ctrl-C to stop\n";
      std::cout << std::flush;
      int sig = 0;
      sigwait(&set, &sig);
      server.stop();
      if (worker) {
        worker->stop(StopMode::release);
        worker->wait();
      }
      if (!ctx.json) std::cerr << "serve: stopped\n";
      return kExitOk;
    };
  });
}

void add_grant(CLI::App& app, Context& ctx) {
  struct Args {
    std::vector<std::string> context;
    std::uint64_t max_bytes = 0;
    double expires = 3600;
    bool single_use = false;
    std::string kinds;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("grant", "Print an upload grant signed with MEDIA_UPLOAD_GRANT_SECRET");
  cmd->add_option("--context", a->context, "KEY=VALUE the upload must match and is recorded with (repeatable)");
  cmd->add_option("--max-bytes", a->max_bytes, "Largest upload in bytes (default: 0 = MAX_UPLOAD_SIZE only)");
  cmd->add_option("--expires", a->expires, "Lifetime in seconds (default: 3600; at most 7 days)")
      ->check(CLI::Range(1.0, 7 * 24 * 3600.0));
  cmd->add_flag("--single-use", a->single_use, "The grant allows one upload");
  cmd->add_option("--kinds", a->kinds, "Allowed media kinds, comma-separated: photo,video (default: any)");
  cmd->callback([&ctx, a] {
    ctx.action = [&ctx, a]() -> int {
      const Config* config = ctx.config();
      if (!config) return ctx.failure_status;
      GrantClaims claims;
      for (const auto& kv : a->context) {
        const auto eq = kv.find('=');
        if (eq == std::string::npos || eq == 0)
          return ctx.fail(Status::InvalidArgument(fmt::format("--context '{}' is not KEY=VALUE", kv)));
        claims.context[kv.substr(0, eq)] = kv.substr(eq + 1);
      }
      std::string_view kinds(a->kinds);
      while (!kinds.empty()) {
        const auto comma = kinds.find(',');
        auto k = parse_media_kind(kinds.substr(0, comma));
        if (!k.ok()) return ctx.fail(k.status());
        claims.kinds.push_back(*k);
        kinds = comma == std::string_view::npos ? std::string_view() : kinds.substr(comma + 1);
      }
      claims.max_bytes = a->max_bytes;
      claims.single_use = a->single_use;
      const auto now = std::chrono::system_clock::now();
      claims.expires_at = now + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                                    std::chrono::duration<double>(a->expires));
      auto token = issue_upload_grant(config->upload_grant_secret, claims, now);
      if (!token.ok()) return ctx.fail(token.status());
      if (ctx.json)
        ctx.print_json({{"grant", *token}, {"expires_at", iso8601(claims.expires_at)}});
      else
        std::cout << *token << "\n";
      return kExitOk;
    };
  });
}

void register_serve(CLI::App& app, Context& ctx) {
  add_serve(app, ctx);
  add_grant(app, ctx);
}

const Registration reg(&register_serve);

}  // namespace

}  // namespace mediastore::cli
