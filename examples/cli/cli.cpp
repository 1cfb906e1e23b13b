// Shared plumbing of the mediastore tool: the command registry, the context,
// error reporting, exit statuses and the progress bar.
#include "cli.hpp"

#include <pthread.h>
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <iostream>
#include <mutex>

namespace mediastore::cli {

namespace {

std::vector<RegisterFn>& registry() {
  static std::vector<RegisterFn> fns;
  return fns;
}

constexpr auto kJsonReplace = nlohmann::json::error_handler_t::replace;

std::string exit_status_footer() {
  std::string s =
      "Configuration comes from the environment (MEDIA_STORAGE_BACKEND, MEDIA_ROOT, MEDIA_URL, MINIO_*, AWS_*; see "
      "`mediastore doctor`).\n\nExit status:\n  0   success\n  1   usage error (bad command line)\n";
  for (int c = 1; c < kErrorCodeCount; ++c) {
    const auto code = static_cast<ErrorCode>(c);
    s += "  " + std::to_string(exit_status_for(code)) + "  " + error_code_name(code) + "\n";
  }
  s += "Errors print \"error: <code>: <message>\" on stderr (a JSON object with --json).";
  return s;
}

}  // namespace

Registration::Registration(RegisterFn fn) { registry().push_back(fn); }

const std::vector<RegisterFn>& registrations() { return registry(); }

const Config* Context::config() {
  if (!config_) {
    auto c = Config::from_environment();
    if (!c.ok()) {
      fail(c.status());
      return nullptr;
    }
    config_ = std::move(*c);
  }
  return &*config_;
}

std::shared_ptr<StorageBackend> Context::storage() {
  if (!storage_) {
    const Config* c = config();
    if (!c) return nullptr;
    auto s = make_storage(*c);
    if (!s.ok()) {
      fail(s.status());
      return nullptr;
    }
    storage_ = *s;
  }
  return storage_;
}

int Context::fail(const Status& status) {
  failure_status = exit_status_for(status.code());
  if (json) {
    nlohmann::json doc = {
        {"error",
         {{"code", error_code_name(status.code())}, {"exit_status", failure_status}, {"message", status.message()}}}};
    std::cerr << doc.dump(-1, ' ', false, kJsonReplace) << "\n";
  } else {
    std::cerr << "error: " << error_code_name(status.code()) << ": " << status.message() << "\n";
  }
  return failure_status;
}

void Context::print_json(const nlohmann::json& doc) {
  if (!json) return;
  std::cout << doc.dump(2, ' ', false, kJsonReplace) << "\n";
}

sigset_t block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

bool stderr_is_tty() { return ::isatty(STDERR_FILENO) == 1; }

ProgressFn progress_bar(std::string label) {
  if (!stderr_is_tty()) return [](std::uint64_t, std::uint64_t) { return true; };
  struct State {
    std::string label;
    int last_permille = -1;
    std::uint64_t last_done = 0;
    bool finished = false;
    std::mutex mu;
  };
  auto st = std::make_shared<State>();
  st->label = std::move(label);
  return [st](std::uint64_t done, std::uint64_t total) {
    std::lock_guard lock(st->mu);
    if (st->finished) return true;
    const double mib = 1024.0 * 1024.0;
    char line[256];
    if (total > 0) {
      const int permille = static_cast<int>(done * 1000 / total);
      if (permille == st->last_permille && done != total) return true;
      st->last_permille = permille;
      const int width = 30;
      const int filled = static_cast<int>(done * width / total);
      std::string bar(static_cast<std::size_t>(filled), '=');
      bar.resize(width, ' ');
      std::snprintf(line, sizeof line, "\r%s [%s] %5.1f%%  %.1f / %.1f MiB", st->label.c_str(), bar.c_str(),
                    permille / 10.0, static_cast<double>(done) / mib, static_cast<double>(total) / mib);
    } else {
      if (done - st->last_done < (1u << 20) && done != 0) return true;
      st->last_done = done;
      std::snprintf(line, sizeof line, "\r%s %.1f MiB", st->label.c_str(), static_cast<double>(done) / mib);
    }
    std::fputs(line, stderr);
    if (total > 0 && done >= total) {
      std::fputs("\n", stderr);
      st->finished = true;
    }
    std::fflush(stderr);
    return true;
  };
}

std::string iso8601(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

nlohmann::json object_info_json(const ObjectInfo& info) {
  nlohmann::json meta = nlohmann::json::object();
  for (const auto& [k, v] : info.user_metadata) meta[k] = v;
  return {{"key", info.key},
          {"size", info.size},
          {"content_type", info.content_type},
          {"etag", info.etag},
          {"last_modified", iso8601(info.last_modified)},
          {"cache_control", info.cache_control},
          {"content_disposition", info.content_disposition},
          {"metadata", meta}};
}

int run(int argc, char** argv) {
  CLI::App app{"mediastore: store, inspect and serve media with libmediastore", "mediastore"};
  Context ctx;
  app.set_version_flag("--version", std::string("mediastore ") + version());
  app.add_flag("--json", ctx.json, "Machine-readable JSON output on stdout");
  app.add_flag("-v,--verbose", ctx.verbosity, "More log output on stderr (-v info, -vv debug, -vvv trace)");
  app.require_subcommand(1);
  app.footer(exit_status_footer());
  for (RegisterFn fn : registrations()) fn(app, ctx);
  // Global options are accepted after the command name too.
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; })) sub->fallthrough();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }

  LogLevel level = LogLevel::warn;
  if (ctx.verbosity == 1) level = LogLevel::info;
  if (ctx.verbosity == 2) level = LogLevel::debug;
  if (ctx.verbosity >= 3) level = LogLevel::trace;
  set_log_sink(stderr_log_sink(), level);

  if (!ctx.action) {
    std::cerr << app.help();
    return kExitUsage;
  }
  try {
    return ctx.action();
  } catch (const std::exception& e) {
    return ctx.fail(Status::Internal(std::string("unexpected exception: ") + e.what()));
  }
}

}  // namespace mediastore::cli
