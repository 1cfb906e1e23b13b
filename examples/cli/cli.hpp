// Shared plumbing of the `mediastore` command-line tool.
//
// Each command group lives in its own cmd_<group>.cpp and registers itself
// with a file-scope `static const mediastore::cli::Registration reg(&fn);`.
// fn adds subcommands to the app; a subcommand's callback sets ctx.action,
// which main() runs after parsing and whose return value is the exit status.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <functional>
#include <memory>
#include <string>

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

// Whether stdout/stderr is a terminal (progress bars only there).
bool stderr_is_tty();

// A progress bar on stderr, drawn only when stderr is a terminal; a no-op
// otherwise. Usable as a ProgressFn.
ProgressFn progress_bar(std::string label);

}  // namespace mediastore::cli
