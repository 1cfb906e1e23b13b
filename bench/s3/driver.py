#!/usr/bin/python3
"""Runs the S3 benchmark against the RGW that bench/s3/run.sh started and
prints a markdown report (medians, ratios against the targets of issue 3).

Every client runs the same operations against the same gateway in the same
run; rounds are interleaved (round 1 of every client, then round 2, ...) so
that drift on a shared machine spreads evenly. Objects a run writes are
deleted right after it so that the store stays small.

Environment (run.sh sets it): BENCH_ENDPOINT, BENCH_ACCESS_KEY,
BENCH_SECRET_KEY, BENCH_BUCKET, BENCH_BIN (folder with bench_s3, bench_sign),
BENCH_WORK (scratch folder, ideally tmpfs), BENCH_ROUNDS_BIG (1 GiB rounds,
default 3), BENCH_ROUNDS (64 MiB and small-PUT rounds, default 5),
BENCH_SMALL_COUNT (default 1000), BENCH_SKIP_1G (1 = leave out 1 GiB).
"""
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
PY = "/usr/bin/python3"
PEERS = os.path.join(HERE, "peers.py")
MiB = 1 << 20
GiB = 1 << 30

E = os.environ
BIN = E["BENCH_BIN"]
WORK = E["BENCH_WORK"]
BUCKET = E.get("BENCH_BUCKET", "ms-bench")
ROUNDS_BIG = int(E.get("BENCH_ROUNDS_BIG", "3"))
ROUNDS = int(E.get("BENCH_ROUNDS", "5"))
SMALL_COUNT = int(E.get("BENCH_SMALL_COUNT", "1000"))
SKIP_1G = E.get("BENCH_SKIP_1G") == "1"
AWS = "/usr/bin/aws" if os.path.exists("/usr/bin/aws") else None
RCLONE = shutil.which("rclone")
CURL = shutil.which("curl")


def log(msg):
    sys.stderr.write("[bench %s] %s\n" % (time.strftime("%H:%M:%S"), msg))
    sys.stderr.flush()


def child_env():
    env = dict(os.environ)
    env.update(
        {
            # libmediastore
            "MEDIA_STORAGE_BACKEND": "minio",
            "MINIO_ENDPOINT": E["BENCH_ENDPOINT"],
            "MINIO_ACCESS_KEY": E["BENCH_ACCESS_KEY"],
            "MINIO_SECRET_KEY": E["BENCH_SECRET_KEY"],
            "MINIO_BUCKET_NAME": BUCKET,
            # AWS CLI
            "AWS_ACCESS_KEY_ID": E["BENCH_ACCESS_KEY"],
            "AWS_SECRET_ACCESS_KEY": E["BENCH_SECRET_KEY"],
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": os.path.join(WORK, "aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": os.path.join(WORK, "aws-credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_PAGER": "",
            # rclone: a remote "rgw" from the environment only
            "RCLONE_CONFIG": os.path.join(WORK, "rclone.conf"),
            "RCLONE_CONFIG_RGW_TYPE": "s3",
            "RCLONE_CONFIG_RGW_PROVIDER": "Ceph",
            "RCLONE_CONFIG_RGW_ENDPOINT": E["BENCH_ENDPOINT"],
            "RCLONE_CONFIG_RGW_ACCESS_KEY_ID": E["BENCH_ACCESS_KEY"],
            "RCLONE_CONFIG_RGW_SECRET_ACCESS_KEY": E["BENCH_SECRET_KEY"],
            "RCLONE_CONFIG_RGW_REGION": "us-east-1",
        }
    )
    # AWS_CA_BUNDLE (set on this machine) makes rclone 1.60 refuse to start.
    for k in ("AWS_CA_BUNDLE", "AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_S3_ENDPOINT_URL", "MEDIA_S3_MULTIPART_THRESHOLD",
              "MEDIA_S3_PART_SIZE"):
        env.pop(k, None)
    return env


ENV = None


def run_json(cmd, extra_env=None):
    """A client that measures its own wall and CPU time and prints one JSON
    line. Peak RSS comes from /usr/bin/time instead: a process started from
    this (large) Python process by vfork+exec inherits its RSS high-water
    mark in ru_maxrss, while /usr/bin/time's child starts from a small one."""
    tfile = os.path.join(WORK, "time.out")
    full = ["/usr/bin/time", "-f", "%M", "-o", tfile] + cmd
    env = dict(ENV, **extra_env) if extra_env else ENV
    p = subprocess.run(full, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), p.returncode, p.stderr.strip()[-2000:]))
    r = json.loads(p.stdout.strip().splitlines()[-1])
    with open(tfile) as f:
        r["maxrss_kb"] = int(f.read().split()[-1])
    return r


def run_timed(cmd, stdout=subprocess.DEVNULL):
    """A command line tool measured from outside with /usr/bin/time."""
    tfile = os.path.join(WORK, "time.out")
    full = ["/usr/bin/time", "-f", "%e %U %S %M", "-o", tfile] + cmd
    p = subprocess.run(full, env=ENV, stdout=stdout, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd), p.returncode, p.stderr.strip()[-2000:]))
    with open(tfile) as f:
        wall, user, sys_, rss = f.read().split()[-4:]
    return {"seconds": float(wall), "cpu": float(user) + float(sys_), "maxrss_kb": int(rss), "stdout": p.stdout}


def peers(*args):
    return subprocess.run([PY, PEERS] + list(args), env=ENV, check=True, stdout=subprocess.PIPE,
                          text=True).stdout.strip()


def make_file(path, size):
    """Random bytes; above 64 MiB, one random 64 MiB block repeated (nothing
    on the path compresses or deduplicates, and urandom is slow)."""
    block = memoryview(os.urandom(min(size, 64 * MiB)))
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, len(block))
            f.write(block[:n])
            left -= n


def delete(prefix):
    subprocess.run([os.path.join(BIN, "bench_s3"), "rm-prefix", prefix], env=ENV, check=True)


# ---- the clients, one function per (client, operation) ----

def put_clients():
    c = {
        "curl (presigned PUT)": lambda f, k: run_timed([CURL, "-sSf", "-o", "/dev/null", "-T", f, peers("presign", "put", k)]),
        # Default payload signing (auto: aws-chunked streaming from 8 MiB on).
        "mediastore single PUT": lambda f, k: run_json([os.path.join(BIN, "bench_s3"), "put", f, k, "single"]),
        "mediastore single PUT, whole-body hash": lambda f, k: run_json(
            [os.path.join(BIN, "bench_s3"), "put", f, k, "single"], {"MEDIA_S3_PAYLOAD_SIGNING": "whole"}),
        "mediastore multipart": lambda f, k: run_json([os.path.join(BIN, "bench_s3"), "put", f, k, "multipart"]),
        "boto3 upload_file": lambda f, k: run_json([PY, PEERS, "put-file", f, k]),
        "boto3 put_object": lambda f, k: run_json([PY, PEERS, "put-object", f, k]),
    }
    if AWS:
        c["aws s3 cp (CLI v2)"] = lambda f, k: run_timed(
            [AWS, "--endpoint-url", E["BENCH_ENDPOINT"], "s3", "cp", "--only-show-errors", f, "s3://%s/%s" % (BUCKET, k)])
    if RCLONE:
        c["rclone copyto"] = lambda f, k: run_timed(
            [RCLONE, "copyto", "-q", "--s3-no-check-bucket", f, "rgw:%s/%s" % (BUCKET, k)])
    return c


def get_clients():
    c = {
        "curl (presigned GET)": lambda k, f: run_timed([CURL, "-sSf", "-o", f, peers("presign", "get", k)]),
        "mediastore read_to_file": lambda k, f: run_json([os.path.join(BIN, "bench_s3"), "get", k, f]),
        "boto3 download_file": lambda k, f: run_json([PY, PEERS, "get-file", k, f]),
    }
    if AWS:
        c["aws s3 cp (CLI v2)"] = lambda k, f: run_timed(
            [AWS, "--endpoint-url", E["BENCH_ENDPOINT"], "s3", "cp", "--only-show-errors", "s3://%s/%s" % (BUCKET, k), f])
    if RCLONE:
        c["rclone copyto"] = lambda k, f: run_timed([RCLONE, "copyto", "-q", "rgw:%s/%s" % (BUCKET, k), f])
    return c


def small_clients(small_file):
    def curl_small(prefix):
        cfg = os.path.join(WORK, "curl-small.cfg")
        with open(cfg, "w") as f:
            f.write(peers("curl-config", prefix, str(SMALL_COUNT), small_file) + "\n")
        r = run_timed([CURL, "-sS", "-K", cfg, "-w", "%{http_code}\\n"], stdout=subprocess.PIPE)
        codes = r.pop("stdout").split()
        if len(codes) != SMALL_COUNT or any(c != "200" for c in codes):
            raise RuntimeError("curl small PUTs: not all answered 200: %s" % sorted(set(codes)))
        r["requests"] = SMALL_COUNT
        return r

    return {
        "curl (keep-alive, presigned)": curl_small,
        "mediastore put_bytes": lambda p: run_json(
            [os.path.join(BIN, "bench_s3"), "small-puts", str(SMALL_COUNT), "1024", p]),
        "boto3 put_object": lambda p: run_json([PY, PEERS, "small-puts", str(SMALL_COUNT), "1024", p]),
    }


# ---- measuring ----

RESULTS = {}  # (section, client) -> [run dicts]


def record(section, client, r, nbytes):
    r = dict(r)
    r["mibs"] = nbytes / MiB / r["seconds"]
    r["cpu_per_gib"] = r["cpu"] / (nbytes / GiB)
    RESULTS.setdefault((section, client), []).append(r)
    log("%-28s %-26s %8.1f MiB/s  cpu %6.2f s  rss %7.1f MiB" % (
        section, client, r["mibs"], r["cpu"], r["maxrss_kb"] / 1024))


def med(section, client, field):
    runs = RESULTS.get((section, client))
    return statistics.median(r[field] for r in runs) if runs else None


def bench_size(label, path, size, rounds):
    puts = put_clients()
    gets = get_clients()
    src_multi = "src/%s-multipart" % label
    src_single = "src/%s-single" % label
    run_json([os.path.join(BIN, "bench_s3"), "put", path, src_multi, "multipart"])
    run_json([os.path.join(BIN, "bench_s3"), "put", path, src_single, "single"])
    for rnd in range(rounds):
        log("%s round %d/%d" % (label, rnd + 1, rounds))
        for name, fn in puts.items():
            key = "put/%s/%s" % (label, name.split()[0])
            record("PUT " + label, name, fn(path, key), size)
            delete(key)
        for name, fn in gets.items():
            out = os.path.join(WORK, "download.bin")
            record("GET %s (multipart object)" % label, name, fn(src_multi, out), size)
            if os.path.getsize(out) != size:
                raise RuntimeError("%s downloaded %d bytes, expected %d" % (name, os.path.getsize(out), size))
            os.unlink(out)
        for name in ("curl (presigned GET)", "mediastore read_to_file"):
            out = os.path.join(WORK, "download.bin")
            record("GET %s (single-part object)" % label, name, gets[name](src_single, out), size)
            os.unlink(out)
    delete("src/%s-" % label)


def bench_small(small_file, rounds):
    clients = small_clients(small_file)
    for rnd in range(rounds):
        log("small PUTs round %d/%d" % (rnd + 1, rounds))
        for name, fn in clients.items():
            prefix = "small/%s/" % name.split()[0]
            r = fn(prefix)
            r["rate"] = r.get("requests", SMALL_COUNT) / r["seconds"]
            r["cpu_per_1000"] = r["cpu"] / r.get("requests", SMALL_COUNT) * 1000
            RESULTS.setdefault(("small", name), []).append(r)
            log("small PUTs %-28s %7.0f PUT/s  cpu %.2f s per 1000" % (name, r["rate"], r["cpu_per_1000"]))
            delete(prefix)


def bench_sign():
    out = subprocess.run([os.path.join(BIN, "bench_sign"), "1000000"], env=ENV, check=True, stdout=subprocess.PIPE,
                         text=True).stdout
    ours = {}
    for line in out.splitlines():
        if "signatures/s" in line:
            name, rest = line.split(":", 1)
            ours[name.strip()] = float(rest.split()[0])
    boto = json.loads(peers("sign-rate", "20000"))
    return ours, boto["per_second"]


# ---- report ----

def fmt(x, digits=0):
    if x is None:
        return "n/a"
    return ("%." + str(digits) + "f") % x


def verdict(ratio, target, higher_is_better=True):
    if ratio is None:
        return "n/a"
    ok = ratio >= target if higher_is_better else ratio <= target
    return "met" if ok else "**missed**"


def report(sign, machine):
    lines = []
    w = lines.append
    w("Run: %s UTC on %s. Medians of %d runs (1 GiB: %d runs); client CPU = user + system seconds of the "
      "client process (in-process for libmediastore and boto3, which excludes interpreter start; from "
      "/usr/bin/time for curl, the AWS CLI and rclone, which includes process start)." % (
          machine["date"], machine["host"], ROUNDS, ROUNDS_BIG))
    w("")
    w("| operation | client | MiB/s | CPU s/GiB | peak RSS MiB |")
    w("|---|---|---:|---:|---:|")
    for (section, client), runs in RESULTS.items():
        if section == "small":
            continue
        w("| %s | %s | %s | %s | %s |" % (section, client, fmt(med(section, client, "mibs")),
                                         fmt(med(section, client, "cpu_per_gib"), 2),
                                         fmt(med(section, client, "maxrss_kb") / 1024)))
    w("")
    w("| %d x 1 KiB PUT, sequential | PUT/s | CPU s per 1000 requests |" % SMALL_COUNT)
    w("|---|---:|---:|")
    for (section, client), runs in RESULTS.items():
        if section == "small":
            w("| %s | %s | %s |" % (client, fmt(med(section, client, "rate")), fmt(med(section, client, "cpu_per_1000"), 2)))
    w("")
    ours, boto = sign
    w("| SigV4 signing (one core) | signatures/s |")
    w("|---|---:|")
    for name, rate in ours.items():
        w("| libmediastore %s | %s |" % (name, fmt(rate)))
    w("| botocore S3SigV4Auth.add_auth | %s |" % fmt(boto))
    w("")

    def ratio(a, b):
        return a / b if a is not None and b else None

    w("| target (issue 3) | measured | ratio | verdict |")
    w("|---|---|---:|---|")
    sizes = ["64 MiB"] + ([] if SKIP_1G else ["1 GiB"])
    for label in sizes:
        a = med("PUT " + label, "mediastore single PUT", "mibs")
        b = med("PUT " + label, "curl (presigned PUT)", "mibs")
        r = ratio(a, b)
        w("| single-stream PUT %s >= 0.9 x curl | %s vs %s MiB/s | %s | %s |" % (label, fmt(a), fmt(b), fmt(r, 2), verdict(r, 0.9)))
        for kind in ("multipart", "single-part"):
            sec = "GET %s (%s object)" % (label, kind)
            a = med(sec, "mediastore read_to_file", "mibs")
            b = med(sec, "curl (presigned GET)", "mibs")
            r = ratio(a, b)
            w("| single-stream GET %s (%s object) >= 0.9 x curl | %s vs %s MiB/s | %s | %s |" % (
                label, kind, fmt(a), fmt(b), fmt(r, 2), verdict(r, 0.9)))
    big = "64 MiB" if SKIP_1G else "1 GiB"
    a = med("PUT " + big, "mediastore multipart", "mibs")
    b = med("PUT " + big, "boto3 upload_file", "mibs")
    r = ratio(a, b)
    w("| multipart %s upload >= 2 x boto3 upload_file | %s vs %s MiB/s | %s | %s |" % (big, fmt(a), fmt(b), fmt(r, 2), verdict(r, 2)))
    a = med("small", "mediastore put_bytes", "rate")
    b = med("small", "curl (keep-alive, presigned)", "rate")
    r = ratio(a, b)
    w("| 1 KiB PUT rate >= 0.95 x curl keep-alive | %s vs %s PUT/s | %s | %s |" % (fmt(a), fmt(b), fmt(r, 2), verdict(r, 0.95)))
    a = med("small", "mediastore put_bytes", "cpu_per_1000")
    b = med("small", "boto3 put_object", "cpu_per_1000")
    r = ratio(a, b)
    w("| 1 KiB PUT CPU <= 1/5 of boto3 | %s vs %s CPU s/1000 | %s | %s |" % (fmt(a, 2), fmt(b, 2), fmt(r, 2), verdict(r, 0.2, False)))
    for sec, ours_c, theirs in (("PUT " + big, "mediastore multipart", "boto3 upload_file"),
                                ("GET %s (multipart object)" % big, "mediastore read_to_file", "boto3 download_file")):
        a = med(sec, ours_c, "cpu_per_gib")
        b = med(sec, theirs, "cpu_per_gib")
        r = ratio(a, b)
        w("| CPU per GiB <= 1/5 of boto3 (%s) | %s vs %s CPU s/GiB | %s | %s |" % (sec, fmt(a, 2), fmt(b, 2), fmt(r, 2), verdict(r, 0.2, False)))
    runs = RESULTS.get(("PUT " + big, "mediastore multipart"))
    if runs:
        rss = max(r["maxrss_kb"] for r in runs) / 1024
        limit = runs[0]["parts_in_flight"] * runs[0]["part_size"] / MiB + 32
        w("| peak RSS during %s upload <= parts in flight x part size + 32 MiB | %s MiB (max of runs) vs %s MiB | %s | %s |" % (
            big, fmt(rss, 1), fmt(limit), fmt(rss / limit, 2), verdict(rss / limit, 1.0, False)))
    best = max(ours.values()) if ours else None
    w("| >= 500 000 signatures/s on one core | %s/s (botocore %s/s) | %s | %s |" % (
        fmt(best), fmt(boto), fmt(best / 500000 if best else None, 2), verdict(best / 500000 if best else None, 1.0)))
    return "\n".join(lines)


def main():
    global ENV
    os.makedirs(WORK, exist_ok=True)
    ENV = child_env()
    with open(os.path.join(WORK, "aws-config"), "w") as f:
        f.write("[default]\nregion = us-east-1\ns3 =\n  addressing_style = path\n")
    open(os.path.join(WORK, "aws-credentials"), "w").close()
    open(os.path.join(WORK, "rclone.conf"), "w").close()
    t0 = time.time()
    machine = {
        "date": datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"),
        "host": "%s, %d CPUs, %s, kernel %s" % (cpu_model(), os.cpu_count(), mem_total(), platform.release()),
    }
    peers("mkbucket")
    small = os.path.join(WORK, "1k.bin")
    make_file(small, 1024)
    f64 = os.path.join(WORK, "64m.bin")
    make_file(f64, 64 * MiB)
    log("signing")
    sign = bench_sign()
    log("small PUTs")
    bench_small(small, ROUNDS)
    log("64 MiB")
    bench_size("64 MiB", f64, 64 * MiB, ROUNDS)
    os.unlink(f64)
    if not SKIP_1G:
        f1g = os.path.join(WORK, "1g.bin")
        make_file(f1g, GiB)
        log("1 GiB")
        bench_size("1 GiB", f1g, GiB, ROUNDS_BIG)
        os.unlink(f1g)
    print(report(sign, machine))
    print("\n(benchmark took %.0f s; clients: curl %s, boto3/botocore via %s, aws %s, rclone %s)" % (
        time.time() - t0, tool_version([CURL, "--version"]), PY, tool_version([AWS, "--version"]) if AWS else "absent",
        tool_version([RCLONE, "version"]) if RCLONE else "absent"))


def tool_version(cmd):
    try:
        return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout.split("\n")[0]
    except OSError:
        return "?"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def mem_total():
    with open("/proc/meminfo") as f:
        kb = int(f.readline().split()[1])
    return "%.0f GiB RAM" % (kb / 1048576)


if __name__ == "__main__":
    main()
