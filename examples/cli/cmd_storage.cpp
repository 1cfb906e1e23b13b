// Storage commands: put, get, rm, stat, ls, url, doctor.
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <iomanip>
#include <iostream>

#include "cli.hpp"

namespace mediastore::cli {

namespace {

// Reads standard input as a stream of unknown size (`put KEY -`).
class StdinSource final : public ByteSource {
 public:
  Result<std::size_t> read(void* buf, std::size_t n) override {
    while (true) {
      const ssize_t r = ::read(STDIN_FILENO, buf, n);
      if (r >= 0) return static_cast<std::size_t>(r);
      if (errno != EINTR) return Status::IoError(std::string("cannot read standard input: ") + std::strerror(errno));
    }
  }
  std::optional<std::uint64_t> size() const override { return std::nullopt; }
};

// Writes to standard output (`get KEY -`).
class StdoutSink final : public ByteSink {
 public:
  Status write(const void* data, std::size_t n) override {
    const char* p = static_cast<const char*>(data);
    while (n > 0) {
      const ssize_t w = ::write(STDOUT_FILENO, p, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        return Status::IoError(std::string("cannot write standard output: ") + std::strerror(errno));
      }
      p += w;
      n -= static_cast<std::size_t>(w);
    }
    return Status::Ok();
  }
};

// A content type from the file name's extension, for `put` without
// --content-type.
std::string guess_content_type(const std::string& name) {
  const auto dot = name.rfind('.');
  if (dot == std::string::npos) return "application/octet-stream";
  std::string ext = name.substr(dot + 1);
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const std::pair<const char*, const char*> kTypes[] = {
      {"jpg", "image/jpeg"},        {"jpeg", "image/jpeg"},     {"png", "image/png"},   {"gif", "image/gif"},
      {"webp", "image/webp"},       {"heic", "image/heic"},     {"heif", "image/heif"}, {"avif", "image/avif"},
      {"svg", "image/svg+xml"},     {"txt", "text/plain"},      {"html", "text/html"},  {"css", "text/css"},
      {"json", "application/json"}, {"pdf", "application/pdf"}, {"mp4", "video/mp4"},   {"webm", "video/webm"},
  };
  for (const auto& [e, t] : kTypes)
    if (ext == e) return t;
  return "application/octet-stream";
}

void add_put(CLI::App& app, Context& ctx) {
  struct Args {
    std::string key, file, content_type, cache_control, content_disposition;
    std::vector<std::string> meta;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("put", "Store FILE (or - for standard input) at KEY");
  cmd->add_option("KEY", a->key, "Storage key")->required();
  cmd->add_option("FILE", a->file, "File to store, - for standard input")->required();
  cmd->add_option("--content-type", a->content_type, "Content type (default: from the file extension)");
  cmd->add_option("--meta", a->meta, "User metadata NAME=VALUE (repeatable)");
  cmd->add_option("--cache-control", a->cache_control, "Cache-Control to store with the object");
  cmd->add_option("--content-disposition", a->content_disposition, "Content-Disposition to store with the object");
  cmd->callback([&ctx, a] {
    ctx.action = [&ctx, a]() -> int {
      // A bad key is reported before anything else is looked at.
      if (Status s = validate_key(a->key); !s.ok()) return ctx.fail(s);
      PutOptions o;
      o.content_type =
          a->content_type.empty() ? guess_content_type(a->file == "-" ? a->key : a->file) : a->content_type;
      o.cache_control = a->cache_control;
      o.content_disposition = a->content_disposition;
      for (const auto& m : a->meta) {
        const auto eq = m.find('=');
        if (eq == std::string::npos || eq == 0)
          return ctx.fail(Status::InvalidArgument("--meta '" + m + "' must be NAME=VALUE"));
        o.user_metadata[m.substr(0, eq)] = m.substr(eq + 1);
      }
      auto store = ctx.storage();
      if (!store) return ctx.failure_status;
      o.progress = progress_bar("put " + a->key);
      Status st;
      if (a->file == "-") {
        StdinSource in;
        st = store->put(a->key, in, o);
      } else {
        auto src = FileSource::open(a->file);
        if (!src.ok()) return ctx.fail(src.status());
        st = store->put(a->key, **src, o);
      }
      if (!st.ok()) return ctx.fail(st);
      auto info = store->stat(a->key);
      if (!info.ok()) return ctx.fail(info.status());
      if (ctx.json) {
        ctx.print_json(object_info_json(*info));
      } else {
        std::cout << "stored " << info->key << " (" << info->size << " bytes, " << info->content_type << ", etag "
                  << info->etag << ")\n";
      }
      return kExitOk;
    };
  });
}

void add_get(CLI::App& app, Context& ctx) {
  struct Args {
    std::string key, file;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("get", "Read KEY into FILE (- for standard output)");
  cmd->add_option("KEY", a->key, "Storage key")->required();
  cmd->add_option("FILE", a->file, "Destination file (written atomically), - for standard output")->required();
  cmd->callback([&ctx, a] {
    ctx.action = [&ctx, a]() -> int {
      if (Status s = validate_key(a->key); !s.ok()) return ctx.fail(s);
      auto store = ctx.storage();
      if (!store) return ctx.failure_status;
      if (a->file == "-") {
        StdoutSink out;
        if (Status s = store->read(a->key, out, std::nullopt, {}); !s.ok()) return ctx.fail(s);
        return kExitOk;
      }
      if (Status s = store->read_to_file(a->key, a->file, progress_bar("get " + a->key)); !s.ok()) return ctx.fail(s);
      auto size = FileSource::open(a->file);
      const std::uint64_t n = size.ok() ? (*size)->size().value_or(0) : 0;
      if (ctx.json) {
        ctx.print_json({{"key", a->key}, {"file", a->file}, {"size", n}});
      } else {
        std::cout << "wrote " << a->file << " (" << n << " bytes)\n";
      }
      return kExitOk;
    };
  });
}

// A subcommand on one required KEY: a bad key is reported first, then the
// backend is opened and `run` does the work.
void add_key_command(CLI::App& app, Context& ctx, const char* name, const char* help,
                     std::function<int(StorageBackend& store, const std::string& key)> run) {
  auto key = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand(name, help);
  cmd->add_option("KEY", *key, "Storage key")->required();
  cmd->callback([&ctx, key, run] {
    ctx.action = [&ctx, key, run]() -> int {
      if (Status s = validate_key(*key); !s.ok()) return ctx.fail(s);
      auto store = ctx.storage();
      if (!store) return ctx.failure_status;
      return run(*store, *key);
    };
  });
}

void add_rm(CLI::App& app, Context& ctx) {
  auto run = [&ctx](StorageBackend& store, const std::string& key) -> int {
    if (Status s = store.remove(key); !s.ok()) return ctx.fail(s);
    if (ctx.json) {
      ctx.print_json({{"key", key}, {"removed", true}});
    } else {
      std::cout << "removed " << key << "\n";
    }
    return kExitOk;
  };
  add_key_command(app, ctx, "rm", "Delete KEY (deleting a missing key succeeds)", run);
}

void add_stat(CLI::App& app, Context& ctx) {
  auto run = [&ctx](StorageBackend& store, const std::string& key) -> int {
    auto info = store.stat(key);
    if (!info.ok()) return ctx.fail(info.status());
    if (ctx.json) {
      ctx.print_json(object_info_json(*info));
      return kExitOk;
    }
    std::cout << "key:           " << info->key << "\n"
              << "size:          " << info->size << "\n"
              << "content_type:  " << info->content_type << "\n"
              << "etag:          " << info->etag << "\n"
              << "last_modified: " << iso8601(info->last_modified) << "\n";
    if (!info->cache_control.empty()) std::cout << "cache_control: " << info->cache_control << "\n";
    if (!info->content_disposition.empty()) std::cout << "content_disposition: " << info->content_disposition << "\n";
    for (const auto& [k, v] : info->user_metadata) std::cout << "meta." << k << ": " << v << "\n";
    return kExitOk;
  };
  add_key_command(app, ctx, "stat", "Show size, content type, etag and metadata of KEY", run);
}

void add_ls(CLI::App& app, Context& ctx) {
  struct Args {
    std::string prefix;
    bool recursive = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("ls", "List objects under PREFIX, one folder level unless -r");
  cmd->add_option("PREFIX", a->prefix, "Key prefix (default: everything)");
  cmd->add_flag("-r,--recursive", a->recursive, "List every object beneath, not folders");
  cmd->callback([&ctx, a] {
    ctx.action = [&ctx, a]() -> int {
      auto store = ctx.storage();
      if (!store) return ctx.failure_status;
      ListOptions lo;
      lo.prefix = a->prefix;
      lo.delimiter = a->recursive ? "" : "/";
      nlohmann::json objects = nlohmann::json::array();
      nlohmann::json prefixes = nlohmann::json::array();
      while (true) {
        auto page = store->list(lo);
        if (!page.ok()) return ctx.fail(page.status());
        for (const auto& p : page->common_prefixes) {
          if (ctx.json) {
            prefixes.push_back(p);
          } else {
            std::cout << "                           PRE " << p << "\n";
          }
        }
        for (const auto& o : page->objects) {
          if (ctx.json) {
            objects.push_back(object_info_json(o));
          } else {
            std::cout << iso8601(o.last_modified) << " " << std::setw(12) << o.size << " " << o.key << "\n";
          }
        }
        if (page->next_page_token.empty()) break;
        lo.page_token = page->next_page_token;
      }
      ctx.print_json({{"prefix", a->prefix}, {"objects", objects}, {"common_prefixes", prefixes}});
      return kExitOk;
    };
  });
}

void add_url(CLI::App& app, Context& ctx) {
  struct Args {
    std::string key;
    long long expires = 3600;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("url", "Print a URL for KEY (signed and expiring where the backend signs)");
  cmd->add_option("KEY", a->key, "Storage key")->required();
  cmd->add_option("--expires", a->expires, "Seconds the URL stays valid (1 .. 604800)")->capture_default_str();
  cmd->callback([&ctx, a] {
    ctx.action = [&ctx, a]() -> int {
      if (Status s = validate_key(a->key); !s.ok()) return ctx.fail(s);
      auto store = ctx.storage();
      if (!store) return ctx.failure_status;
      auto url = store->get_url(a->key, std::chrono::seconds(a->expires));
      if (!url.ok()) return ctx.fail(url.status());
      if (ctx.json) {
        ctx.print_json({{"key", a->key}, {"url", *url}, {"expires_in", a->expires}});
      } else {
        std::cout << *url << "\n";
      }
      return kExitOk;
    };
  });
}

void add_doctor(CLI::App& app, Context& ctx) {
  CLI::App* cmd = app.add_subcommand(
      "doctor",
      "Show the effective configuration (secrets masked) and whether the backend (and clamd, if set) answers");
  cmd->callback([&ctx] {
    ctx.action = [&ctx]() -> int {
      const Config* config = ctx.config();
      if (!config) return ctx.failure_status;
      const auto pairs = config->describe_pairs();
      Status ping;
      std::string backend_name = backend_kind_name(config->backend);
      auto store = make_storage(*config);
      if (store.ok()) {
        backend_name = (*store)->name();
        ping = (*store)->ping();
      } else {
        ping = store.status();
      }
      // The virus scanner, when one is configured: clamd's PING.
      const bool scanner = !config->scan.clamd_url.empty();
      std::string scanner_name;
      Status scan_ping;
      if (scanner) {
        auto clamd = ClamdScanner::open(config->scan);
        scanner_name = clamd.ok() ? (*clamd)->describe() : "clamd";
        scan_ping = clamd.ok() ? (*clamd)->ping() : clamd.status();
      }
      if (ctx.json) {
        nlohmann::json cfg = nlohmann::json::object();
        for (const auto& [k, v] : pairs) cfg[k] = v;
        nlohmann::json backend = {{"name", backend_name}, {"ok", ping.ok()}};
        if (!ping.ok())
          backend["error"] = {{"code", error_code_name(ping.code())},
                              {"exit_status", exit_status_for(ping.code())},
                              {"message", ping.message()}};
        nlohmann::json out = {{"version", version()}, {"config", cfg}, {"backend", backend}};
        if (scanner) {
          nlohmann::json sc = {{"name", scanner_name}, {"ok", scan_ping.ok()}};
          if (!scan_ping.ok())
            sc["error"] = {{"code", error_code_name(scan_ping.code())},
                           {"exit_status", exit_status_for(scan_ping.code())},
                           {"message", scan_ping.message()}};
          out["scanner"] = sc;
        }
        ctx.print_json(out);
      } else {
        std::cout << "mediastore " << version() << "\nconfiguration:\n";
        for (const auto& [k, v] : pairs) std::cout << "  " << k << "=" << v << "\n";
        std::cout << "backend " << backend_name << ": "
                  << (ping.ok() ? std::string("answers") : "FAILS: " + ping.to_string()) << "\n";
        if (scanner)
          std::cout << "scanner " << scanner_name << ": "
                    << (scan_ping.ok() ? std::string("answers") : "FAILS: " + scan_ping.to_string()) << "\n";
      }
      if (!ping.ok()) return exit_status_for(ping.code());
      return scan_ping.ok() ? kExitOk : exit_status_for(scan_ping.code());
    };
  });
}

void register_storage_commands(CLI::App& app, Context& ctx) {
  add_put(app, ctx);
  add_get(app, ctx);
  add_rm(app, ctx);
  add_stat(app, ctx);
  add_ls(app, ctx);
  add_url(app, ctx);
  add_doctor(app, ctx);
}

const Registration reg(&register_storage_commands);

}  // namespace

}  // namespace mediastore::cli
