// The C ABI of migration: ms_migrate copies (and verifies) every object of
// one store into another, with progress, cancellation and a report.
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>

#include "internal.hpp"
#include "mediastore/migrate.hpp"

using namespace mediastore::capi;

namespace {

void fill_migrate_progress(ms_migrate_progress* o, const ms::MigrateProgress& p) {
  o->listed = p.listed;
  o->copied = p.copied;
  o->skipped = p.skipped;
  o->failed = p.failed;
  o->deleted = p.deleted;
  o->planned = p.planned;
  o->bytes = p.bytes;
  o->bytes_listed = p.bytes_listed;
  o->listing_done = p.listing_done ? 1 : 0;
  o->elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(p.elapsed).count();
}

void migrate_report_free_whole(ms_migrate_report* r) {
  if (r == nullptr) return;
  free_string_array(r->failure_keys, r->failure_count);
  free_string_array(r->failure_messages, r->failure_count);
  std::free(r->failure_codes);
  free_string_array(r->planned, r->planned_count);
  std::free(r->error_message);
  std::free(r);
}

int status_code(const ms::Status& s) {
  int code = static_cast<int>(s.code());
  if (code < 0 || code >= ms::kErrorCodeCount) code = static_cast<int>(ms::ErrorCode::internal);
  return -code;
}

ms_migrate_report* make_migrate_report(const ms::MigrateReport& in) {
  CHolder<ms_migrate_report, migrate_report_free_whole> h;
  h.p = static_cast<ms_migrate_report*>(calloc_or_throw(1, sizeof(ms_migrate_report)));
  ms_migrate_report* r = h.p;
  fill_migrate_progress(&r->counts, in.counts);
  std::size_t n = in.failures.size();
  r->failure_keys = static_cast<char**>(calloc_or_throw(n, sizeof(char*)));
  r->failure_messages = static_cast<char**>(calloc_or_throw(n, sizeof(char*)));
  r->failure_codes = static_cast<int*>(calloc_or_throw(n, sizeof(int)));
  for (const auto& f : in.failures) {
    std::size_t i = r->failure_count++;
    r->failure_keys[i] = dup_string(f.key);
    r->failure_messages[i] = dup_string(f.status.to_string());
    r->failure_codes[i] = status_code(f.status);
  }
  r->planned = static_cast<char**>(calloc_or_throw(in.planned.size(), sizeof(char*)));
  for (const auto& k : in.planned) r->planned[r->planned_count++] = dup_string(k);
  r->cancelled = in.cancelled ? 1 : 0;
  r->error_code = status_code(in.error);
  r->error_message = dup_string(in.error.ok() ? std::string() : in.error.to_string());
  return h.release();
}

}  // namespace

extern "C" {

int ms_migrate_options_init(ms_migrate_options* opts, unsigned int version) {
  auto defaults = [](ms_migrate_options& o) {
    o.concurrency = 8;
    o.attempts = 3;
  };
  return init_struct(opts, "opts", version, MS_MIGRATE_OPTIONS_VERSION, "ms_migrate_options version", defaults);
}

void ms_migrate_report_free(ms_migrate_report* report) { migrate_report_free_whole(report); }

int ms_migrate(ms_migrate_report** out, ms_store* from, ms_store* to, const ms_migrate_options* opts) {
  return guard([&]() -> int {
    if (out == nullptr) return invalid("out must not be NULL");
    *out = nullptr;
    int rc = MS_OK;
    if (!store_arg(from, rc) || !store_arg(to, rc)) return rc;
    if (from == to) return invalid("from and to must be different stores");
    ms::MigrateOptions mo;
    std::atomic<bool> stop{false};
    if (opts != nullptr) {
      if ((rc = version_arg(opts->version, MS_MIGRATE_OPTIONS_VERSION, "ms_migrate_options.version")) != MS_OK)
        return rc;
      if ((rc = range_arg(opts->concurrency, 1, 256, "concurrency")) != MS_OK) return rc;
      if ((rc = range_arg(opts->attempts, 1, 100, "attempts")) != MS_OK) return rc;
      if (!optional_text_arg(opts->prefix, "prefix", mo.prefix, rc)) return rc;
      if (!optional_text_arg(opts->journal_path, "journal_path", mo.journal_path, rc)) return rc;
      if (!optional_text_arg(opts->journal_scope, "journal_scope", mo.journal_scope, rc)) return rc;
      mo.concurrency = opts->concurrency;
      mo.attempts = opts->attempts;
      mo.delete_source = opts->delete_source != 0;
      mo.dry_run = opts->dry_run != 0;
      if (opts->progress) {
        ms_migrate_progress_fn fn = opts->progress;
        void* payload = opts->progress_payload;
        mo.progress = [fn, payload, &stop](const ms::MigrateProgress& p) {
          ms_migrate_progress cp;
          fill_migrate_progress(&cp, p);
          if (fn(&cp, payload) != 0) stop.store(true);
        };
      }
    }
    mo.stop = &stop;
    auto r = ms::migrate(*from->backend, *to->backend, mo);
    if (!r.ok()) return fail(r.status());
    *out = make_migrate_report(*r);
    return MS_OK;
  });
}

}  // extern "C"
