// Shared plumbing of the `mediastore` command-line tool.
//
// Each command group lives in its own cmd_<group>.cpp and registers itself
// with a file-scope `static const mediastore::cli::Registration reg(&fn);`.
// fn adds subcommands to the app; a subcommand's callback sets ctx.action,
// which main() runs after parsing and whose return value is the exit status.
#pragma once

#include <signal.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "mediastore/mediastore.hpp"

namespace mediastore::cli {

// Exit statuses, one per error class (documented in `mediastore --help` and
// docs/operations.md): 0 success, 1 usage error, then 10 + ErrorCode.
inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 1;
inline int exit_status_for(ErrorCode code) { return code == ErrorCode::ok ? 0 : 10 + static_cast<int>(code); }

struct Context {
  bool json = false;            // --json: machine-readable output on stdout
  int verbosity = 0;            // -v / -vv
  std::function<int()> action;  // set by the chosen subcommand
  // Exit status of the last failure config()/storage()/fail() reported.
  int failure_status = 0;

  // The configuration from the environment and the backend it selects,
  // built on first use. On failure they print the error and return null.
  const Config* config();
  std::shared_ptr<StorageBackend> storage();

  // Prints a failure to stderr ("error: <code>: <message>", or a JSON object
  // with --json) and returns its exit status.
  int fail(const Status& status);
  // Prints a JSON document or nothing (used when json is true).
  void print_json(const nlohmann::json& doc);

 private:
  std::optional<Config> config_;
  std::shared_ptr<StorageBackend> storage_;
};

using RegisterFn = void (*)(CLI::App& app, Context& ctx);

// Adds fn to the list main() calls before parsing. Safe during static init.
struct Registration {
  explicit Registration(RegisterFn fn);
};

// Every registered function, in registration order.
const std::vector<RegisterFn>& registrations();

// The whole tool: parses argv, sets up logging (-v/-vv), runs the chosen
// command and returns the exit status. main() only calls this.
int run(int argc, char** argv);

// An object's description for --json output (keys: key, size, content_type,
// etag, last_modified (ISO 8601 UTC), cache_control, content_disposition,
// metadata).
nlohmann::json object_info_json(const ObjectInfo& info);

// "2024-05-01T12:00:00Z"
std::string iso8601(std::chrono::system_clock::time_point t);

// Blocks SIGTERM and SIGINT in this thread and every thread started after,
// so that only sigwait() sees them (worker, serve).
sigset_t block_stop_signals();

// Whether stdout/stderr is a terminal (progress bars only there).
bool stderr_is_tty();

// A progress bar on stderr, drawn only when stderr is a terminal; a no-op
// otherwise. Usable as a ProgressFn.
ProgressFn progress_bar(std::string label);

// The JSON of an upload's status, as `mediastore status --json` prints it
// (cmd_upload.cpp).
nlohmann::json status_json(const UploadStatus& s);

// An UploadService end hook that runs `command` with /bin/sh -c, the
// status_json() of the ended upload (one line) on its stdin; a non-zero
// exit is the hook's failure (cmd_lifecycle.cpp). Used by
// `worker --on-complete` and `reconcile`.
UploadService::EndHook end_hook_command(std::string command);

}  // namespace mediastore::cli
