// `mediastore worker` processes for the queue tests: started with fork/exec,
// stderr to a log of their own, killed and restarted by the test.
#pragma once

#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace queue_test {

inline std::string env_or(const char* name, const std::string& fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

// Each worker writes its stderr to its own log, so the test can tell when it
// is ready for SIGTERM (it prints a line once its signal handling is set).
struct WorkerProc {
  pid_t pid = -1;
  std::string log;
};

// Runs `argv` (argv[0] a path) with the test's environment plus `env`
// ("NAME=value", overriding), stderr appended to <log_dir>/worker-<n>.log.
inline WorkerProc spawn_process(const std::vector<std::string>& argv, const std::string& log_dir,
                                const std::vector<std::string>& env = {}) {
  static int counter = 0;
  WorkerProc w;
  w.log = log_dir + "/worker-" + std::to_string(++counter) + ".log";
  pid_t pid = fork();
  if (pid == 0) {
    // Default signal dispositions for the worker (the test framework
    // installs handlers of its own).
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    FILE* f = freopen(w.log.c_str(), "a", stderr);
    (void)f;
    for (const auto& kv : env) putenv(const_cast<char*>(kv.c_str()));
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execv(args[0], args.data());
    _exit(127);
  }
  w.pid = pid;
  return w;
}

// The worker arguments of the kill tests: 2 threads, a 1 s lease, attempts
// enough for every kill, maintenance every second.
inline std::vector<std::string> worker_args(const std::string& cli) {
  return {cli,
          "worker",
          "--threads",
          "2",
          "--lease",
          "1",
          "--max-attempts",
          "100",
          "--maintenance-interval",
          "1",
          "--cleanup-older-than",
          "3600"};
}

inline WorkerProc spawn_worker(const std::string& cli, const std::string& log_dir) {
  return spawn_process(worker_args(cli), log_dir);
}

inline std::string read_log(const WorkerProc& w) {
  std::ifstream in(w.log);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

inline bool ready(const WorkerProc& w) { return read_log(w).find("SIGTERM or Ctrl-C to stop") != std::string::npos; }

}  // namespace queue_test
