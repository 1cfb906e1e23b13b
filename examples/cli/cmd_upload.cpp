// Upload commands: worker (process the configured queue), upload (submit,
// optionally wait), status (one upload), stats (counters, queue, Prometheus).
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <thread>

#include "cli.hpp"
#include "direct_put.hpp"
#include "mediastore/upload.hpp"

namespace mediastore::cli {

namespace {

nlohmann::json object_json(const StoredObject& o) {
  return {{"name", o.name},
          {"key", o.key},
          {"url", o.url},
          {"width", o.width},
          {"height", o.height},
          {"bytes", o.bytes},
          {"content_type", o.content_type}};
}

}  // namespace

// "status" is the name the service's API uses; "state" (same value) is
// deprecated, kept for a deprecation period for scripts that read it
// (CHANGELOG.md, "Deprecated").
nlohmann::json status_json(const UploadStatus& s) {
  nlohmann::json doc = {{"id", s.id},
                        {"status", upload_state_name(s.state)},
                        {"state", upload_state_name(s.state)},
                        {"stage", upload_stage_name(s.stage)},
                        {"progress_percentage", s.progress_percentage},
                        {"attempt", s.attempt},
                        {"original_filename", s.original_filename},
                        {"content_type", s.content_type},
                        {"media_type", media_kind_name(s.media_kind)},
                        {"context", s.context},
                        {"created_at", iso8601(s.created_at)},
                        {"updated_at", iso8601(s.updated_at)}};
  if (s.state == UploadState::retrying) {
    doc["next_try"] = iso8601(s.next_try);
    doc["last_error"] = s.last_error;
  }
  if (s.state == UploadState::failed) {
    doc["error"] = {{"code", error_code_name(s.error_code)}, {"message", s.error_message}};
    // Why the file was refused, when it was ("malware", "too_long", ...).
    if (s.refusal_reason != RefusalReason::none) doc["error"]["refusal_reason"] = refusal_reason_name(s.refusal_reason);
  }
  if (!s.duplicate_of.empty()) doc["duplicate_of"] = s.duplicate_of;
  if (s.result) {
    nlohmann::json thumbs = nlohmann::json::array();
    for (auto& t : s.result->thumbnails) thumbs.push_back(object_json(t));
    doc["result"] = {
        {"original", object_json(s.result->original)}, {"thumbnails", thumbs}, {"metadata", s.result->metadata}};
  }
  return doc;
}

namespace {

// Prints one upload's status: a JSON document with --json, else lines for people.
void print_status(Context& ctx, const UploadStatus& s) {
  if (ctx.json) {
    ctx.print_json(status_json(s));
    return;
  }
  std::cout << "id:        " << s.id << "\n"
            << "status:    " << upload_state_name(s.state) << "\n"
            << "stage:     " << upload_stage_name(s.stage) << "\n"
            << "progress:  " << s.progress_percentage << "%\n"
            << "attempt:   " << s.attempt << "\n"
            << "file:      " << s.original_filename << " (" << media_kind_name(s.media_kind) << ")\n";
  for (auto& [k, v] : s.context) std::cout << "context:   " << k << "=" << v << "\n";
  if (s.state == UploadState::retrying)
    std::cout << "next try:  " << iso8601(s.next_try) << "\nlast error: " << s.last_error << "\n";
  if (s.state == UploadState::failed)
    std::cout << "error:     " << error_code_name(s.error_code) << ": " << s.error_message << "\n";
  if (s.refusal_reason != RefusalReason::none)
    std::cout << "refused:   " << refusal_reason_name(s.refusal_reason) << "\n";
  if (!s.duplicate_of.empty()) std::cout << "duplicate: of " << s.duplicate_of << "\n";
  if (s.result) {
    auto line = [](const StoredObject& o) {
      std::cout << "  " << o.name << ": " << o.key << "  " << o.width << "x" << o.height << "  " << o.bytes
                << " bytes  " << o.content_type << "\n    " << o.url << "\n";
    };
    std::cout << "objects:\n";
    line(s.result->original);
    for (auto& t : s.result->thumbnails) line(t);
    for (auto& [k, v] : s.result->metadata)
      if (!v.empty()) std::cout << "meta:      " << k << "=" << v << "\n";
  }
}

struct ServiceArgs {
  int max_attempts = 5;
  double lease_seconds = 30;
  double staging_orphan_age_seconds = 24 * 3600;  // UploadOptions::staging_orphan_age
};

Result<std::shared_ptr<UploadService>> open_service(Context& ctx, const ServiceArgs& a) {
  const Config* config = ctx.config();
  if (!config) return Status::InvalidArgument("configuration");  // already reported
  UploadOptions o;
  o.max_attempts = a.max_attempts;
  o.lease_duration = std::chrono::milliseconds(static_cast<std::int64_t>(a.lease_seconds * 1000));
  o.heartbeat_interval = std::max(std::chrono::milliseconds(100), o.lease_duration / 3);
  o.staging_orphan_age = std::chrono::seconds(static_cast<std::int64_t>(a.staging_orphan_age_seconds));
  return UploadService::open(*config, o);
}

void add_service_options(CLI::App* cmd, ServiceArgs& a) {
  cmd->add_option("--max-attempts", a.max_attempts, "Attempts per upload for transient failures (default: 5)")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--lease", a.lease_seconds, "Job lease in seconds, kept alive by heartbeats (default: 30)")
      ->check(CLI::Range(0.2, 3600.0));
}

// Waits for the upload to end, drawing progress on stderr (a line per change,
// or a redrawn line on a terminal).
Result<UploadStatus> wait_for(UploadService& svc, const std::string& id, bool quiet) {
  std::string last;
  const bool tty = stderr_is_tty();
  for (;;) {
    auto s = svc.status(id);
    if (!s.ok()) return s.status();
    std::string line = std::string(upload_state_name(s->state)) + " " + upload_stage_name(s->stage) + " " +
                       std::to_string(s->progress_percentage) + "%";
    if (s->state == UploadState::retrying)
      line += " (attempt " + std::to_string(s->attempt) + ": " + s->last_error + ")";
    if (!quiet && line != last) {
      std::cerr << (tty ? "\r\033[K" : "") << line << (tty ? "" : "\n") << std::flush;
      last = line;
    }
    if (s->state == UploadState::completed || s->state == UploadState::failed) {
      if (!quiet && tty) std::cerr << "\n";
      return s;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

void add_worker(CLI::App& app, Context& ctx) {
  struct Args {
    int threads = 0;
    ServiceArgs service;
    double maintenance_seconds = 60;
    double cleanup_after_seconds = 3600;
    std::string on_complete;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand(
      "worker",
      "Process the configured upload queue until SIGTERM/SIGINT (then finish in-flight jobs and exit 0; "
      "a second signal gives them back to the queue instead)");
  cmd->add_option("--threads", a->threads, "Worker threads (default: 0 = two per CPU core)")->check(CLI::Range(0, 256));
  add_service_options(cmd, a->service);
  cmd->add_option("--maintenance-interval", a->maintenance_seconds,
                  "Seconds between maintenance runs: expired leases, cleanup (default: 60)")
      ->check(CLI::Range(0.1, 86400.0));
  cmd->add_option("--cleanup-older-than", a->cleanup_after_seconds,
                  "Maintenance removes leftovers of failed uploads older than this many seconds (default: 3600)")
      ->check(CLI::Range(0.0, 1e9));
  cmd->add_option("--staging-orphan-age", a->service.staging_orphan_age_seconds,
                  "Maintenance removes staged objects of no upload or of an ended one, and aborts multipart uploads "
                  "under MEDIA_STAGING_PREFIX, older than this many seconds (default: 86400)")
      ->check(CLI::Range(0.0, 1e9));
  cmd->add_option("--on-complete", a->on_complete,
                  "Run CMD (/bin/sh -c) when an upload ends, its status JSON (as `status --json`) on stdin; at "
                  "least once per upload end, on the worker thread (see `reconcile`)");
  cmd->callback([&ctx, a] {
    ctx.action = [&ctx, a]() -> int {
      sigset_t set = block_stop_signals();
      // This process only works: with the in-process queue it would wait
      // for jobs that no other process can give it.
      if (ctx.config() && ctx.config()->queue == QueueKind::memory)
        return ctx.fail(Status::InvalidArgument(
            "worker: MEDIA_QUEUE_BACKEND is memory, a queue inside one process, so this worker would never see the "
            "uploads other processes submit; use MEDIA_QUEUE_BACKEND=sqlite (one machine) or redis (many machines) "
            "in every process"));
      auto svc = open_service(ctx, a->service);
      if (!svc.ok()) return ctx.config() ? ctx.fail(svc.status()) : ctx.failure_status;
      if (!a->on_complete.empty()) svc.value()->set_end_hook(end_hook_command(a->on_complete));
      WorkerOptions wo;
      wo.threads = a->threads;
      wo.maintenance_interval = std::chrono::milliseconds(static_cast<std::int64_t>(a->maintenance_seconds * 1000));
      wo.cleanup_older_than = std::chrono::seconds(static_cast<std::int64_t>(a->cleanup_after_seconds));
      Worker worker(svc.value(), wo);
      Status st = worker.start();
      if (!st.ok()) return ctx.fail(st);
      if (!ctx.json)
        std::cerr << "worker: " << (a->threads ? a->threads : default_worker_threads()) << " threads on the "
                  << svc.value()->queue().backend_name() << " queue; SIGTERM or Ctrl-C to stop\n";
      int sig = 0;
      sigwait(&set, &sig);
      worker.stop(StopMode::finish);
      if (!ctx.json) std::cerr << "worker: signal " << sig << ", finishing in-flight jobs\n";
      // A second signal while finishing: give the jobs back instead.
      timespec tick{0, 100 * 1000 * 1000};
      while (worker.running()) {
        if (sigtimedwait(&set, nullptr, &tick) > 0) {
          worker.stop(StopMode::release);
          if (!ctx.json) std::cerr << "worker: releasing in-flight jobs\n";
        }
      }
      worker.wait();
      if (!ctx.json) std::cerr << "worker: stopped\n";
      ctx.print_json({{"stopped", true}, {"signal", sig}});
      return kExitOk;
    };
  });
}

// The whole client side of a direct upload, as a browser or a phone does it:
// a plan from the service, FILE's bytes PUT with its presigned requests (in
// order; the ETags kept), then the completion. The file's SHA-256 goes with
// the plan so that the worker checks the bytes that arrived.
Result<std::string> direct_upload(UploadService& svc, const std::string& file, const UploadRequest& r) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(file, ec);
  if (ec) return Status::NotFound("cannot read " + file + ": " + ec.message());
  auto sha = sha256_file(file);
  if (!sha.ok()) return sha.status();
  DirectUploadRequest dr;
  dr.original_filename = r.original_filename;
  dr.size = size;
  dr.content_type = r.content_type;
  dr.media_kind = r.media_kind;
  dr.context = r.context;
  dr.sha256 = sha.value();
  auto d = svc.create_direct_upload(dr);
  if (!d.ok()) return d.status();
  std::vector<UploadedPart> parts;
  for (const auto& req : d->plan.requests) {
    auto etag = send_planned_request(file, req);
    if (!etag.ok()) return etag.status().with_context("direct upload " + d->id);
    if (d->plan.multipart()) parts.push_back(UploadedPart{req.part_number, etag.value()});
  }
  auto done = svc.complete_direct_upload(d->id, parts);
  if (!done.ok()) return done.status();
  return d->id;
}

void add_upload(CLI::App& app, Context& ctx) {
  struct Args {
    std::string file;
    std::string media_type = "photo";
    std::string content_type;
    std::string name;
    std::vector<std::string> context;
    bool wait = false;
    bool direct = false;
    ServiceArgs service;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmd = app.add_subcommand("upload", "Submit FILE for processing; prints the upload id");
  cmd->add_option("FILE", a->file, "File to upload")->required();
  cmd->add_option("--media-type", a->media_type, "photo or video (default: photo)")
      ->check(CLI::IsMember({"photo", "video"}));
  cmd->add_option("--content-type", a->content_type, "Declared content type (informational)");
  cmd->add_option("--name", a->name, "Original file name (default: FILE's name)");
  cmd->add_option("--context", a->context, "Caller context KEY=VALUE (e.g. keep_id=42); repeatable");
  cmd->add_flag("--direct", a->direct,
                "A direct upload: ask for a plan (create_direct_upload), send FILE's bytes straight to the object "
                "store with its presigned PUTs, then complete it (S3 backends only)");
  cmd->add_flag("--wait", a->wait,
                "Show progress until the upload ends; exit non-zero if it failed (always on with the memory queue, "
                "whose worker runs inside this process)");
  add_service_options(cmd, a->service);
  cmd->callback([&ctx, a] {
    ctx.action = [&ctx, a]() -> int {
      auto svc = open_service(ctx, a->service);
      if (!svc.ok()) return ctx.config() ? ctx.fail(svc.status()) : ctx.failure_status;
      UploadRequest r;
      r.source_path = a->file;
      r.original_filename = a->name.empty() ? std::filesystem::path(a->file).filename().string() : a->name;
      r.content_type = a->content_type;
      r.media_kind = a->media_type == "video" ? MediaKind::video : MediaKind::photo;
      for (auto& kv : a->context) {
        auto eq = kv.find('=');
        if (eq == std::string::npos || eq == 0)
          return ctx.fail(Status::InvalidArgument("--context '" + kv + "' must be KEY=VALUE"));
        r.context[kv.substr(0, eq)] = kv.substr(eq + 1);
      }
      auto id = a->direct ? direct_upload(*svc.value(), a->file, r) : svc.value()->submit_upload(r);
      if (!id.ok()) return ctx.fail(id.status());
      // With the in-process queue nobody else will ever see the job.
      const bool in_process = ctx.config()->queue == QueueKind::memory;
      if (!a->wait && !in_process) {
        if (ctx.json) {
          ctx.print_json({{"id", id.value()}, {"status", "pending"}, {"state", "pending"}});
        } else {
          std::cout << id.value() << "\n";
        }
        return kExitOk;
      }
      if (!ctx.json) std::cerr << "upload " << id.value() << "\n";
      std::unique_ptr<Worker> worker;
      if (in_process) {
        worker = std::make_unique<Worker>(svc.value(),
                                          WorkerOptions{.threads = 1, .poll_wait = std::chrono::milliseconds(50)});
        Status st = worker->start();
        if (!st.ok()) return ctx.fail(st);
      }
      auto s = wait_for(*svc.value(), id.value(), false);
      if (worker) {
        worker->stop();
        worker->wait();
      }
      if (!s.ok()) return ctx.fail(s.status());
      print_status(ctx, s.value());
      return s->state == UploadState::completed ? kExitOk : exit_status_for(s->error_code);
    };
  });
}

void add_status(CLI::App& app, Context& ctx) {
  auto id = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("status", "Print the status, progress and result of upload ID");
  cmd->add_option("ID", *id, "Upload id")->required();
  cmd->callback([&ctx, id] {
    ctx.action = [&ctx, id]() -> int {
      auto svc = open_service(ctx, {});
      if (!svc.ok()) return ctx.config() ? ctx.fail(svc.status()) : ctx.failure_status;
      auto s = svc.value()->status(*id);
      if (!s.ok()) return ctx.fail(s.status());
      print_status(ctx, s.value());
      return kExitOk;
    };
  });
}

void add_stats(CLI::App& app, Context& ctx) {
  auto prometheus = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand(
      "stats", "Upload counters (this process), queue depth and uploads per state (shared by every process)");
  cmd->add_flag("--prometheus", *prometheus, "Print the Prometheus text format");
  cmd->callback([&ctx, prometheus] {
    ctx.action = [&ctx, prometheus]() -> int {
      auto svc = open_service(ctx, {});
      if (!svc.ok()) return ctx.config() ? ctx.fail(svc.status()) : ctx.failure_status;
      auto m = svc.value()->metrics();
      if (!m.ok()) return ctx.fail(m.status());
      auto dead = svc.value()->dead_letters(100);
      if (!dead.ok()) return ctx.fail(dead.status());
      if (*prometheus) {
        std::cout << to_prometheus(m.value());
        return kExitOk;
      }
      if (ctx.json) {
        nlohmann::json dl = nlohmann::json::array();
        for (auto& d : dead.value())
          dl.push_back(
              {{"id", d.id}, {"attempts", d.attempts}, {"last_error", d.last_error}, {"died_at", iso8601(d.died_at)}});
        ctx.print_json({{"queue",
                         {{"backend", svc.value()->queue().backend_name()},
                          {"ready", m->queue.ready},
                          {"delayed", m->queue.delayed},
                          {"in_flight", m->queue.in_flight},
                          {"dead", m->queue.dead},
                          {"depth", m->queue.ready + m->queue.delayed}}},
                        {"uploads", m->states},
                        {"dead_letters", dl}});
        return kExitOk;
      }
      std::cout << "queue (" << svc.value()->queue().backend_name() << "): " << m->queue.ready << " ready, "
                << m->queue.delayed << " delayed, " << m->queue.in_flight << " in flight, " << m->queue.dead
                << " dead\n";
      std::cout << "uploads:";
      for (const char* st : {"pending", "processing", "retrying", "completed", "failed"}) {
        auto it = m->states.find(st);
        std::cout << " " << st << "=" << (it == m->states.end() ? 0 : it->second);
      }
      std::cout << "\n";
      for (auto& d : dead.value())
        std::cout << "dead: " << d.id << " after " << d.attempts << " attempts: " << d.last_error << "\n";
      return kExitOk;
    };
  });
}

void register_upload_commands(CLI::App& app, Context& ctx) {
  add_worker(app, ctx);
  add_upload(app, ctx);
  add_status(app, ctx);
  add_stats(app, ctx);
}

const Registration reg(&register_upload_commands);

}  // namespace

}  // namespace mediastore::cli
