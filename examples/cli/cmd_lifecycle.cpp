// Upload lifecycle commands: reconcile (run the end-hook command for uploads
// that ended since a time), and the hook command itself (a shell command fed
// the status JSON on stdin) that `worker --on-complete` installs.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>
#include <iostream>
#include <mutex>
#include <set>

#include "cli.hpp"
#include "mediastore/upload.hpp"

namespace mediastore::cli {

namespace {

// Writes all of data to fd; false on a write error (EPIPE: the command did
// not read its stdin, which is its business).
bool write_all(int fd, const std::string& data) {
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    off += static_cast<std::size_t>(n);
  }
  return true;
}

Status run_with_stdin(const std::string& command, const std::string& input) {
  // A command that exits without reading must not kill the worker with
  // SIGPIPE: ignored here, restored in the child.
  static std::once_flag ignore_pipe;
  std::call_once(ignore_pipe, [] { ::signal(SIGPIPE, SIG_IGN); });
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return Status::IoError(std::string("pipe: ") + std::strerror(errno));
  pid_t pid = ::fork();
  if (pid < 0) {
    int e = errno;
    ::close(fds[0]);
    ::close(fds[1]);
    return Status::IoError(std::string("fork: ") + std::strerror(e));
  }
  if (pid == 0) {
    // The child: stdin from the pipe, the signals the worker blocks or
    // ignores back to normal. Only async-signal-safe calls until exec.
    ::dup2(fds[0], 0);
    sigset_t all;
    sigfillset(&all);
    ::sigprocmask(SIG_UNBLOCK, &all, nullptr);
    ::signal(SIGPIPE, SIG_DFL);
    ::execl("/bin/sh", "sh", "-c", command.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[0]);
  (void)write_all(fds[1], input);
  ::close(fds[1]);
  int wstatus = 0;
  while (::waitpid(pid, &wstatus, 0) < 0) {
    if (errno != EINTR) return Status::Internal(std::string("waitpid: ") + std::strerror(errno));
  }
  if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) return Status::Ok();
  if (WIFEXITED(wstatus))
    return Status::Internal("on-complete command exited with status " + std::to_string(WEXITSTATUS(wstatus)));
  return Status::Internal("on-complete command killed by signal " + std::to_string(WTERMSIG(wstatus)));
}

// "2024-05-01T12:00:00Z", or a duration ago: "90s", "15m", "2h", "3d".
Result<SystemTime> parse_since(const std::string& text) {
  if (!text.empty() && (text.back() == 's' || text.back() == 'm' || text.back() == 'h' || text.back() == 'd')) {
    char* end = nullptr;
    errno = 0;
    long long n = std::strtoll(text.c_str(), &end, 10);
    if (errno == 0 && end == text.c_str() + text.size() - 1 && n >= 0 && n < 100LL * 365 * 86400) {
      long long unit = text.back() == 's' ? 1 : text.back() == 'm' ? 60 : text.back() == 'h' ? 3600 : 86400;
      return std::chrono::system_clock::now() - std::chrono::seconds(n * unit);
    }
  }
  std::tm tm{};
  const char* end = ::strptime(text.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (end == nullptr || *end != '\0')
    return Status::InvalidArgument("--since '" + text +
                                   "': give a UTC time (2024-05-01T12:00:00Z) or a duration ago (90s, 15m, 2h, 3d)");
  return std::chrono::system_clock::from_time_t(::timegm(&tm));
}

void add_reconcile(CLI::App& app, Context& ctx) {
  struct Args {
    std::string since;
    std::string on_complete;
    std::size_t limit = 0;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "reconcile",
      "List the uploads that ended (completed or failed) since a time and run the --on-complete command for each: "
      "catches the hook calls a crash between the final record and the hook missed (run it periodically, with a "
      "--since that overlaps the previous run)");
  cmd->add_option("--since", a->since, "UTC time (2024-05-01T12:00:00Z) or a duration ago (90s, 15m, 2h, 3d)")
      ->required();
  cmd->add_option("--on-complete", a->on_complete,
                  "Run CMD (/bin/sh -c) for each, its status JSON on stdin; without it, print the statuses");
  cmd->add_option("--limit", a->limit, "Stop after this many uploads (default: 0 = all)");
  cmd->callback([&ctx, a] {
    ctx.action = [&ctx, a]() -> int {
      auto since = parse_since(a->since);
      if (!since.ok()) return ctx.fail(since.status());
      const Config* config = ctx.config();
      if (!config) return ctx.failure_status;
      auto svc = UploadService::open(*config);
      if (!svc.ok()) return ctx.fail(svc.status());
      UploadService::EndHook hook;
      if (!a->on_complete.empty()) hook = end_hook_command(a->on_complete);
      constexpr std::size_t kPage = 500;
      SystemTime from = since.value();
      std::set<std::string> seen;  // a page starts at the last one's time: skip repeats
      std::size_t done = 0, failed = 0;
      nlohmann::json listed = nlohmann::json::array();
      for (bool more = true; more;) {
        auto page = svc.value()->ended_since(from, kPage);
        if (!page.ok()) return ctx.fail(page.status());
        more = page->size() == kPage;
        std::size_t fresh = 0;
        for (auto& s : page.value()) {
          if (!seen.insert(s.id).second) continue;
          ++fresh;
          if (a->limit && done >= a->limit) {
            more = false;
            break;
          }
          ++done;
          if (hook) {
            Status st = hook(s);
            if (!st.ok()) {
              ++failed;
              std::cerr << "reconcile: upload " << s.id << ": " << st.message() << "\n";
            }
          } else if (ctx.json) {
            listed.push_back(status_json(s));
          } else {
            std::cout << s.id << " " << upload_state_name(s.state) << " " << iso8601(s.updated_at) << "\n";
          }
        }
        // A full page of one millisecond would repeat forever: step past it.
        if (more) from = fresh ? page->back().updated_at : page->back().updated_at + std::chrono::milliseconds(1);
      }
      if (ctx.json) {
        nlohmann::json doc = {{"uploads", done}, {"hook_failures", failed}};
        if (!hook) doc["ended"] = listed;
        ctx.print_json(doc);
      } else if (hook) {
        std::cerr << "reconcile: " << done << " uploads, " << failed << " hook failures\n";
      }
      return failed ? exit_status_for(ErrorCode::internal) : kExitOk;
    };
  });
}

void register_lifecycle_commands(CLI::App& app, Context& ctx) { add_reconcile(app, ctx); }

const Registration reg(&register_lifecycle_commands);

}  // namespace

UploadService::EndHook end_hook_command(std::string command) {
  return [command = std::move(command)](const UploadStatus& s) -> Status {
    return run_with_stdin(command, status_json(s).dump() + "\n");
  };
}

}  // namespace mediastore::cli
