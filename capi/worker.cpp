// The C ABI of the worker: threads that process an ms_uploads' jobs.
#include <chrono>
#include <memory>
#include <string>

#include "internal.hpp"

using namespace mediastore::capi;

namespace {

bool worker_arg(const ms_worker* w, int& rc) {
  if (w == nullptr || !w->worker) {
    rc = invalid("worker must not be NULL");
    return false;
  }
  return true;
}

}  // namespace

extern "C" {

int ms_worker_options_init(ms_worker_options* opts, unsigned int version) {
  auto defaults = [](ms_worker_options& o) {
    o.threads = 0;
    o.poll_wait_ms = 500;
    o.maintenance_interval_ms = 60000;
    o.cleanup_older_than_seconds = 3600;
  };
  return init_struct(opts, "opts", version, MS_WORKER_OPTIONS_VERSION, "ms_worker_options version", defaults);
}

int ms_worker_new(ms_worker** out, ms_uploads* uploads, const ms_worker_options* opts) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = nullptr;
    int rc = MS_OK;
    if (!uploads_arg(uploads, rc)) return rc;
    ms::WorkerOptions wo;
    if (opts) {
      if ((rc = version_arg(opts->version, MS_WORKER_OPTIONS_VERSION, "ms_worker_options.version")) != MS_OK) return rc;
      if ((rc = range_arg(opts->threads, 0, 256, "threads")) != MS_OK) return rc;
      if ((rc = range_arg(opts->poll_wait_ms, 1, 60000, "poll_wait_ms")) != MS_OK) return rc;
      if ((rc = range_arg(opts->maintenance_interval_ms, 10, kMaxMillis, "maintenance_interval_ms")) != MS_OK)
        return rc;
      if ((rc = range_arg(opts->cleanup_older_than_seconds, 0, 100LL * 365 * 24 * 3600,
                          "cleanup_older_than_seconds")) != MS_OK)
        return rc;
      wo.threads = opts->threads;
      wo.poll_wait = std::chrono::milliseconds(opts->poll_wait_ms);
      wo.maintenance_interval = std::chrono::milliseconds(opts->maintenance_interval_ms);
      wo.cleanup_older_than = std::chrono::seconds(opts->cleanup_older_than_seconds);
    }
    auto w = std::make_unique<ms_worker>();
    w->worker = std::make_unique<ms::Worker>(uploads->service, wo);
    *out = w.release();
    return MS_OK;
  });
}

int ms_worker_start(ms_worker* worker) {
  return guard([&]() -> int {
    int rc = MS_OK;
    if (!worker_arg(worker, rc)) return rc;
    return check(worker->worker->start());
  });
}

int ms_worker_stop(ms_worker* worker, int mode) {
  return guard([&]() -> int {
    int rc = MS_OK;
    if (!worker_arg(worker, rc)) return rc;
    if (mode != MS_STOP_FINISH && mode != MS_STOP_RELEASE)
      return invalid("stop mode " + std::to_string(mode) + " is not a ms_stop_mode");
    worker->worker->stop(mode == MS_STOP_RELEASE ? ms::StopMode::release : ms::StopMode::finish);
    return MS_OK;
  });
}

int ms_worker_wait(ms_worker* worker) {
  return guard([&]() -> int {
    int rc = MS_OK;
    if (!worker_arg(worker, rc)) return rc;
    worker->worker->wait();
    return MS_OK;
  });
}

int ms_worker_running(const ms_worker* worker) {
  try {
    return worker != nullptr && worker->worker && worker->worker->running() ? 1 : 0;
  } catch (...) {
    return 0;
  }
}

void ms_worker_free(ms_worker* worker) { delete_quietly(worker); }

}  // extern "C"
