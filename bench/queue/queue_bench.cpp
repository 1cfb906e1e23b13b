// The queue benchmark's libmediastore side (bench/queue/run.sh); public API
// only. Prints one JSON object per measurement on stdout; bench/queue/driver.py
// collects them.
//
//   bench_queue noop BACKEND URL [--jobs N] [--runs R] [--threads T] [--batch B] [--shared] [--api single|batch]
//       BACKEND memory|sqlite|redis. For sqlite URL is a folder (a new file
//       per run; "FOLDER?synchronous=normal" passes that option to
//       make_sqlite_queue); for redis a redis:// URL (a new queue name per run).
//       Per run: "enqueue" = one thread enqueues N no-op jobs into an empty
//       queue; "e2e" = one producer thread enqueues N jobs while T worker
//       threads lease (up to B at a time) and ack them, timed from the first
//       enqueue to the last ack (--producers P splits the enqueueing over P
//       threads; default 1). Without --shared, every thread opens its own
//       queue object (own connection, as separate processes would); memory is
//       always shared. --api single (the default) uses one call per job:
//       enqueue() per job, ack() per leased job. --api batch uses the batch
//       calls instead: enqueue_batch() of B jobs at a time (in both
//       measurements) and one ack_batch() per lease. Every JSON line names
//       the API it used ("api").
//   bench_queue upload PHOTO [--jobs N] [--runs R] [--threads T]
//                     [--server-pids P,P,...] [--redis-pids P,...]
//       Configuration from the environment (storage, MEDIA_QUEUE_*, spool).
//       Starts a Worker with T threads, then per run submits N uploads of
//       PHOTO and times from the first submit to the last completion; reports
//       the CPU seconds of this process, of the listed server and Redis
//       processes and the idle seconds of all cores over the same interval.
//   bench_queue stages PHOTO [--runs R]
//       The steps of one upload job timed one by one in one thread (medians).
//   bench_queue deadworker URL [--runs R] [--lease-ms L]
//       Per run: enqueue one job on redis, start a process ("hold") that
//       leases it and never acks, start a second process ("take") that polls
//       the queue like a Worker (500 ms lease waits), SIGKILL the holder, and
//       report the time from the kill until the taker has the job.
//   bench_queue hold URL NAME LEASE_MS  /  bench_queue take URL NAME
//       The two helper processes of deadworker.
#include <fmt/format.h>
#include <signal.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "mediastore/config.hpp"
#include "mediastore/media.hpp"
#include "mediastore/queue.hpp"
#include "mediastore/storage.hpp"
#include "mediastore/upload.hpp"

extern char** environ;

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using mediastore::JobQueue;
using mediastore::QueueOptions;

[[noreturn]] void die(const std::string& msg) {
  std::fprintf(stderr, "bench_queue: %s\n", msg.c_str());
  std::exit(1);
}

template <typename T>
T must(mediastore::Result<T> r, const char* what) {
  if (!r.ok()) die(fmt::format("{}: {}", what, r.status().to_string()));
  return std::move(r.value());
}

void must(const mediastore::Status& s, const char* what) {
  if (!s.ok()) die(fmt::format("{}: {}", what, s.to_string()));
}

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

struct Args {
  std::vector<std::string> positional;
  std::size_t jobs = 0;
  int runs = 3;
  int threads = 2;
  std::size_t batch = 16;
  bool shared = false;
  int producers = 1;
  long lease_ms = 5000;
  bool batch_api = false;
  std::vector<int> server_pids, redis_pids;  // upload: CPU of these processes is reported too
};

std::vector<int> parse_pids(const std::string& list) {
  std::vector<int> pids;
  std::size_t at = 0;
  while (at < list.size()) {
    std::size_t end = list.find(',', at);
    if (end == std::string::npos) end = list.size();
    if (end > at) pids.push_back(std::stoi(list.substr(at, end - at)));
    at = end + 1;
  }
  return pids;
}

Args parse(int argc, char** argv, int from) {
  Args a;
  for (int i = from; i < argc; ++i) {
    std::string s = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) die(fmt::format("{} needs a value", s));
      return argv[++i];
    };
    if (s == "--jobs") {
      a.jobs = std::stoul(next());
    } else if (s == "--runs") {
      a.runs = std::stoi(next());
    } else if (s == "--threads") {
      a.threads = std::stoi(next());
    } else if (s == "--server-pids") {
      a.server_pids = parse_pids(next());
    } else if (s == "--redis-pids") {
      a.redis_pids = parse_pids(next());
    } else if (s == "--batch") {
      a.batch = std::stoul(next());
    } else if (s == "--producers") {
      a.producers = std::stoi(next());
    } else if (s == "--api") {
      std::string v = next();
      if (v != "single" && v != "batch") die("--api is single or batch");
      a.batch_api = v == "batch";
    } else if (s == "--shared") {
      a.shared = true;
    } else if (s == "--lease-ms") {
      a.lease_ms = std::stol(next());
    } else if (s.rfind("--", 0) == 0) {
      die(fmt::format("unknown option {}", s));
    } else {
      a.positional.push_back(s);
    }
  }
  return a;
}

// Opens a queue of the given backend; `where` is the sqlite folder or the redis URL.
std::shared_ptr<JobQueue> open_queue(const std::string& backend, const std::string& where, const std::string& name) {
  QueueOptions o;
  o.name = name;
  if (backend == "memory") return mediastore::make_memory_queue(o);
  if (backend == "sqlite") {
    // "FOLDER?synchronous=normal": the option goes after the file name.
    auto q = where.find('?');
    std::string query = q == std::string::npos ? "" : where.substr(q);
    return must(mediastore::make_sqlite_queue(where.substr(0, q) + "/" + name + ".sqlite3" + query, o), "sqlite");
  }
  if (backend == "redis") return must(mediastore::make_redis_queue(where, o), "redis");
  die(fmt::format("unknown backend '{}'", backend));
}

std::string run_tag() { return fmt::format("b{}x{}", ::getpid(), wall_ms() % 100000000); }

// Enqueues jobs "j<i>" for i = from, from + step, ... < n: one enqueue() per
// job, or enqueue_batch() of `batch` jobs at a time.
bool produce(JobQueue& q, std::size_t from, std::size_t step, std::size_t n, bool batch_api, std::size_t batch,
             const std::atomic<bool>& failed) {
  if (!batch_api) {
    for (std::size_t i = from; i < n && !failed; i += step) must(q.enqueue(fmt::format("j{}", i), "{}"), "enqueue");
    return true;
  }
  std::vector<mediastore::NewJob> jobs;
  for (std::size_t i = from; i < n && !failed; i += step) {
    jobs.push_back(mediastore::NewJob{fmt::format("j{}", i), "{}", {}});
    if (jobs.size() >= batch || i + step >= n) {
      for (auto& st : q.enqueue_batch(jobs)) must(st, "enqueue_batch");
      jobs.clear();
    }
  }
  return true;
}

int cmd_noop(const Args& a) {
  if (a.positional.size() != 2) die("usage: bench_queue noop BACKEND URL [options]");
  const std::string backend = a.positional[0], where = a.positional[1];
  const std::size_t n = a.jobs ? a.jobs : 10000;
  const bool shared = a.shared || backend == "memory";
  const char* api = a.batch_api ? "batch" : "single";
  for (int run = 0; run < a.runs; ++run) {
    // Enqueue rate, one thread.
    {
      std::string name = run_tag() + "e" + std::to_string(run);
      auto q = open_queue(backend, where, name);
      std::atomic<bool> never{false};
      auto t0 = Clock::now();
      produce(*q, 0, 1, n, a.batch_api, a.batch, never);
      double dt = seconds_since(t0);
      std::printf(
          "{\"what\":\"enqueue\",\"backend\":\"%s\",\"api\":\"%s\",\"run\":%d,\"jobs\":%zu,\"seconds\":%.6f,"
          "\"per_s\":%.1f}\n",
          backend.c_str(), api, run, n, dt, n / dt);
      std::fflush(stdout);
      // Leave the backend clean: drain what we queued (not timed).
      for (;;) {
        auto got = must(q->lease(512, 60s, 0ms), "lease");
        if (got.empty()) break;
        for (auto& j : got) must(q->ack(j), "ack");
      }
    }
    // End to end: producer + T workers.
    {
      std::string name = run_tag() + "x" + std::to_string(run);
      auto first = open_queue(backend, where, name);
      std::atomic<std::size_t> done{0};
      std::atomic<bool> failed{false};
      std::vector<std::thread> threads;
      std::atomic<bool> go{false};
      std::vector<std::shared_ptr<JobQueue>> queues;
      const int np = std::max(1, a.producers);
      for (int t = 0; t < np + a.threads; ++t)
        queues.push_back(shared || t == 0 ? first : open_queue(backend, where, name));
      for (int t = np; t < np + a.threads; ++t) {
        threads.emplace_back([&, t] {
          auto& q = *queues[t];
          while (!go) std::this_thread::yield();
          while (done.load() < n && !failed) {
            auto got = q.lease(a.batch, 60s, 50ms);
            if (!got.ok()) {
              std::fprintf(stderr, "lease: %s\n", got.status().to_string().c_str());
              failed = true;
              return;
            }
            if (a.batch_api && !got.value().empty()) {
              for (auto& s : q.ack_batch(got.value())) {
                if (!s.ok()) {
                  std::fprintf(stderr, "ack_batch: %s\n", s.to_string().c_str());
                  failed = true;
                  return;
                }
              }
            } else {
              for (auto& j : got.value()) {
                auto s = q.ack(j);
                if (!s.ok()) {
                  std::fprintf(stderr, "ack: %s\n", s.to_string().c_str());
                  failed = true;
                  return;
                }
              }
            }
            done += got.value().size();
          }
        });
      }
      auto t0 = Clock::now();
      go = true;
      std::vector<std::thread> producers;
      for (int p = 1; p < np; ++p)
        producers.emplace_back([&, p] {
          produce(*queues[p], static_cast<std::size_t>(p), static_cast<std::size_t>(np), n, a.batch_api, a.batch,
                  failed);
        });
      produce(*queues[0], 0, static_cast<std::size_t>(np), n, a.batch_api, a.batch, failed);
      for (auto& th : producers) th.join();
      double enq = seconds_since(t0);
      for (auto& th : threads) th.join();
      double dt = seconds_since(t0);
      if (failed) die("end-to-end run failed");
      auto st = must(first->stats(), "stats");
      if (st.ready + st.in_flight + st.delayed + st.dead != 0)
        die(fmt::format("queue not empty after the run: ready {} in flight {}", st.ready, st.in_flight));
      std::printf(
          "{\"what\":\"e2e\",\"backend\":\"%s\",\"api\":\"%s\",\"run\":%d,\"jobs\":%zu,\"producers\":%d,\"threads\":%d,"
          "\"batch\":%zu,"
          "\"shared\":%s,\"seconds\":%.6f,\"enqueue_seconds\":%.6f,\"per_s\":%.1f}\n",
          backend.c_str(), api, run, n, np, a.threads, a.batch, shared ? "true" : "false", dt, enq, n / dt);
      std::fflush(stdout);
    }
    if (backend == "sqlite") {
      std::error_code ec;
      for (auto& e : std::filesystem::directory_iterator(where.substr(0, where.find('?')), ec))
        if (e.path().filename().string().rfind("b", 0) == 0) std::filesystem::remove(e.path(), ec);
    }
  }
  return 0;
}

// User + system CPU seconds of this process so far (all threads).
double process_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// CPU seconds (user + system) of other processes (0 for a process that is
// gone), and idle seconds of all cores, from /proc.
double processes_cpu_seconds(const std::vector<int>& pids) {
  const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
  double sum = 0;
  for (int pid : pids) {
    std::FILE* f = std::fopen(fmt::format("/proc/{}/stat", pid).c_str(), "r");
    if (f == nullptr) continue;
    char buf[1024];
    const std::size_t n = std::fread(buf, 1, sizeof buf - 1, f);
    std::fclose(f);
    buf[n] = '\0';
    const char* p = std::strrchr(buf, ')');  // the command name may hold spaces
    unsigned long long utime = 0, stime = 0;
    if (p != nullptr &&
        std::sscanf(p + 1, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) == 2)
      sum += static_cast<double>(utime + stime) / tick;
  }
  return sum;
}

double idle_cpu_seconds() {
  std::FILE* f = std::fopen("/proc/stat", "r");
  if (f == nullptr) return 0;
  unsigned long long v[5] = {};
  const int got = std::fscanf(f, "cpu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4]);
  std::fclose(f);
  return got == 5 ? static_cast<double>(v[3] + v[4]) / static_cast<double>(sysconf(_SC_CLK_TCK)) : 0;
}

int cmd_upload(const Args& a) {
  if (a.positional.size() != 1) die("usage: bench_queue upload PHOTO [options]");
  const std::string photo = a.positional[0];
  const std::size_t n = a.jobs ? a.jobs : 20;
  auto config = must(mediastore::Config::from_environment(), "config");
  auto svc = must(mediastore::UploadService::open(config), "UploadService::open");
  mediastore::WorkerOptions wo;
  wo.threads = a.threads;
  mediastore::Worker worker(svc, wo);
  must(worker.start(), "worker start");
  // One warm-up upload (bucket creation, connections).
  {
    mediastore::UploadRequest rq;
    rq.source_path = photo;
    rq.original_filename = "warmup.jpg";
    rq.content_type = "image/jpeg";
    auto id = must(svc->submit_upload(rq), "submit");
    for (;;) {
      auto st = must(svc->status(id), "status");
      if (st.state == mediastore::UploadState::completed) break;
      if (st.state == mediastore::UploadState::failed) die(fmt::format("warm-up upload failed: {}", st.error_message));
      std::this_thread::sleep_for(20ms);
    }
    // The worker counts the job a moment after it saved the status.
    for (;;) {
      auto m = must(svc->metrics(), "metrics");
      if (m.completed + m.failed >= 1) break;
      std::this_thread::sleep_for(1ms);
    }
  }
  for (int run = 0; run < a.runs; ++run) {
    auto before = must(svc->metrics(), "metrics");
    std::vector<std::string> ids;
    const double cpu0 = process_cpu_seconds();
    const double server0 = processes_cpu_seconds(a.server_pids), redis0 = processes_cpu_seconds(a.redis_pids);
    const double idle0 = idle_cpu_seconds();
    auto t0 = Clock::now();
    for (std::size_t i = 0; i < n; ++i) {
      mediastore::UploadRequest rq;
      rq.source_path = photo;
      rq.original_filename = fmt::format("IMG_{}.jpg", i);
      rq.content_type = "image/jpeg";
      ids.push_back(must(svc->submit_upload(rq), "submit"));
    }
    double submit_s = seconds_since(t0);
    for (;;) {
      auto m = must(svc->metrics(), "metrics");
      if (m.completed + m.failed - before.completed - before.failed >= n) break;
      if (seconds_since(t0) > 600) die("uploads did not finish within 600 s");
      std::this_thread::sleep_for(5ms);
    }
    double dt = seconds_since(t0);
    const double cpu = process_cpu_seconds() - cpu0;
    const double server_cpu = processes_cpu_seconds(a.server_pids) - server0;
    const double redis_cpu = processes_cpu_seconds(a.redis_pids) - redis0;
    const double idle = idle_cpu_seconds() - idle0;
    std::size_t completed = 0;
    for (auto& id : ids) {
      auto st = must(svc->status(id), "status");
      if (st.state == mediastore::UploadState::completed && st.result && st.result->thumbnails.size() == 3) {
        ++completed;
      } else {
        std::fprintf(stderr, "upload %s ended %s: %s\n", id.c_str(), mediastore::upload_state_name(st.state),
                     st.error_message.c_str());
      }
    }
    auto m = must(svc->metrics(), "metrics");
    std::printf(
        "{\"what\":\"upload\",\"run\":%d,\"jobs\":%zu,\"completed\":%zu,\"threads\":%d,\"seconds\":%.6f,"
        "\"submit_seconds\":%.6f,\"per_s\":%.3f,\"cpu_seconds\":%.6f,\"server_cpu_seconds\":%.6f,"
        "\"redis_cpu_seconds\":%.6f,\"idle_cpu_seconds\":%.6f,\"mean_processing_s\":%.4f}\n",
        run, n, completed, a.threads, dt, submit_s, completed / dt, cpu, server_cpu, redis_cpu, idle,
        m.time_count ? m.time_sum_seconds / static_cast<double>(m.time_count) : 0.0);
    std::fflush(stdout);
  }
  worker.stop(mediastore::StopMode::finish);
  worker.wait();
  return 0;
}

// Times the steps of one upload job separately, in one thread, with the same
// calls the worker makes (process_media_file: validation and thumbnails from
// one decode; put_file; put_bytes), to show where a job's time goes.
int cmd_stages(const Args& a) {
  if (a.positional.size() != 1) die("usage: bench_queue stages PHOTO [--runs R]");
  const std::string photo = a.positional[0];
  auto config = must(mediastore::Config::from_environment(), "config");
  auto storage = must(mediastore::make_storage(config), "make_storage");
  auto policy = mediastore::ValidationPolicy::from_config(config);
  auto specs = mediastore::default_thumbnail_specs();
  std::vector<double> pm, po, pt;
  must(storage->put_bytes("bench-stages/warmup", "x", {}), "warm-up put");
  for (int run = 0; run < std::max(1, a.runs); ++run) {
    auto t0 = Clock::now();
    auto processed = must(mediastore::process_media_file(photo, "IMG.jpg", mediastore::MediaKind::photo, specs, policy),
                          "process_media_file");
    pm.push_back(seconds_since(t0));
    mediastore::PutOptions o;
    o.content_type = processed.info.mime;
    t0 = Clock::now();
    must(storage->put_file(fmt::format("bench-stages/{}/original.jpg", run), photo, o), "put_file");
    po.push_back(seconds_since(t0));
    o.content_type = "image/jpeg";
    t0 = Clock::now();
    for (auto& t : processed.thumbnails)
      must(storage->put_bytes(fmt::format("bench-stages/{}/thumb_{}.jpg", run, t.name), t.jpeg, o), "put_bytes");
    pt.push_back(seconds_since(t0));
  }
  auto med = [](std::vector<double> x) {
    std::sort(x.begin(), x.end());
    return x[x.size() / 2];
  };
  std::printf(
      "{\"what\":\"stages\",\"runs\":%zu,\"process_s\":%.4f,\"put_original_s\":%.4f,\"put_thumbnails_s\":%.4f}\n",
      pm.size(), med(pm), med(po), med(pt));
  return 0;
}

// ---- dead worker ----

int cmd_hold(const Args& a) {
  if (a.positional.size() != 3) die("usage: bench_queue hold URL NAME LEASE_MS");
  QueueOptions o;
  o.name = a.positional[1];
  auto q = must(mediastore::make_redis_queue(a.positional[0], o), "redis");
  auto got = must(q->lease(1, std::chrono::milliseconds(std::stol(a.positional[2])), 10s), "lease");
  if (got.empty()) die("hold: no job within 10 s");
  std::printf("%lld %s\n", static_cast<long long>(wall_ms()), got[0].id.c_str());
  std::fflush(stdout);
  for (;;) ::pause();  // never acks, never heartbeats: waits for SIGKILL
}

int cmd_take(const Args& a) {
  if (a.positional.size() != 2) die("usage: bench_queue take URL NAME");
  QueueOptions o;
  o.name = a.positional[1];
  auto q = must(mediastore::make_redis_queue(a.positional[0], o), "redis");
  std::printf("ready\n");
  std::fflush(stdout);
  auto t0 = Clock::now();
  // Like Worker: lease(1) with a 500 ms wait, over and over.
  while (seconds_since(t0) < 120) {
    auto got = must(q->lease(1, 30s, 500ms), "lease");
    if (!got.empty()) {
      std::printf("%lld %s %d\n", static_cast<long long>(wall_ms()), got[0].id.c_str(), got[0].attempt);
      std::fflush(stdout);
      must(q->ack(got[0]), "ack");
      return 0;
    }
  }
  std::printf("timeout\n");
  return 2;
}

struct Child {
  pid_t pid = -1;
  FILE* out = nullptr;
};

Child spawn_self(const std::vector<std::string>& args) {
  int fds[2];
  if (::pipe(fds) != 0) die("pipe failed");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
  posix_spawn_file_actions_addclose(&fa, fds[0]);
  std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  std::vector<std::string> all{self};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : all) argv.push_back(s.data());
  argv.push_back(nullptr);
  Child c;
  if (posix_spawn(&c.pid, self.c_str(), &fa, nullptr, argv.data(), environ) != 0) die("posix_spawn failed");
  posix_spawn_file_actions_destroy(&fa);
  ::close(fds[1]);
  c.out = ::fdopen(fds[0], "r");
  return c;
}

std::string read_line(Child& c) {
  char buf[512];
  if (!std::fgets(buf, sizeof buf, c.out)) return "";
  std::string s(buf);
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

int cmd_deadworker(const Args& a) {
  if (a.positional.size() != 1) die("usage: bench_queue deadworker URL [--runs R] [--lease-ms L]");
  const std::string url = a.positional[0];
  for (int run = 0; run < a.runs; ++run) {
    std::string name = run_tag() + "d" + std::to_string(run);
    QueueOptions o;
    o.name = name;
    auto q = must(mediastore::make_redis_queue(url, o), "redis");
    must(q->enqueue("victim", "{}"), "enqueue");
    Child holder = spawn_self({"hold", url, name, std::to_string(a.lease_ms)});
    std::string held = read_line(holder);
    if (held.empty()) die("holder did not lease the job");
    long long leased_at = std::atoll(held.c_str());
    Child taker = spawn_self({"take", url, name});
    if (read_line(taker) != "ready") die("taker did not start");
    ::kill(holder.pid, SIGKILL);
    long long killed_at = wall_ms();
    ::waitpid(holder.pid, nullptr, 0);
    std::fclose(holder.out);
    std::string took = read_line(taker);
    int st = 0;
    ::waitpid(taker.pid, &st, 0);
    std::fclose(taker.out);
    if (took.empty() || took == "timeout") die("the job did not run again within 120 s");
    long long started_at = std::atoll(took.c_str());
    std::printf(
        "{\"what\":\"deadworker\",\"run\":%d,\"lease_ms\":%ld,\"kill_after_lease_ms\":%lld,"
        "\"kill_to_rerun_s\":%.3f,\"lease_to_rerun_s\":%.3f,\"taker\":\"%s\"}\n",
        run, a.lease_ms, killed_at - leased_at, (started_at - killed_at) / 1000.0, (started_at - leased_at) / 1000.0,
        took.c_str());
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) die("usage: bench_queue noop|upload|stages|deadworker|hold|take ...");
  std::string cmd = argv[1];
  Args a = parse(argc, argv, 2);
  if (cmd == "noop") return cmd_noop(a);
  if (cmd == "upload") return cmd_upload(a);
  if (cmd == "stages") return cmd_stages(a);
  if (cmd == "deadworker") return cmd_deadworker(a);
  if (cmd == "hold") return cmd_hold(a);
  if (cmd == "take") return cmd_take(a);
  die(fmt::format("unknown command '{}'", cmd));
}
