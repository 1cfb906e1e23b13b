"""Runs the queue benchmark (issue 5) and prints a markdown report.

Called by bench/queue/run.sh, which starts Redis and RGW and sets:
  BENCH_BIN           folder of bench_queue
  BENCH_WORK          scratch folder (tmpfs when available)
  BENCH_DISK          scratch folder on disk (SQLite queue files)
  BENCH_REDIS_PORT    redis-server port
  BENCH_ENDPOINT, BENCH_ACCESS_KEY, BENCH_SECRET_KEY   the RGW
  BENCH_RGW_DIR       the RGW's data folder (finds its processes for CPU figures)
  BENCH_PHOTOS        the photos uploaded: LABEL=PATH entries separated by
                      ";" (each gets its own upload rounds and step table)
Sizes (environment, optional): BENCH_RUNS (3), BENCH_MEM_JOBS (200000),
BENCH_SQLITE_JOBS (2000, on disk), BENCH_SQLITE_TMPFS_JOBS (10000),
BENCH_REDIS_JOBS (20000),
BENCH_CELERY_JOBS (3000), BENCH_UPLOADS (100 per run), BENCH_LEASE_MS (5000),
BENCH_CELERY_CAP (120 s), BENCH_UPLOAD_CONCURRENCY ("2,4": upload rounds with
both stacks at 2 worker threads / prefork processes, then both at 4).
BENCH_PARTS: which parts run, default "noop,uploads,dead" (no-op jobs, upload
jobs, dead worker).
Progress goes to stderr; the report to stdout.
"""

import json
import os
import signal
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.environ["BENCH_BIN"] + "/bench_queue"
WORK = os.environ["BENCH_WORK"]
DISK = os.environ["BENCH_DISK"]
PORT = int(os.environ["BENCH_REDIS_PORT"])
PHOTOS = [tuple(e.split("=", 1)) for e in os.environ["BENCH_PHOTOS"].split(";") if e]
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
MEM_JOBS = int(os.environ.get("BENCH_MEM_JOBS", "200000"))
SQLITE_JOBS = int(os.environ.get("BENCH_SQLITE_JOBS", "2000"))
SQLITE_TMPFS_JOBS = int(os.environ.get("BENCH_SQLITE_TMPFS_JOBS", "10000"))
REDIS_JOBS = int(os.environ.get("BENCH_REDIS_JOBS", "20000"))
CELERY_JOBS = int(os.environ.get("BENCH_CELERY_JOBS", "3000"))
UPLOADS = int(os.environ.get("BENCH_UPLOADS", "100"))
PARTS = os.environ.get("BENCH_PARTS", "noop,uploads,dead").split(",")
LEASE_MS = int(os.environ.get("BENCH_LEASE_MS", "5000"))
CELERY_CAP = float(os.environ.get("BENCH_CELERY_CAP", "120"))
LIB_REDIS = "redis://127.0.0.1:%d/0" % PORT
CELERY_REDIS = "redis://127.0.0.1:%d/1" % PORT
LIB_BUCKET = "bq-lib"
CELERY_BUCKET = "bq-celery"

CONCURRENCY = [int(c) for c in os.environ.get("BENCH_UPLOAD_CONCURRENCY", "2,4").split(",")]
RGW_DIR = os.environ.get("BENCH_RGW_DIR", "")
TICK = os.sysconf("SC_CLK_TCK")

results = {}  # name -> list of values


def log(msg):
    print("[bench] " + msg, file=sys.stderr, flush=True)


def add(name, value):
    results.setdefault(name, []).append(value)


def med(name):
    v = results.get(name)
    return statistics.median(v) if v else None


def run_lib(args, env=None):
    """Runs bench_queue, returns its JSON lines."""
    e = dict(os.environ)
    if env:
        e.update(env)
    p = subprocess.run([BIN] + args, env=e, stdout=subprocess.PIPE, text=True, timeout=600)
    if p.returncode != 0:
        raise SystemExit("bench_queue %s failed (exit %d)" % (" ".join(args), p.returncode))
    out = [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]
    for o in out:
        log(json.dumps(o))
    return out


def lib_env(bucket):
    return {
        "MEDIA_STORAGE_BACKEND": "minio",
        "MINIO_ENDPOINT": os.environ["BENCH_ENDPOINT"],
        "MINIO_ACCESS_KEY": os.environ["BENCH_ACCESS_KEY"],
        "MINIO_SECRET_KEY": os.environ["BENCH_SECRET_KEY"],
        "MINIO_BUCKET_NAME": bucket,
        "MEDIA_AUTO_CREATE_BUCKET": "true",
        "MEDIA_QUEUE_BACKEND": "redis",
        "MEDIA_QUEUE_URL": LIB_REDIS,
        "MEDIA_ROOT": WORK + "/media",
        "MEDIA_SPOOL_DIR": DISK + "/spool",
        "MEDIA_LOG_LEVEL": "warn",
    }


# ---------------------------------------------------------------- libmediastore


def lib_noop():
    for backend, where, jobs, tag, extra in (
        ("memory", "-", MEM_JOBS, "memory", []),
        ("sqlite", DISK + "/sqlite", SQLITE_JOBS, "sqlite", []),
        ("sqlite", WORK + "/sqlite", SQLITE_TMPFS_JOBS, "sqlite_tmpfs", []),
        ("redis", LIB_REDIS, REDIS_JOBS, "redis_2p", ["--producers", "2"]),
        ("sqlite", DISK + "/sqlite", SQLITE_JOBS, "sqlite_shared_2p", ["--shared", "--producers", "2"]),
        ("sqlite", DISK + "/sqlite", SQLITE_JOBS, "sqlite_batch", ["--api", "batch"]),
        ("sqlite", DISK + "/sqlite?synchronous=normal", SQLITE_JOBS, "sqlite_normal", []),
        ("redis", LIB_REDIS, REDIS_JOBS, "redis_batch", ["--api", "batch"]),
    ):
        if backend == "sqlite":
            os.makedirs(where.split("?")[0], exist_ok=True)
        log("libmediastore no-op jobs: %s" % tag)
        for o in run_lib(["noop", backend, where, "--jobs", str(jobs), "--runs", str(RUNS)] + extra):
            if o["what"] == "enqueue" and not extra:
                add("enq_" + tag, o["per_s"])
            elif o["what"] == "enqueue" and tag.endswith("_batch"):
                add("enq_" + tag, o["per_s"])
            elif o["what"] == "e2e":
                add("e2e_" + tag, o["per_s"])


def redis_server_usec(r):
    """Total server time of all commands so far (INFO commandstats; commands
    run by scripts are counted in their EVAL and again on their own), and the
    EVAL calls and time."""
    total, evals, eval_usec = 0, 0, 0
    for name, st in r.info("commandstats").items():
        total += int(st["usec"])
        if name in ("cmdstat_eval", "cmdstat_evalsha"):
            evals += int(st["calls"])
            eval_usec += int(st["usec"])
    return total, evals, eval_usec


def lib_noop_redis_run(r):
    """One run of the one-producer Redis no-op benchmark, with the Redis
    server's time per job (the run moves 2 x jobs through the queue: the
    enqueue phase's jobs are drained too)."""
    before = redis_server_usec(r)
    for o in run_lib(["noop", "redis", LIB_REDIS, "--jobs", str(REDIS_JOBS), "--runs", "1"]):
        add(("enq_" if o["what"] == "enqueue" else "e2e_") + "redis", o["per_s"])
    after = redis_server_usec(r)
    # Every queue operation is one EVAL, whose time includes the commands the
    # script runs (commandstats counts those a second time under their names).
    add("redis_usec_per_job_lib", (after[2] - before[2]) / (2.0 * REDIS_JOBS))
    add("redis_evals_per_job_lib", (after[1] - before[1]) / (2.0 * REDIS_JOBS))
    add("redis_usec_per_eval_lib", (after[2] - before[2]) / max(1, after[1] - before[1]))


def lib_upload_run(label, photo, threads):
    tag = "%s:%d" % (label, threads)
    pids = lambda l: ",".join(str(p) for p in l) or "0"  # noqa: E731
    for o in run_lib(["upload", photo, "--jobs", str(UPLOADS), "--runs", "1", "--threads", str(threads),
                      "--server-pids", pids(server_pids()), "--redis-pids", pids(redis_pids())], lib_env(LIB_BUCKET)):
        add("cpu_client:lib:" + tag, 1000 * o["cpu_seconds"] / o["jobs"])
        add("cpu_server:lib:" + tag, 1000 * o["server_cpu_seconds"] / o["jobs"])
        add("cpu_redis:lib:" + tag, 1000 * o["redis_cpu_seconds"] / o["jobs"])
        add("cpu_idle:lib:" + tag, 1000 * o["idle_cpu_seconds"] / o["jobs"])
        add("upload_lib:" + tag, o["per_s"])
        add("upload_lib_submit:" + tag, o["submit_seconds"] / o["jobs"])
        add("upload_lib_mean:" + tag, o["mean_processing_s"])


def lib_stages(label, photo):
    o = run_lib(["stages", photo, "--runs", "5"], lib_env(LIB_BUCKET))[0]
    results["stages_lib:" + label] = o


def lib_deadworker():
    log("libmediastore dead worker (lease %d ms)" % LEASE_MS)
    for o in run_lib(["deadworker", LIB_REDIS, "--runs", str(RUNS), "--lease-ms", str(LEASE_MS)]):
        add("dead_lib", o["kill_to_rerun_s"])
        add("dead_lib_lease", o["lease_to_rerun_s"])


# ---------------------------------------------------------------- Celery


def _proc_cpu(pid):
    """CPU seconds (user + system) of one process, 0 when it is gone."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICK
    except (OSError, IndexError, ValueError):
        return 0.0


def _procs(match):
    """(pid, cmdline) of the processes whose command line satisfies match."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if match(int(d), cmd):
            out.append(int(d))
    return out


def server_pids():
    """This run's RGW: radosgw, its OSD and its monitor."""
    return _procs(lambda pid, cmd: bool(RGW_DIR) and RGW_DIR in cmd and
                  any(d in cmd for d in ("radosgw", "ceph-osd", "ceph-mon")))


def redis_pids():
    return _procs(lambda pid, cmd: "redis-server" in cmd and (":%d" % PORT) in cmd)


def cpu_snapshot(celery_session=None):
    """CPU seconds so far of this run's server (RGW's radosgw, OSD and mon),
    redis-server, the Celery worker (main process and pool children, by
    session) and the idle time of all cores."""
    snap = {"server": sum(_proc_cpu(p) for p in server_pids()), "redis": sum(_proc_cpu(p) for p in redis_pids())}
    if celery_session is not None:
        def in_session(pid, cmd):
            try:
                return os.getsid(pid) == celery_session
            except OSError:
                return False
        snap["celery"] = sum(_proc_cpu(p) for p in _procs(in_session))
    with open("/proc/stat") as f:
        cpu = f.readline().split()
    snap["idle"] = (int(cpu[4]) + int(cpu[5])) / TICK
    snap["wall"] = time.time()
    return snap


def add_cpu_split(tag, before, after, jobs, client_cpu):
    """Per-job CPU milliseconds of client, server, redis and idle cores."""
    add("cpu_client:" + tag, 1000 * client_cpu / jobs)
    for k in ("server", "redis", "idle"):
        add("cpu_%s:%s" % (k, tag), 1000 * (after[k] - before[k]) / jobs)


class CeleryWorker:
    """A `celery worker` in its own session (so that SIGKILL of its process
    group takes the pool children too)."""

    def __init__(self, name, queue, concurrency, env):
        self.name = name
        e = dict(os.environ)
        e["BENCH_CELERY_BROKER"] = CELERY_REDIS
        e.update(env)
        e["BENCH_BUCKET"] = CELERY_BUCKET
        e["PYTHONPATH"] = HERE
        self.log = open(os.path.join(WORK, "celery-%s.log" % name), "w")
        self.proc = subprocess.Popen(
            ["/usr/bin/python3", "-m", "celery", "-A", "celery_app", "worker", "-c", str(concurrency), "-P", "prefork",
             "-Q", queue, "-n", "%s@bench" % name, "-l", "WARNING", "--without-gossip", "--without-mingle",
             "--without-heartbeat"],
            cwd=HERE, env=e, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def kill(self, sig=signal.SIGKILL):
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def stop(self):
        if self.proc.poll() is None:
            self.kill(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill(signal.SIGKILL)
                self.proc.wait()
        self.kill(signal.SIGKILL)  # leftover pool children, if any
        self.log.close()


def celery_client(extra_env=None):
    """The celery_app module, imported in this process as a client."""
    os.environ["BENCH_CELERY_BROKER"] = CELERY_REDIS
    os.environ["BENCH_BUCKET"] = CELERY_BUCKET
    for k in ("BENCH_CELERY_ACKS_LATE", "BENCH_CELERY_VISIBILITY_TIMEOUT"):
        os.environ.pop(k, None)
    if extra_env:
        os.environ.update(extra_env)
    sys.path.insert(0, HERE)
    import importlib

    import celery_app

    return importlib.reload(celery_app)


def wait_count(r, key, n, cap):
    t0 = time.perf_counter()
    while int(r.get(key) or 0) < n:
        if time.perf_counter() - t0 > cap:
            raise SystemExit("celery: only %s of %d tasks done after %d s" % (r.get(key), n, cap))
        time.sleep(0.002)


def celery_noop(ca, r):
    """Celery no-op runs, each after one libmediastore Redis run (rounds
    interleaved, so that both see the same machine load)."""
    w = CeleryWorker("noop", "noop", 2, {})
    try:
        wait_count_warm(ca.noop, "noop", r)
        for run in range(RUNS):
            log("round %d: libmediastore redis no-op, then Celery no-op" % run)
            lib_noop_redis_run(r)
            before = redis_server_usec(r)
            # Enqueue rate: into a queue no worker reads, then dropped.
            t0 = time.perf_counter()
            for i in range(CELERY_JOBS):
                ca.noop.apply_async(("unused",), queue="enqueue_only")
            dt = time.perf_counter() - t0
            r.delete("enqueue_only")
            add("enq_celery", CELERY_JOBS / dt)
            key = "bq:done:noop:%d" % run
            t0 = time.perf_counter()
            for i in range(CELERY_JOBS):
                ca.noop.apply_async((key,), queue="noop")
            wait_count(r, key, CELERY_JOBS, 300)
            dt = time.perf_counter() - t0
            add("e2e_celery", CELERY_JOBS / dt)
            # Server time per task: the run's enqueue-only tasks are counted
            # as half a task each (LPUSH only).
            add("redis_usec_per_job_celery", (redis_server_usec(r)[0] - before[0]) / (1.5 * CELERY_JOBS))
            log("celery no-op run %d: enqueue %.0f/s, end to end %.0f/s" % (run, results["enq_celery"][-1], CELERY_JOBS / dt))
    finally:
        w.stop()


def wait_count_warm(task, queue, r, args=(), count=1):
    """Runs `count` tasks (enough for every pool process to take one and set
    itself up: imports, boto3 client) and waits for them."""
    key = "bq:done:warm:%s:%f" % (queue, time.time())
    for _ in range(count):
        task.apply_async(args + (key,), queue=queue)
    wait_count(r, key, count, 120)


def celery_upload(ca, r, label, photo):
    env = {k: os.environ[k] for k in ("BENCH_ENDPOINT", "BENCH_ACCESS_KEY", "BENCH_SECRET_KEY")}
    s3 = ca.s3()
    try:
        s3.create_bucket(Bucket=CELERY_BUCKET)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    for conc in CONCURRENCY:
        tag = "%s:%d" % (label, conc)
        w = CeleryWorker("upload%d" % conc, "upload", conc, env)
        try:
            wait_count_warm(ca.upload, "upload", r, (photo, "warm/"), 4 * conc)
            for run in range(RUNS):
                log("%s, %d-way, round %d: libmediastore uploads, then Celery uploads (Celery workers idle "
                    "meanwhile)" % (label, conc, run))
                lib_upload_run(label, photo, conc)
                key = "bq:done:upload:%s:%d:%d" % (label, conc, run)
                before = cpu_snapshot(w.proc.pid)
                c0 = time.process_time()
                t0 = time.perf_counter()
                for i in range(UPLOADS):
                    ca.upload.apply_async((photo, "celery/%s/%d/%d/" % (label, run, i), key), queue="upload")
                producer_cpu = time.process_time() - c0
                wait_count(r, key, UPLOADS, 600)
                dt = time.perf_counter() - t0
                after = cpu_snapshot(w.proc.pid)
                add_cpu_split("celery:" + tag, before, after, UPLOADS, after["celery"] - before["celery"] + producer_cpu)
                add("upload_celery:" + tag, UPLOADS / dt)
                log("celery upload %s run %d: %.2f/s" % (tag, run, UPLOADS / dt))
        finally:
            w.stop()
    # The same task's steps one by one in this process (5 runs, medians).
    from PIL import Image, ImageOps
    import io

    steps = {"open_draft_decode": [], "thumbnails": [], "put_original": [], "put_thumbnails": []}
    for i in range(5):
        with open(photo, "rb") as f:
            data = f.read()
        t = time.perf_counter()
        s3.put_object(Bucket=CELERY_BUCKET, Key="stages/original.jpg", Body=data, ContentType="image/jpeg")
        steps["put_original"].append(time.perf_counter() - t)
        t = time.perf_counter()
        im = Image.open(io.BytesIO(data))
        im.draft("RGB", ca.SIZES[-1][1])
        im = ImageOps.exif_transpose(im)
        im.load()
        steps["open_draft_decode"].append(time.perf_counter() - t)
        t = time.perf_counter()
        bufs = []
        for name, box in ca.SIZES:
            c = im.copy()
            c.thumbnail(box, Image.LANCZOS)
            b = io.BytesIO()
            c.save(b, "JPEG", quality=85)
            bufs.append((name, b.getvalue()))
        steps["thumbnails"].append(time.perf_counter() - t)
        t = time.perf_counter()
        for name, b in bufs:
            s3.put_object(Bucket=CELERY_BUCKET, Key="stages/thumb_%s.jpg" % name, Body=b, ContentType="image/jpeg")
        steps["put_thumbnails"].append(time.perf_counter() - t)
    results["stages_celery:" + label] = {k: statistics.median(v) for k, v in steps.items()}
    results["draft_size:" + label] = "%dx%d" % im.size


def read_starts(marker):
    try:
        with open(marker) as f:
            return [line.split() for line in f if line.strip()]
    except FileNotFoundError:
        return []


def dead_start(tag, db, visibility_timeout):
    """acks_late + prefetch 1; two workers (1 process each) on one queue of
    Redis database `db` (each variant its own database, so that one's
    restoring of unacked messages cannot touch the other's). The worker
    running a long task is killed with SIGKILL (main process and pool child);
    the other keeps running."""
    from celery import Celery

    broker = "redis://127.0.0.1:%d/%d" % (PORT, db)
    env = {"BENCH_CELERY_ACKS_LATE": "1", "BENCH_CELERY_BROKER": broker}
    if visibility_timeout:
        env["BENCH_CELERY_VISIBILITY_TIMEOUT"] = str(visibility_timeout)
    client = Celery("client", broker=broker)
    import redis

    r = redis.Redis.from_url(broker)
    r.flushdb()
    queue = "dead_" + tag
    marker = os.path.join(WORK, "starts-%s.txt" % tag)
    st = {"tag": tag, "env": env, "queue": queue, "marker": marker, "vt": visibility_timeout, "r": r,
          "workers": [CeleryWorker("%s_a" % tag, queue, 1, env), CeleryWorker("%s_b" % tag, queue, 1, env)]}
    warm_key = "bq:done:deadwarm"
    for i in range(4):
        client.send_task("celery_app.noop", (warm_key,), queue=queue)
    wait_count(r, warm_key, 4, 120)
    time.sleep(1.0)
    client.send_task("celery_app.sleeper", (marker, 3600), queue=queue)
    t0 = time.time()
    while not read_starts(marker):
        if time.time() - t0 > 60:
            raise SystemExit("celery sleeper did not start")
        time.sleep(0.01)
    pid, started = read_starts(marker)[0]
    victim = None
    for w in st["workers"]:
        try:
            if os.getpgid(int(pid)) == w.proc.pid:
                victim = w
        except ProcessLookupError:
            pass
    if victim is None:
        raise SystemExit("celery: cannot tell which worker runs the task")
    victim.kill(signal.SIGKILL)
    st["killed"] = time.time()
    victim.proc.wait()
    st["kill_after_start"] = st["killed"] - float(started)
    return st


def dead_finish(states, cap, restart_after):
    """Waits up to `cap` s after each kill for the task to start again; after
    `restart_after[tag]` s (if given) a fresh worker is started (a restart)."""
    try:
        pending = list(states)
        while pending:
            for st in list(pending):
                since = time.time() - st["killed"]
                starts = read_starts(st["marker"])
                if len(starts) > 1:
                    st["rerun"] = float(starts[1][1]) - st["killed"]
                elif since >= cap:
                    st["rerun"] = None
                else:
                    ra = restart_after.get(st["tag"])
                    if ra is not None and since >= ra and "restarted" not in st:
                        st["workers"].append(CeleryWorker("%s_c" % st["tag"], st["queue"], 1, st["env"]))
                        st["restarted"] = ra
                    continue
                pending.remove(st)
                results["dead_celery_" + st["tag"]] = {
                    "rerun": st["rerun"], "restarted": st.get("restarted"), "cap": cap,
                    "visibility_timeout": st["vt"], "kill_after_start": st["kill_after_start"]}
                log("celery dead worker (%s): %s" % (st["tag"], results["dead_celery_" + st["tag"]]))
            time.sleep(0.05)
    finally:
        for st in states:
            for w in st["workers"]:
                w.stop()
            st["r"].flushdb()


# ---------------------------------------------------------------- report


def fmt_rate(v):
    if v is None:
        return "n/a"
    if v >= 100:
        return "{:,.0f}".format(v).replace(",", " ")
    return "%.2f" % v


def upload_report(p, label, photo):
    runs = lambda name: len(results.get(name, []))  # noqa: E731
    p("Upload jobs, %s: `%s` -> original + 3 thumbnails into RGW." % (label, photo))
    p("")
    p("| upload jobs, %s | jobs/s | runs | ratio |" % label)
    p("|---|---:|---:|---:|")
    for conc in CONCURRENCY:
        tag = "%s:%d" % (label, conc)
        lib, cel = med("upload_lib:" + tag), med("upload_celery:" + tag)
        p("| libmediastore UploadService + Worker (%d threads), redis queue | %s | %d | %s |" % (
            conc, fmt_rate(lib), runs("upload_lib:" + tag), "%.2f" % (lib / cel) if lib and cel else ""))
        p("| Celery 5.2 + Pillow draft() + boto3 (%d prefork processes) | %s | %d | |" % (
            conc, fmt_rate(cel), runs("upload_celery:" + tag)))
    p("")
    p("CPU per job (ms, medians over the timed runs): the stack's own processes (libmediastore: the bench process, "
      "submitting included; Celery: worker and pool processes plus `apply_async` in the producer), the server "
      "(radosgw, OSD, monitor), redis-server, and idle time summed over both cores.")
    p("")
    p("| %s | client | server | redis | idle | client + server + redis |" % label)
    p("|---|---:|---:|---:|---:|---:|")
    for conc in CONCURRENCY:
        for who, name in (("lib", "libmediastore, %d threads"), ("celery", "Celery, %d processes")):
            tag = "%s:%s:%d" % (who, label, conc)
            v = [med("cpu_%s:%s" % (k, tag)) for k in ("client", "server", "redis", "idle")]
            if None in v:
                continue
            p("| %s | %.1f | %.1f | %.1f | %.1f | %.1f |" % (name % conc, v[0], v[1], v[2], v[3], v[0] + v[1] + v[2]))
    tag = "%s:%d" % (label, CONCURRENCY[0])
    if med("upload_lib_mean:" + tag) is not None:
        p("")
        p("libmediastore, %d threads: mean processing time of one job in the Worker %.3f s; submit_upload (spool "
          "write + fsync, record, enqueue) %.1f ms per upload, in the timed interval." % (
              CONCURRENCY[0], med("upload_lib_mean:" + tag), 1000 * med("upload_lib_submit:" + tag)))
    p("")
    sl = results.get("stages_lib:" + label)
    sc = results.get("stages_celery:" + label)
    if sl and sc:
        p("| one job's steps, one thread, medians of 5 (s) | libmediastore | Celery task |")
        p("|---|---:|---:|")
        p("| validate + 3 thumbnails (libmediastore: process_media_file, one strict decode) | %.3f | — |" % sl["process_s"])
        p("| decode (Pillow: open + draft %s + exif_transpose + load) | — | %.3f |" % (
            results.get("draft_size:" + label, "?"), sc["open_draft_decode"]))
        p("| 3 thumbnails (Pillow: thumbnail LANCZOS + save) | — | %.3f |" % sc["thumbnails"])
        p("| put original | %.3f | %.3f |" % (sl["put_original_s"], sc["put_original"]))
        p("| put 3 thumbnails | %.3f | %.3f |" % (sl["put_thumbnails_s"], sc["put_thumbnails"]))
        tl = sl["process_s"] + sl["put_original_s"] + sl["put_thumbnails_s"]
        tc = sum(sc.values())
        p("| total | %.3f | %.3f |" % (tl, tc))
        p("")


def report():
    out = []
    p = out.append
    runs = lambda name: len(results.get(name, []))  # noqa: E731
    p("| no-op jobs | enqueue jobs/s | end to end jobs/s | runs |")
    p("|---|---:|---:|---:|")
    rows = (
        ("libmediastore memory", "memory"),
        ("libmediastore sqlite (file on disk, WAL, synchronous=FULL)", "sqlite"),
        ("libmediastore sqlite (file on tmpfs)", "sqlite_tmpfs"),
        ("libmediastore redis", "redis"),
        ("libmediastore redis, 2 producer threads", "redis_2p"),
        ("libmediastore sqlite (disk), 2 producer threads sharing one queue object (group commit)", "sqlite_shared_2p"),
        ("libmediastore sqlite (disk), batch API: enqueue_batch + ack_batch", "sqlite_batch"),
        ("libmediastore sqlite (disk), `?synchronous=normal` (not the default; an OS crash can drop the last commits)",
         "sqlite_normal"),
        ("libmediastore redis, batch API: enqueue_batch + ack_batch", "redis_batch"),
        ("Celery 5.2 redis (2 prefork processes)", "celery"),
    )
    for label, tag in rows:
        p("| %s | %s | %s | %d |" % (label, fmt_rate(med("enq_" + tag)) if med("enq_" + tag) else "—",
                                     fmt_rate(med("e2e_" + tag)), runs("e2e_" + tag)))
    if med("redis_usec_per_job_lib") is not None:
        p("")
        p("| Redis server time per no-op job (INFO commandstats; Celery's includes the counter INCR) | µs |")
        p("|---|---:|")
        p("| libmediastore (%.1f EVALs per job at %.1f µs each) | %.1f |" % (
            med("redis_evals_per_job_lib"), med("redis_usec_per_eval_lib"), med("redis_usec_per_job_lib")))
        if med("redis_usec_per_job_celery") is not None:
            p("| Celery 5.2 / kombu | %.1f |" % med("redis_usec_per_job_celery"))
    p("")
    for label, photo in PHOTOS:
        upload_report(p, label, photo)
    p("| dead worker's job running again (SIGKILL of the worker holding it) | seconds | |")
    p("|---|---:|---|")
    p("| libmediastore redis, lease %.0f s, kill right after the lease | %s | median of %d; from the lease: %s |" % (
        LEASE_MS / 1000, "%.2f" % med("dead_lib") if med("dead_lib") is not None else "n/a", runs("dead_lib"),
        "%.2f" % med("dead_lib_lease") if med("dead_lib_lease") is not None else "n/a"))
    for tag, label in (("default", "Celery 5.2, acks_late, default visibility_timeout (3600 s)"),
                       ("vt", "Celery 5.2, acks_late, visibility_timeout = %d s" % (LEASE_MS // 1000))):
        d = results.get("dead_celery_" + tag)
        if not d:
            continue
        val = "%.2f" % d["rerun"] if d["rerun"] is not None else "> %.0f (cap)" % d["cap"]
        note = "the other worker kept running%s" % (
            "; a fresh worker was started %.0f s after the kill" % d["restarted"] if d["restarted"] else "")
        p("| %s | %s | %s |" % (label, val, note))
    p("")
    # Targets.
    p("| target (issue 5) | measured | ratio | verdict |")
    p("|---|---|---:|---|")

    def target(label, value, goal, unit="jobs/s"):
        if value is None:
            p("| %s | n/a | | not measured |" % label)
            return
        ratio = value / goal
        p("| %s | %s vs %s %s | %.2f | %s |" % (label, fmt_rate(value), fmt_rate(goal), unit, ratio,
                                             "met" if ratio >= 1 else "**missed**"))

    target(">= 200 000 no-op jobs/s end to end, memory", med("e2e_memory"), 200000)
    target(">= 5 000 no-op jobs/s end to end, sqlite (disk)", med("e2e_sqlite"), 5000)
    target(">= 5 000 no-op jobs/s end to end, sqlite (tmpfs)", med("e2e_sqlite_tmpfs"), 5000)
    target(">= 20 000 no-op jobs/s end to end, redis", med("e2e_redis"), 20000)
    target(">= 20 000 no-op jobs/s end to end, redis, 2 producers", med("e2e_redis_2p"), 20000)
    target(">= 5 000 no-op jobs/s end to end, sqlite (disk), 2 producers, one queue object",
           med("e2e_sqlite_shared_2p"), 5000)
    target(">= 5 000 no-op jobs/s end to end, sqlite (disk), batch API", med("e2e_sqlite_batch"), 5000)
    target(">= 20 000 no-op jobs/s end to end, redis, batch API", med("e2e_redis_batch"), 20000)
    for label, _ in PHOTOS:
        for conc in CONCURRENCY:
            tag = "%s:%d" % (label, conc)
            if med("upload_celery:" + tag):
                target(">= 2 x Celery upload jobs/s, %s, both %d-way" % (label, conc), med("upload_lib:" + tag),
                       2 * med("upload_celery:" + tag))
    d = med("dead_lib")
    if d is not None:
        goal = LEASE_MS / 1000 + 5
        p("| dead worker's job running again within lease + 5 s | %.2f s vs %.0f s | %.2f | %s |" % (
            d, goal, d / goal, "met" if d <= goal else "**missed**"))
    if med("e2e_celery"):
        p("")
        p("libmediastore redis end to end / Celery end to end: %.1f x; enqueue: %.1f x." % (
            med("e2e_redis") / med("e2e_celery"), med("enq_redis") / med("enq_celery")))
    return "\n".join(out)


def main():
    import redis

    r = redis.Redis.from_url(CELERY_REDIS)
    r.flushdb()
    t_start = time.time()
    r.config_resetstat()
    ca = celery_client()
    if "noop" in PARTS:
        lib_noop()
        celery_noop(ca, r)
    if "uploads" in PARTS:
        for label, photo in PHOTOS:
            celery_upload(ca, r, label, photo)
            lib_stages(label, photo)
    if "dead" in PARTS:
        lib_deadworker()
        # Both Celery variants at once (own databases), to keep the run short.
        states = [dead_start("default", 2, None), dead_start("vt", 3, LEASE_MS // 1000)]
        dead_finish(states, CELERY_CAP, {"default": CELERY_CAP * 0.75})
    log("done in %.0f s" % (time.time() - t_start))
    print(report())
    with open(os.path.join(WORK, "results.json"), "w") as f:
        json.dump(results, f, indent=1, default=str)


if __name__ == "__main__":
    main()
