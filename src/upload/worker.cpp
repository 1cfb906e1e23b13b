// Worker: threads leasing and processing upload jobs, one housekeeping
// thread for heartbeats and periodic maintenance.
#include <fmt/format.h>

#include <algorithm>
#include <condition_variable>
#include <thread>

#include "core/log_internal.hpp"
#include "upload/service_impl.hpp"

namespace mediastore {

namespace {
constexpr int kMaxWorkerThreads = 256;
}  // namespace

int default_worker_threads() {
  const unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 2 : static_cast<int>(std::min<unsigned>(2 * cores, kMaxWorkerThreads));
}

struct Worker::State {
  std::shared_ptr<UploadService> service;
  WorkerOptions options;
  std::vector<std::thread> threads;
  std::thread housekeeping;
  std::mutex mu;
  std::condition_variable cv;
  std::atomic<bool> started{false};
  std::atomic<bool> stopping{false};
  std::atomic<int> alive{0};
  std::atomic<bool> reported_stop{false};

  void work(int index) {
    auto pause = std::chrono::milliseconds(100);
    while (!stopping) {
      auto n = service->process_next(1, options.poll_wait);
      if (n.ok()) {
        pause = std::chrono::milliseconds(100);
        continue;
      }
      // The queue is unreachable (Redis restarting, file locked): back off.
      MS_LOG(warn, "worker", "worker thread {}: cannot lease: {}; retrying in {} ms", index, n.status().to_string(),
             pause.count());
      std::unique_lock lock(mu);
      cv.wait_for(lock, pause, [&] { return stopping.load(); });
      pause = std::min(pause * 2, std::chrono::milliseconds(5000));
    }
    alive--;
  }

  void keep_house() {
    auto& im = *service->impl_;
    auto next_beat = std::chrono::steady_clock::now() + im.options.heartbeat_interval;
    auto next_maint = std::chrono::steady_clock::now() + options.maintenance_interval;
    std::unique_lock lock(mu);
    // Runs until every worker thread has ended: their jobs need heartbeats
    // while they finish.
    while (alive > 0) {
      cv.wait_until(lock, std::min(next_beat, next_maint));
      lock.unlock();
      auto t = std::chrono::steady_clock::now();
      if (t >= next_beat) {
        im.heartbeat_all();
        next_beat = t + im.options.heartbeat_interval;
      }
      if (t >= next_maint && !stopping) {
        auto moved = im.queue->requeue_expired();
        if (!moved.ok())
          MS_LOG(warn, "worker", "maintenance: re-queueing expired leases failed: {}", moved.status().to_string());
        auto rep = service->cleanup_failed_uploads(options.cleanup_older_than);
        if (!rep.ok()) MS_LOG(warn, "worker", "maintenance: cleanup failed: {}", rep.status().to_string());
        next_maint = std::chrono::steady_clock::now() + options.maintenance_interval;
      }
      lock.lock();
    }
  }
};

Worker::Worker(std::shared_ptr<UploadService> service, WorkerOptions options) : state_(std::make_unique<State>()) {
  state_->service = std::move(service);
  state_->options = options;
}

Worker::~Worker() {
  stop(StopMode::finish);
  wait();
}

Status Worker::start() {
  auto& s = *state_;
  if (!s.service) return Status::InvalidArgument("Worker: no UploadService");
  if (s.options.threads < 0 || s.options.threads > kMaxWorkerThreads)
    return Status::InvalidArgument(fmt::format("WorkerOptions.threads must be 0 (two per CPU core) to {}, got {}",
                                               kMaxWorkerThreads, s.options.threads));
  if (s.started.exchange(true)) return Status::InvalidArgument("Worker already started");
  if (s.options.threads == 0) s.options.threads = default_worker_threads();
  s.service->impl_->release_requested = false;
  s.alive = s.options.threads;
  for (int i = 0; i < s.options.threads; ++i) s.threads.emplace_back([this, i] { state_->work(i); });
  s.housekeeping = std::thread([this] { state_->keep_house(); });
  MS_LOG(info, "worker", "worker started: {} threads, queue {}", s.options.threads, s.service->queue().backend_name());
  return Status::Ok();
}

void Worker::stop(StopMode mode) {
  auto& s = *state_;
  if (!s.started) return;
  if (mode == StopMode::release) s.service->impl_->release_requested = true;
  if (!s.stopping.exchange(true))
    MS_LOG(info, "worker", "worker stopping ({} in-flight jobs)",
           mode == StopMode::release ? "releasing" : "finishing");
  std::lock_guard lock(s.mu);
  s.cv.notify_all();
}

void Worker::wait() {
  auto& s = *state_;
  for (auto& t : s.threads)
    if (t.joinable()) t.join();
  {
    std::lock_guard lock(s.mu);
    s.cv.notify_all();
  }
  if (s.housekeeping.joinable()) s.housekeeping.join();
  if (s.started && s.stopping && !s.reported_stop.exchange(true)) MS_LOG(info, "worker", "worker stopped");
}

bool Worker::running() const { return state_->started && state_->alive > 0; }

}  // namespace mediastore
