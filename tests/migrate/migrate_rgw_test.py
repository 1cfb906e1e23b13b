#!/usr/bin/python3
"""Migration local -> RGW with a SIGKILL in the middle, a SIGINT, and restarts.

Environment (set by tests/migrate/tests.cmake):
  MS_CLI               build/bin/mediastore
  MS_MIGRATE_FIXTURE   the seed/verify helper (migrate_fixture.cpp)
  MS_RGW_ENDPOINT, MS_RGW_ACCESS_KEY, MS_RGW_SECRET_KEY
  MS_MIGRATE_OBJECTS   Default: 5000

Steps:
  1. seed N small objects with metadata into a fresh local MEDIA_ROOT;
  2. `mediastore migrate --from local --to minio` (destination by prefixed
     variables), SIGKILL once part of the objects are journalled;
  3. run again (destination by --dest-config), SIGINT part-way: it must stop
     cleanly with the "cancelled" exit status and a whole journal;
  4. run again to the end: exit 0, copied + skipped == N, nothing failed;
  5. every key is journalled exactly once over the three runs (no finished
     object was copied again), the bucket holds exactly the N objects,
     byte-identical with their metadata (checked with the library through
     the fixture, and a sample independently with boto3).
"""
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import boto3
from botocore.config import Config as BotoConfig

CLI = os.environ["MS_CLI"]
FIXTURE = os.environ["MS_MIGRATE_FIXTURE"]
ENDPOINT = os.environ["MS_RGW_ENDPOINT"]
ACCESS = os.environ["MS_RGW_ACCESS_KEY"]
SECRET = os.environ["MS_RGW_SECRET_KEY"]
N = int(os.environ.get("MS_MIGRATE_OBJECTS", "5000"))
EXIT_CANCELLED = 10 + 15  # cli::exit_status_for(ErrorCode::cancelled)


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def journal_keys(path):
    keys = []
    if not os.path.exists(path):
        return keys
    with open(path, "rb") as f:
        data = f.read()
    lines = data.split(b"\n")
    if not lines[0].startswith(b"# mediastore-migrate-journal 1"):
        fail("journal header missing: %r" % lines[0][:80])
    if data and not data.endswith(b"\n"):
        fail("journal ends with a partial line after a clean stop")
    for line in lines[1:]:
        if line:
            parts = line.split(b"\t")
            if parts[0] != b"V" or len(parts) != 5:
                fail("malformed journal line %r" % line[:120])
            keys.append(parts[4].decode())
    return keys


def wait_for_journal(proc, path, at_least, what):
    deadline = time.time() + 120
    while time.time() < deadline:
        if proc.poll() is not None:
            out, err = proc.communicate()
            fail("%s ended before it could be interrupted (exit %s): %s %s" % (what, proc.returncode, out, err))
        if len(journal_keys(path)) >= at_least:
            return
        time.sleep(0.05)
    proc.kill()
    fail("%s journalled fewer than %d objects in 120 s" % (what, at_least))


def main():
    work = tempfile.mkdtemp(prefix="ms-migrate-rgw-")
    bucket = "migrate-%08x" % random.getrandbits(32)
    try:
        src_root = os.path.join(work, "media")
        journal = os.path.join(work, "journal")
        base = {k: v for k, v in os.environ.items()
                if not (k.startswith("MEDIA_") or k.startswith("MINIO_") or k.startswith("AWS_")
                        or k.startswith("MIGRATE_TO_"))}
        base.update({"MEDIA_STORAGE_BACKEND": "local", "MEDIA_ROOT": src_root})
        dest = {"MEDIA_STORAGE_BACKEND": "minio", "MINIO_ENDPOINT": ENDPOINT, "MINIO_ACCESS_KEY": ACCESS,
                "MINIO_SECRET_KEY": SECRET, "MINIO_BUCKET_NAME": bucket, "MEDIA_AUTO_CREATE_BUCKET": "true"}
        env_prefixed = dict(base)
        env_prefixed.update({"MIGRATE_TO_" + k: v for k, v in dest.items()})
        dest_file = os.path.join(work, "dest.env")
        with open(dest_file, "w") as f:
            f.write("# destination of the migration test\n")
            for k, v in dest.items():
                f.write('%s="%s"\n' % (k, v) if k == "MINIO_BUCKET_NAME" else "%s=%s\n" % (k, v))

        t0 = time.time()
        subprocess.run([FIXTURE, "seed", str(N)], env=base, check=True)
        print("seeded %d objects in %.1f s" % (N, time.time() - t0))

        common = ["migrate", "--from", "local", "--to", "minio", "--concurrency", "16", "--journal", journal,
                  "--json"]

        # Run 1: SIGKILL part-way.
        t0 = time.time()
        p1 = subprocess.Popen([CLI] + common, env=env_prefixed, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        wait_for_journal(p1, journal, N // 4, "run 1")
        p1.send_signal(signal.SIGKILL)
        p1.communicate()
        after_kill = len(journal_keys(journal))
        print("run 1 killed after %d journalled objects (%.1f s)" % (after_kill, time.time() - t0))
        if after_kill >= N:
            fail("run 1 finished before the kill")

        # Run 2: destination from a config file; SIGINT part-way stops cleanly.
        t0 = time.time()
        p2 = subprocess.Popen([CLI] + common + ["--dest-config", dest_file], env=base, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
        wait_for_journal(p2, journal, after_kill + N // 4, "run 2")
        p2.send_signal(signal.SIGINT)
        out, err = p2.communicate(timeout=60)
        if p2.returncode != EXIT_CANCELLED:
            fail("run 2 after SIGINT: exit %s, expected %d; stderr: %s" % (p2.returncode, EXIT_CANCELLED, err))
        r2 = json.loads(out)
        if not r2["cancelled"] or r2["failures"]:
            fail("run 2 report after SIGINT: %s" % out)
        if r2["skipped"] < after_kill:
            fail("run 2 skipped %d objects, but %d were journalled by run 1" % (r2["skipped"], after_kill))
        after_int = len(journal_keys(journal))
        print("run 2 stopped by SIGINT after %d journalled objects, skipped %d, copied %d (%.1f s)"
              % (after_int, r2["skipped"], r2["copied"], time.time() - t0))

        # Run 3: to the end.
        t0 = time.time()
        p3 = subprocess.run([CLI] + common, env=env_prefixed, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            timeout=300)
        if p3.returncode != 0:
            fail("run 3 exit %d: %s %s" % (p3.returncode, p3.stdout, p3.stderr))
        r3 = json.loads(p3.stdout)
        print("run 3: %s (%.1f s)" % ({k: r3[k] for k in ("listed", "copied", "skipped", "failed")},
                                       time.time() - t0))
        if r3["listed"] != N or r3["copied"] + r3["skipped"] != N or r3["failed"] != 0 or not r3["ok"]:
            fail("run 3 report: %s" % p3.stdout)
        if r3["skipped"] < after_int:
            fail("run 3 skipped %d objects, but %d were journalled" % (r3["skipped"], after_int))
        if r3["copied"] > N - after_int:
            fail("run 3 copied %d objects; at most %d were left" % (r3["copied"], N - after_int))

        # No object verified by one run was copied again by a later one: each
        # key is journalled once, and all of them are.
        keys = journal_keys(journal)
        if len(keys) != N or len(set(keys)) != N:
            dup = len(keys) - len(set(keys))
            fail("journal holds %d lines for %d distinct keys (%d repeated), expected %d" % (len(keys),
                                                                                            len(set(keys)), dup, N))

        # The library's view: exactly N objects, byte-identical, with metadata.
        t0 = time.time()
        subprocess.run([FIXTURE, "verify", str(N), "MIGRATE_TO_"], env=env_prefixed, check=True)
        print("verified with the library in %.1f s" % (time.time() - t0))

        # An independent client: boto3 sees exactly the N keys, and a sample
        # matches the source files byte for byte with their metadata.
        s3 = boto3.client("s3", endpoint_url=ENDPOINT, aws_access_key_id=ACCESS, aws_secret_access_key=SECRET,
                          region_name="us-east-1", config=BotoConfig(s3={"addressing_style": "path"}))
        listed = []
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
            listed += [o["Key"] for o in page.get("Contents", [])]
        if len(listed) != N or len(set(listed)) != N:
            fail("boto3 lists %d objects (%d distinct), expected %d" % (len(listed), len(set(listed)), N))
        types = ["image/jpeg", "image/png", "text/plain; charset=utf-8", "application/octet-stream"]
        for i in random.sample(range(N), 100):
            key = "m/%02d/obj-%05d.bin" % (i % 64, i)
            got = s3.get_object(Bucket=bucket, Key=key)
            with open(os.path.join(src_root, key), "rb") as f:
                want = f.read()
            if got["Body"].read() != want:
                fail("boto3: %s differs from the source file" % key)
            if got["ContentType"] != types[i % 4]:
                fail("boto3: %s content type %r" % (key, got["ContentType"]))
            if got.get("CacheControl") != "public, max-age=%d" % (60 + i):
                fail("boto3: %s cache control %r" % (key, got.get("CacheControl")))
            if i % 3 == 0 and got.get("ContentDisposition") != 'attachment; filename="obj-%d.bin"' % i:
                fail("boto3: %s content disposition %r" % (key, got.get("ContentDisposition")))
            if got["Metadata"] != {"index": str(i), "origin": "migrate-test"}:
                fail("boto3: %s metadata %r" % (key, got["Metadata"]))
        print("boto3: %d keys listed once each, 100 sampled objects identical" % N)

        # Clean up the bucket (best effort).
        try:
            for start in range(0, len(listed), 1000):
                s3.delete_objects(Bucket=bucket,
                                  Delete={"Objects": [{"Key": k} for k in listed[start:start + 1000]]})
            s3.delete_bucket(Bucket=bucket)
        except Exception as e:  # noqa: BLE001 - cleanup only
            print("cleanup of bucket %s failed: %s" % (bucket, e))
        print("PASS")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
