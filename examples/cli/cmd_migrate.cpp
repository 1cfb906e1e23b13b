// `mediastore migrate`: copies every object from one backend to another
// (mediastore::migrate), with a progress bar, a summary and a clean stop on
// SIGINT/SIGTERM.
#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>

#include "cli.hpp"
#include "mediastore/migrate.hpp"

namespace mediastore::cli {
namespace {

struct MigrateArgs {
  std::string from;
  std::string to;
  std::string dest_env_prefix = "MIGRATE_TO_";
  std::string dest_config;
  std::string prefix;
  int concurrency = 8;
  bool delete_source = false;
  bool dry_run = false;
  std::string journal;
  std::string temp_dir;
};

std::atomic<bool> g_stop{false};

extern "C" void on_stop_signal(int) { g_stop.store(true); }

// Installs the stop handlers for the duration of a run; a second signal
// kills the process the usual way (SA_RESETHAND).
class StopSignals {
 public:
  StopSignals() {
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sa.sa_flags = SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~StopSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

std::string trim(std::string s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return {};
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

// KEY=VALUE lines; blank lines and '#' comments ignored; an optional
// "export " prefix and matching quotes around the value are removed.
Result<std::map<std::string, std::string>> read_config_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(fmt::format("cannot open destination config file '{}'", path));
  std::map<std::string, std::string> vars;
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    if (line.rfind("export ", 0) == 0) line = trim(line.substr(7));
    const auto eq = line.find('=');
    if (eq == std::string::npos || eq == 0)
      return Status::InvalidArgument(fmt::format("{}:{}: expected KEY=VALUE", path, n));
    std::string key = trim(line.substr(0, eq));
    std::string value = trim(line.substr(eq + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') && value.back() == value.front())
      value = value.substr(1, value.size() - 2);
    vars[key] = value;
  }
  return vars;
}

Result<Config> config_with_backend(Config::Lookup lookup, const std::string& backend) {
  return Config::from_lookup([&](std::string_view name) -> std::optional<std::string> {
    if (name == "MEDIA_STORAGE_BACKEND" && !backend.empty()) return backend;
    return lookup(name);
  });
}

std::optional<std::string> from_env(std::string_view name) {
  const char* v = std::getenv(std::string(name).c_str());
  if (!v) return std::nullopt;
  return std::string(v);
}

// Where a configuration stores objects, for the journal scope and the
// same-store check (no secrets).
std::string location(const Config& c) {
  if (c.backend == BackendKind::local) {
    std::error_code ec;
    auto p = std::filesystem::weakly_canonical(c.media_root, ec);
    return fmt::format("local:{}", ec ? c.media_root : p.string());
  }
  return fmt::format("{}:{}/{}", backend_kind_name(c.backend), c.s3.endpoint, c.s3.bucket);
}

std::string human_bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{:.0f} {}", b, units[u]) : fmt::format("{:.1f} {}", b, units[u]);
}

// One status line on stderr, redrawn at most ten times a second.
class ProgressLine {
 public:
  void update(const MigrateProgress& p, bool force = false) {
    const auto now = std::chrono::steady_clock::now();
    if (!force && now - last_ < std::chrono::milliseconds(100)) return;
    last_ = now;
    const double secs = std::chrono::duration<double>(p.elapsed).count();
    const std::uint64_t done = p.copied + p.skipped + p.failed + p.planned;
    const std::string line = fmt::format(
        "\r\x1b[K{}/{}{} objects  copied {}  skipped {}  failed {}  {}  {}/s  {:.0f} objects/s", done, p.listed,
        p.listing_done ? "" : "+", p.copied, p.skipped, p.failed, human_bytes(static_cast<double>(p.bytes)),
        human_bytes(secs > 0 ? static_cast<double>(p.bytes) / secs : 0.0),
        secs > 0 ? static_cast<double>(done) / secs : 0.0);
    if (::write(STDERR_FILENO, line.data(), line.size()) < 0) return;
    drawn_ = true;
  }
  void finish() {
    if (drawn_ && ::write(STDERR_FILENO, "\n", 1) < 0) return;
  }

 private:
  std::chrono::steady_clock::time_point last_{};
  bool drawn_ = false;
};

int run_migrate(Context& ctx, const MigrateArgs& a) {
  // Source: the usual environment, --from overriding MEDIA_STORAGE_BACKEND.
  auto src_cfg = config_with_backend(from_env, a.from);
  if (!src_cfg.ok()) return ctx.fail(src_cfg.status().with_context("source configuration"));

  // Destination: a config file, or the same variables under a prefix.
  Config::Lookup dest_lookup;
  std::map<std::string, std::string> file_vars;
  if (!a.dest_config.empty()) {
    auto vars = read_config_file(a.dest_config);
    if (!vars.ok()) return ctx.fail(vars.status());
    file_vars = std::move(*vars);
    dest_lookup = [&file_vars](std::string_view name) -> std::optional<std::string> {
      auto it = file_vars.find(std::string(name));
      if (it == file_vars.end()) return std::nullopt;
      return it->second;
    };
  } else {
    const std::string prefix = a.dest_env_prefix;
    dest_lookup = [prefix](std::string_view name) { return from_env(prefix + std::string(name)); };
  }
  auto dst_cfg = config_with_backend(dest_lookup, a.to);
  if (!dst_cfg.ok())
    return ctx.fail(dst_cfg.status().with_context(
        a.dest_config.empty() ? fmt::format("destination configuration (variables prefixed {})", a.dest_env_prefix)
                              : fmt::format("destination configuration ('{}')", a.dest_config)));

  const std::string from_loc = location(*src_cfg);
  const std::string to_loc = location(*dst_cfg);
  if (from_loc == to_loc)
    return ctx.fail(Status::InvalidArgument(fmt::format("source and destination are the same store ({})", from_loc)));

  auto src = make_storage(*src_cfg);
  if (!src.ok()) return ctx.fail(src.status().with_context("source"));
  auto dst = make_storage(*dst_cfg);
  if (!dst.ok()) return ctx.fail(dst.status().with_context("destination"));

  MigrateOptions opt;
  opt.prefix = a.prefix;
  opt.concurrency = a.concurrency;
  opt.delete_source = a.delete_source;
  opt.dry_run = a.dry_run;
  opt.journal_path = a.journal;
  opt.journal_scope = from_loc + " -> " + to_loc;
  opt.temp_dir = a.temp_dir;
  opt.stop = &g_stop;

  ProgressLine bar;
  std::mutex bar_mu;
  const bool draw = stderr_is_tty();
  if (draw)
    opt.progress = [&](const MigrateProgress& p) {
      std::lock_guard<std::mutex> lock(bar_mu);
      bar.update(p);
    };

  g_stop = false;
  Result<MigrateReport> rep = Status::Internal("not run");
  {
    StopSignals signals;
    rep = migrate(**src, **dst, opt);
  }
  if (draw) {
    if (rep.ok()) bar.update(rep->counts, true);
    bar.finish();
  }
  if (!rep.ok()) return ctx.fail(rep.status());
  const MigrateReport& r = *rep;
  const auto& c = r.counts;
  const double secs = std::chrono::duration<double>(c.elapsed).count();

  if (ctx.json) {
    nlohmann::json doc;
    doc["from"] = from_loc;
    doc["to"] = to_loc;
    doc["prefix"] = a.prefix;
    doc["dry_run"] = a.dry_run;
    doc["delete_source"] = a.delete_source;
    doc["listed"] = c.listed;
    doc["copied"] = c.copied;
    doc["skipped"] = c.skipped;
    doc["deleted"] = c.deleted;
    doc["failed"] = c.failed;
    doc["bytes"] = c.bytes;
    doc["elapsed_seconds"] = secs;
    doc["cancelled"] = r.cancelled;
    doc["ok"] = r.ok();
    if (r.error.ok())
      doc["error"] = nullptr;
    else
      doc["error"] = {{"code", error_code_name(r.error.code())}, {"message", r.error.message()}};
    doc["failures"] = nlohmann::json::array();
    for (const auto& f : r.failures)
      doc["failures"].push_back(
          {{"key", f.key}, {"code", error_code_name(f.status.code())}, {"message", f.status.message()}});
    if (a.dry_run) doc["would_copy"] = r.planned;
    ctx.print_json(doc);
  } else {
    for (const auto& key : r.planned) fmt::print("would copy {}\n", key);
    fmt::print("{}{} -> {}: listed {}, {} {} ({}), skipped {} already there, deleted {}, failed {} in {:.1f} s{}\n",
               a.dry_run ? "dry run: " : "", from_loc, to_loc, c.listed, a.dry_run ? "would copy" : "copied",
               a.dry_run ? c.planned : c.copied, human_bytes(static_cast<double>(c.bytes)), c.skipped, c.deleted,
               c.failed, secs, r.cancelled ? " (stopped early: run again to continue)" : "");
    std::fflush(stdout);
    for (const auto& f : r.failures)
      fmt::print(stderr, "failed {}: {}: {}\n", f.key, error_code_name(f.status.code()), f.status.message());
    if (!r.error.ok()) fmt::print(stderr, "error: {}\n", r.error.to_string());
  }
  if (!r.error.ok()) return exit_status_for(r.error.code());
  if (!r.failures.empty()) return exit_status_for(r.failures.front().status.code());
  if (r.cancelled) return exit_status_for(ErrorCode::cancelled);
  return kExitOk;
}

void register_migrate(CLI::App& app, Context& ctx) {
  auto args = std::make_shared<MigrateArgs>();
  CLI::App* cmd = app.add_subcommand("migrate", "Copy every object from one storage backend to another, verified");
  cmd->add_option("--from", args->from, "Source backend (overrides MEDIA_STORAGE_BACKEND)")
      ->check(CLI::IsMember({"local", "minio", "s3"}));
  cmd->add_option("--to", args->to, "Destination backend (overrides the destination's MEDIA_STORAGE_BACKEND)")
      ->check(CLI::IsMember({"local", "minio", "s3"}));
  auto* env_prefix = cmd->add_option("--dest-env-prefix", args->dest_env_prefix,
                                     "Read the destination from the usual variable names with this prefix")
                         ->capture_default_str();
  cmd->add_option("--dest-config", args->dest_config, "Read the destination from a KEY=VALUE file")
      ->check(CLI::ExistingFile)
      ->excludes(env_prefix);
  cmd->add_option("--prefix", args->prefix, "Only move keys starting with this prefix");
  cmd->add_option("--concurrency", args->concurrency, "Objects copied at once")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_flag("--delete-source", args->delete_source, "Remove each source object once its copy is verified");
  cmd->add_flag("--dry-run", args->dry_run, "Change nothing; list what would be copied");
  cmd->add_option("--journal", args->journal,
                  "Journal file of verified keys: a run started again with it skips them (recommended)");
  cmd->add_option("--temp-dir", args->temp_dir, "Folder for staging large objects (default: $TMPDIR or /tmp)");
  cmd->footer(R"(The source is configured from the environment as usual (MEDIA_STORAGE_BACKEND,
MEDIA_ROOT, MINIO_*, AWS_*; --from overrides the backend).

The destination uses the same variable names, either
  * prefixed in the environment (default prefix MIGRATE_TO_), e.g.
      MIGRATE_TO_MEDIA_STORAGE_BACKEND=minio MIGRATE_TO_MINIO_ENDPOINT=http://127.0.0.1:9000
      MIGRATE_TO_MINIO_ACCESS_KEY=... MIGRATE_TO_MINIO_SECRET_KEY=... MIGRATE_TO_MINIO_BUCKET_NAME=media
  * or in a file given with --dest-config, one KEY=VALUE per line ('#' comments,
    optional 'export ' and quotes), e.g.
      MEDIA_STORAGE_BACKEND=s3
      AWS_STORAGE_BUCKET_NAME=media
      AWS_DEFAULT_REGION=eu-west-1
--to overrides the destination's MEDIA_STORAGE_BACKEND.

Every copy is read back and compared (size, sha256, content type, metadata)
before it counts. Ctrl-C stops cleanly (a second Ctrl-C kills); run the same
command again to continue: objects in the journal or already identical in the
destination are skipped. Exit status 0 when every object is in place,
otherwise 10 + the error code of the first failure (each one is listed).)");
  cmd->callback([&ctx, args] { ctx.action = [&ctx, args] { return run_migrate(ctx, *args); }; });
}

const Registration reg(&register_migrate);

}  // namespace
}  // namespace mediastore::cli
