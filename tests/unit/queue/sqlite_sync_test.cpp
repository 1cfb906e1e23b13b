// Which SQLite queue calls fsync: a VFS that wraps the default one and counts
// xSync calls on the queue's files is registered as the default VFS for
// these tests, so the counts are those the real queue code asks for.
#include <sqlite3.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>

#include <doctest/doctest.h>
#include "mediastore/queue.hpp"
#include "support/gcc_workarounds.hpp"

namespace {

using namespace mediastore;
using namespace std::chrono_literals;

std::atomic<int> g_syncs{0};
sqlite3_vfs* g_real = nullptr;

// A file of the counting VFS: our methods first, then the real file.
struct CountingFile {
  sqlite3_file base;
  sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
};

CountingFile* cf(sqlite3_file* f) { return reinterpret_cast<CountingFile*>(f); }

int c_close(sqlite3_file* f) { return cf(f)->real()->pMethods->xClose(cf(f)->real()); }
int c_read(sqlite3_file* f, void* b, int n, sqlite3_int64 o) {
  return cf(f)->real()->pMethods->xRead(cf(f)->real(), b, n, o);
}
int c_write(sqlite3_file* f, const void* b, int n, sqlite3_int64 o) {
  return cf(f)->real()->pMethods->xWrite(cf(f)->real(), b, n, o);
}
int c_truncate(sqlite3_file* f, sqlite3_int64 n) { return cf(f)->real()->pMethods->xTruncate(cf(f)->real(), n); }
int c_sync(sqlite3_file* f, int flags) {
  ++g_syncs;
  return cf(f)->real()->pMethods->xSync(cf(f)->real(), flags);
}
int c_size(sqlite3_file* f, sqlite3_int64* n) { return cf(f)->real()->pMethods->xFileSize(cf(f)->real(), n); }
int c_lock(sqlite3_file* f, int l) { return cf(f)->real()->pMethods->xLock(cf(f)->real(), l); }
int c_unlock(sqlite3_file* f, int l) { return cf(f)->real()->pMethods->xUnlock(cf(f)->real(), l); }
int c_reserved(sqlite3_file* f, int* r) { return cf(f)->real()->pMethods->xCheckReservedLock(cf(f)->real(), r); }
int c_control(sqlite3_file* f, int op, void* a) { return cf(f)->real()->pMethods->xFileControl(cf(f)->real(), op, a); }
int c_sector(sqlite3_file* f) { return cf(f)->real()->pMethods->xSectorSize(cf(f)->real()); }
int c_device(sqlite3_file* f) { return cf(f)->real()->pMethods->xDeviceCharacteristics(cf(f)->real()); }
int c_shm_map(sqlite3_file* f, int pg, int sz, int ext, void volatile** p) {
  return cf(f)->real()->pMethods->xShmMap(cf(f)->real(), pg, sz, ext, p);
}
int c_shm_lock(sqlite3_file* f, int off, int n, int flags) {
  return cf(f)->real()->pMethods->xShmLock(cf(f)->real(), off, n, flags);
}
void c_shm_barrier(sqlite3_file* f) { cf(f)->real()->pMethods->xShmBarrier(cf(f)->real()); }
int c_shm_unmap(sqlite3_file* f, int del) { return cf(f)->real()->pMethods->xShmUnmap(cf(f)->real(), del); }

// Version 2 methods (WAL needs the shared-memory ones); no memory mapping.
const sqlite3_io_methods kMethods = {2,          c_close,       c_read,      c_write,   c_truncate, c_sync,   c_size,
                                     c_lock,     c_unlock,      c_reserved,  c_control, c_sector,   c_device, c_shm_map,
                                     c_shm_lock, c_shm_barrier, c_shm_unmap, nullptr,   nullptr};

int v_open(sqlite3_vfs*, const char* name, sqlite3_file* f, int flags, int* out_flags) {
  CountingFile* c = cf(f);
  c->base.pMethods = nullptr;
  int rc = g_real->xOpen(g_real, name, c->real(), flags, out_flags);
  if (rc == SQLITE_OK) c->base.pMethods = &kMethods;
  return rc;
}
int v_delete(sqlite3_vfs*, const char* n, int s) { return g_real->xDelete(g_real, n, s); }
int v_access(sqlite3_vfs*, const char* n, int f, int* r) { return g_real->xAccess(g_real, n, f, r); }
int v_full(sqlite3_vfs*, const char* n, int sz, char* out) { return g_real->xFullPathname(g_real, n, sz, out); }
void* v_dlopen(sqlite3_vfs*, const char* n) { return g_real->xDlOpen(g_real, n); }
void v_dlerror(sqlite3_vfs*, int n, char* m) { g_real->xDlError(g_real, n, m); }
void (*v_dlsym(sqlite3_vfs*, void* h, const char* s))(void) { return g_real->xDlSym(g_real, h, s); }
void v_dlclose(sqlite3_vfs*, void* h) { g_real->xDlClose(g_real, h); }
int v_random(sqlite3_vfs*, int n, char* out) { return g_real->xRandomness(g_real, n, out); }
int v_sleep(sqlite3_vfs*, int us) { return g_real->xSleep(g_real, us); }
int v_time(sqlite3_vfs*, double* t) { return g_real->xCurrentTime(g_real, t); }
int v_error(sqlite3_vfs*, int n, char* m) { return g_real->xGetLastError(g_real, n, m); }
int v_time64(sqlite3_vfs*, sqlite3_int64* t) { return g_real->xCurrentTimeInt64(g_real, t); }

// Registers the counting VFS as the default, once per process.
void install_counting_vfs() {
  static sqlite3_vfs vfs;
  static const bool done = [] {
    sqlite3_initialize();
    g_real = sqlite3_vfs_find(nullptr);
    vfs = sqlite3_vfs{2,
                      static_cast<int>(sizeof(CountingFile)) + g_real->szOsFile,
                      g_real->mxPathname,
                      nullptr,
                      "ms-counting",
                      nullptr,
                      v_open,
                      v_delete,
                      v_access,
                      v_full,
                      v_dlopen,
                      v_dlerror,
                      v_dlsym,
                      v_dlclose,
                      v_random,
                      v_sleep,
                      v_time,
                      v_error,
                      v_time64,
                      nullptr,
                      nullptr,
                      nullptr};
    return sqlite3_vfs_register(&vfs, 1) == SQLITE_OK;
  }();
  REQUIRE(done);
}

std::string test_db(const std::string& name) {
  auto dir = std::filesystem::temp_directory_path() / ("ms-queue-sync-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

}  // namespace

TEST_CASE("sqlite: enqueue, nack and records are fsynced; lease, heartbeat and ack are not on their own") {
  install_counting_vfs();
  QueueOptions o;
  o.name = "sync";
  auto made = make_sqlite_queue(test_db("fsync.db"), o);
  REQUIRE(made.ok());
  JobQueue& q = *made.value();

  auto syncs_of = [](auto&& call) {
    const int before = g_syncs.load();
    call();
    return g_syncs.load() - before;
  };
  CHECK(syncs_of([&] { REQUIRE(q.enqueue("a", "1").ok()); }) >= 1);
  CHECK(syncs_of([&] { REQUIRE(q.enqueue("b", "2").ok()); }) >= 1);
  std::vector<LeasedJob> jobs;
  CHECK(syncs_of([&] {
          auto l = q.lease(2, 10s, 0ms);
          REQUIRE(l.ok());
          jobs = l.value();
        }) == 0);
  REQUIRE(jobs.size() == 2);
  CHECK(syncs_of([&] { REQUIRE(q.heartbeat(jobs[0], 20s).ok()); }) == 0);
  CHECK(syncs_of([&] { REQUIRE(q.ack(jobs[0]).ok()); }) == 0);
  // The connection is back to FULL for everything else.
  JobRecord r;
  r.id = "a";
  r.state = "completed";
  r.body = "{}";
  CHECK(syncs_of([&] { REQUIRE(q.put_record(r).ok()); }) >= 1);
  CHECK(syncs_of([&] { REQUIRE(q.nack(jobs[1], {}, "try again").ok()); }) >= 1);
  auto again = q.lease(1, 10s, 0ms);
  REQUIRE(again.ok());
  REQUIRE(again->size() == 1);
  CHECK(syncs_of([&] { REQUIRE(q.ack_batch(again.value())[0].ok()); }) == 0);
  CHECK(syncs_of([&] { REQUIRE(q.enqueue("c", "3").ok()); }) >= 1);
  // What was not fsynced on its own is still committed: another object on
  // the same file sees it.
  auto other = make_sqlite_queue(test_db("fsync.db"), o);
  REQUIRE(other.ok());
  CHECK_FALSE(other.value()->contains("a").value());
  CHECK_FALSE(other.value()->contains("b").value());
  CHECK(other.value()->contains("c").value());
  CHECK(other.value()->get_record("a")->state == "completed");
}

MS_GCC_STRING_WRESTRICT_BEGIN  // "j" + std::to_string(i): GCC PR 105651
TEST_CASE("sqlite: with ?synchronous=normal nothing is fsynced per call") {
  install_counting_vfs();
  QueueOptions o;
  o.name = "normal";
  auto made = make_sqlite_queue(test_db("normal.db") + "?synchronous=normal", o);
  REQUIRE(made.ok());
  const int before = g_syncs.load();
  for (int i = 0; i < 5; ++i) REQUIRE(made.value()->enqueue("j" + std::to_string(i), "x").ok());
  auto l = made.value()->lease(5, 10s, 0ms);
  REQUIRE(l.ok());
  for (auto& j : l.value()) REQUIRE(made.value()->ack(j).ok());
  CHECK(g_syncs.load() - before == 0);
}
MS_GCC_STRING_WRESTRICT_END
