#!/usr/bin/python3
"""`mediastore serve` with real clients: curl, http.client and raw sockets.

Usage: serve_test.py MEDIASTORE_BIN SCRATCH_DIR PORT [rgw]
With `rgw`, the storage is the RGW test server (environment from ctest) and
only the upload path runs (signed media GETs are a local-backend feature).
Every check asserts; the first failure exits 1 with its name.
"""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.parse

BIN, SCRATCH, PORT = sys.argv[1], sys.argv[2], int(sys.argv[3])
RGW = len(sys.argv) > 4 and sys.argv[4] == "rgw"
HOST = "127.0.0.1"
SECRET = "serve-test-grant-secret"
HEADER_TIMEOUT = 2  # seconds (--header-timeout): the slowloris bound
FAILURES = []


def check(cond, what):
    if not cond:
        FAILURES.append(what)
        print("FAIL:", what, flush=True)
    else:
        print("ok:", what, flush=True)


def env():
    e = dict(os.environ)
    e.update(
        MEDIA_ROOT=os.path.join(SCRATCH, "media"),
        MEDIA_STATE_DIR=os.path.join(SCRATCH, "state"),
        MEDIA_QUEUE_BACKEND="sqlite",
        MEDIA_UPLOAD_GRANT_SECRET=SECRET,
        MEDIA_URL_SIGNING_KEY="serve-test-url-key",
        MAX_UPLOAD_SIZE=str(4 << 20),
        MEDIA_THUMBNAIL_FORMATS="jpeg,webp,avif",
    )
    if RGW:
        e["MINIO_BUCKET_NAME"] = "serve-test-%d" % os.getpid()
    else:
        e["MEDIA_STORAGE_BACKEND"] = "local"
    return e


def grant(*args):
    out = subprocess.run([BIN, "grant", *args], env=env(), check=True, capture_output=True, text=True)
    return out.stdout.strip()


def curl(*args):
    out = subprocess.run(
        ["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "--max-time", "20", *args],
        capture_output=True,
        text=True,
    )
    body, _, code = out.stdout.rpartition("\n")
    return int(code or 0), body


def url(path):
    return "http://%s:%d%s" % (HOST, PORT, path)


def jpeg(path, size="640x480"):
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=" + size, "-frames:v", "1", path],
        check=True,
    )


def upload(token, path, keep="42", media_type="photo", extra=()):
    args = ["-F", "keep_id=" + keep, "-F", "media_type=" + media_type, "-F", "caption=at the lake", "-F", "file=@" + path]
    if token is not None:
        args = ["-H", "Authorization: Bearer " + token] + args
    return curl(*args, *extra, url("/api/keeps/upload/"))


def staged():
    """Files in the spool and the incoming folder (nothing for refused uploads)."""
    n = 0
    for d in ("state/spool", "state/http-incoming"):
        p = os.path.join(SCRATCH, d)
        if os.path.isdir(p):
            n += sum(len(f) for _, _, f in os.walk(p))
    return n


def raw(data, timeout=10, read=True):
    """Sends bytes on a fresh connection; returns what came back before close."""
    s = socket.create_connection((HOST, PORT), timeout=timeout)
    try:
        try:
            s.sendall(data)
        except OSError:
            pass  # the server may close before reading everything
        out = b""
        if read:
            while True:
                try:
                    chunk = s.recv(65536)
                except (ConnectionResetError, socket.timeout):
                    break
                if not chunk:
                    break
                out += chunk
        return out
    finally:
        s.close()


def status_line(resp):
    return resp.split(b"\r\n", 1)[0].decode("latin-1")


def main():
    shutil.rmtree(SCRATCH, ignore_errors=True)
    os.makedirs(SCRATCH)
    photo = os.path.join(SCRATCH, "photo.jpg")
    jpeg(photo)
    big = os.path.join(SCRATCH, "big.bin")
    with open(big, "wb") as f:
        f.write(os.urandom(5 << 20))

    server = subprocess.Popen(
        [BIN, "serve", "--listen", "%s:%d" % (HOST, PORT), "--worker", "--worker-threads", "2",
         "--header-timeout", str(HEADER_TIMEOUT), "--connection-timeout", "3", "--max-connections", "64",
         "--per-ip-connections", "48", "--max-header-bytes", "16384"],
        env=env(),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = server.stderr.readline()
        check("listening" in line, "serve starts: " + line.strip())
        run(photo, big)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            rc = server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            rc = -9
        check(rc == 0, "serve stops cleanly on SIGTERM (exit %s)" % rc)
    if FAILURES:
        print("%d failure(s): %s" % (len(FAILURES), "; ".join(FAILURES)))
        sys.exit(1)


def run(photo, big):
    code, body = curl(url("/healthz"))
    check(code == 200 and json.loads(body)["status"] == "ok", "healthz: storage and queue reachable")

    # ---- grants refused: nothing staged ----
    good = grant("--context", "keep_id=42", "--context", "circle_id=7", "--max-bytes", str(1 << 20), "--kinds", "photo")
    code, body = upload(None, photo)
    check(code == 401 and "missing" in body, "upload without a grant: 401 missing")
    code, body = upload(good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB"), photo)
    check(code == 401 and "bad signature" in body, "altered grant: 401 bad signature")
    code, body = upload("msg1.%%%", photo)
    check(code == 401 and "malformed" in body, "malformed grant: 401")
    short = grant("--context", "keep_id=42", "--expires", "1")
    time.sleep(2.1)
    code, body = upload(short, photo)
    check(code == 401 and "expired" in body, "expired grant: 401 expired")
    code, body = upload(good, photo, keep="43")
    check(code == 403 and "another context" in body, "grant of another keep: 403")
    code, body = upload(good, photo, media_type="video")
    check(code == 403 and "media kind" in body, "kind not allowed: 403")
    code, body = upload(good, big)
    check(code == 403 and "over its size" in body, "over the grant's size: 403")
    check(staged() == 0, "refused uploads stage nothing")

    # ---- MAX_UPLOAD_SIZE while reading (chunked, no Content-Length) ----
    nolimit = grant("--context", "keep_id=42")
    code, body = upload(nolimit, big, extra=["-H", "Transfer-Encoding: chunked", "-H", "Expect:"])
    check(code in (413, 0), "over MAX_UPLOAD_SIZE while streaming: 413 or dropped (got %d)" % code)
    huge = os.path.join(SCRATCH, "huge.bin")
    with open(huge, "wb") as f:
        f.truncate(6 << 20)
    code, body = upload(nolimit, huge)
    check(code == 413, "declared body over MAX_UPLOAD_SIZE: 413 before reading")
    time.sleep(0.3)
    check(staged() == 0, "refused large uploads stage nothing")

    # ---- happy path: upload, worker completes it, status, media ----
    once = grant("--context", "keep_id=42", "--context", "circle_id=7", "--single-use", "--kinds", "photo")
    code, body = upload(once, photo)
    check(code == 202, "upload with a grant: 202 (%d %s)" % (code, body[:200]))
    doc = json.loads(body)
    check(doc["status"] == "pending" and doc["keep_id"] == 42 and doc["caption"] == "at the lake"
          and doc["original_filename"] == "photo.jpg" and doc["size"] == os.path.getsize(photo)
          and doc["status_url"] == "/api/keeps/upload/%s/status/" % doc["id"], "upload response has the seed's shape")
    code, body = upload(once, photo)
    check(code == 403 and "reused" in body, "single-use grant reused: 403")

    reader = grant("--context", "circle_id=7")
    st = None
    for _ in range(300):
        code, body = curl("-H", "Authorization: Bearer " + reader, url(doc["status_url"]))
        st = json.loads(body) if code == 200 else None
        if st and st["status"] in ("completed", "failed"):
            break
        time.sleep(0.1)
    check(st is not None and st["status"] == "completed" and st["progress_percentage"] == 100,
          "the in-process worker completes the upload: %s" % (st and st["status"]))
    check(all(st["thumbnail_urls"][k] for k in ("small", "medium", "large")) and st["media_file_url"],
          "status has the media and thumbnail URLs")
    # thumbnail_urls in the format the Accept header asks for (AVIF, WebP, else JPEG).
    for accept, ext in ((None, ".jpg"), ("*/*", ".jpg"), ("image/webp,*/*", ".webp"),
                        ("image/avif,image/webp,image/*,*/*;q=0.8", ".avif"), ("image/avif;q=0, image/webp", ".webp")):
        headers = {"Authorization": "Bearer " + reader}
        if accept is not None:
            headers["Accept"] = accept
        r, body = get(doc["status_url"], headers)
        urls = json.loads(body)["thumbnail_urls"] if r.status == 200 else {}
        check(r.status == 200 and r.getheader("Vary") == "Accept"
              and all(urls.get(k) and urls[k].split("?")[0].endswith("thumb_%s%s" % (k, ext))
                      for k in ("small", "medium", "large")),
              "Accept %r: thumbnail URLs end in %s (%s)" % (accept, ext, urls))
        if not RGW and accept and ext == ".avif":
            r, body = get(urls["small"])
            check(r.status == 200 and r.getheader("Content-Type") == "image/avif" and body[4:12] == b"ftypavif",
                  "the AVIF thumbnail is served as image/avif")
    other = grant("--context", "circle_id=8")
    code, _ = curl("-H", "Authorization: Bearer " + other, url(doc["status_url"]))
    check(code == 404, "status with a grant of another circle: 404")
    code, _ = curl(url(doc["status_url"]))
    check(code == 401, "status without a grant: 401")

    code, body = curl(url("/metrics"))
    check(code == 200 and "mediastore_" in body, "metrics in Prometheus text")

    if RGW:
        check(st["media_file_url"].startswith("http"), "RGW: the media URL is a presigned S3 URL")
        return
    media(st, photo)
    hostile(reader)


def get(path, headers=None):
    c = http.client.HTTPConnection(HOST, PORT, timeout=10)
    c.request("GET", path, headers=headers or {})
    r = c.getresponse()
    body = r.read()
    c.close()
    return r, body


def media(st, photo):
    u = st["media_file_url"]
    original = open(photo, "rb").read()
    r, body = get(u)
    check(r.status == 200 and body == original, "signed media GET returns the original")
    check(r.getheader("Content-Type") == "image/jpeg", "media Content-Type")
    etag = r.getheader("ETag")
    check(bool(etag) and bool(r.getheader("Last-Modified")), "media ETag and Last-Modified")
    r, body = get(u, {"Range": "bytes=10-19"})
    check(r.status == 206 and body == original[10:20]
          and r.getheader("Content-Range") == "bytes 10-19/%d" % len(original), "Range: 206 with the bytes")
    r, body = get(u, {"Range": "bytes=-5"})
    check(r.status == 206 and body == original[-5:], "suffix Range")
    r, _ = get(u, {"Range": "bytes=%d-" % (len(original) + 5)})
    check(r.status == 416, "unsatisfiable Range: 416")
    r, body = get(u, {"Range": "bytes=0-1,5-6"})
    check(r.status == 200 and body == original, "multi-range served whole")
    r, body = get(u, {"If-None-Match": etag})
    check(r.status == 304 and body == b"", "If-None-Match: 304")
    path, _, query = u.partition("?")
    params = urllib.parse.parse_qs(query)
    sig = params["sig"][0]
    tampered = path + "?expires=%s&sig=%s" % (params["expires"][0], ("0" if sig[0] != "0" else "1") + sig[1:])
    r, _ = get(tampered)
    check(r.status == 403, "tampered signature: 403")
    r, _ = get(path + "?expires=%d&sig=%s" % (int(params["expires"][0]) + 1, sig))
    check(r.status == 403, "altered expiry: 403")
    r, _ = get(path)
    check(r.status == 403, "unsigned media URL: 403")
    r, _ = get(path.replace("original.jpg", "thumb_small.jpg") + "?" + query)
    check(r.status == 403, "a signature for another key: 403")
    expired = st["thumbnail_urls"]["small"]  # re-signed below with a past expiry by the server's key is impossible;
    # an expired URL: ask the library through the CLI for a 1 s URL, wait.
    key = path[len("/media/"):]
    out = subprocess.run([BIN, "--json", "url", key, "--expires", "1"], env=env(), capture_output=True, text=True)
    if out.returncode == 0:
        short = json.loads(out.stdout)["url"]
        time.sleep(2.1)
        r, _ = get(short)
        check(r.status == 403, "expired media URL: 403")
    else:
        check(False, "mediastore url for an expiring URL: " + out.stderr.strip())
    del expired
    for bad in ["/media/..%2f..%2fetc/passwd", "/media/%2e%2e/%2e%2e/etc/passwd", "/media/uploads%2f..%2f..%2fx",
                "/media/uploads/../../../etc/passwd", "/media/uploads\\..\\x", "/media//etc/passwd",
                "/media/uploads//x.jpg", "/media/a%00b", "/media/.mediastore/meta/" + key,
                "/media/uploads/.mediastore-tmp.x", "/media/%zz", "/media/%2E%2E/x"]:
        r, _ = get(bad + "?" + query)
        check(r.status in (400, 403, 404), "hostile media path %r refused (%d)" % (bad, r.status))


def hostile(token):
    # Oversized headers.
    resp = raw(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100000 + b"\r\n\r\n")
    check(resp == b"" or status_line(resp).split()[1] in ("400", "413", "431"),
          "oversized headers: refused (%s)" % status_line(resp) if resp else "oversized headers: dropped")
    # Bad chunked encoding.
    resp = raw(b"POST /api/keeps/upload/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token.encode()
               + b"\r\nContent-Type: multipart/form-data; boundary=b\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n")
    check(resp == b"" or status_line(resp).split()[1] == "400", "bad chunked encoding: 400 or dropped")
    # A body longer than declared: the extra bytes are not part of the request.
    resp = raw(b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nabcdGARBAGE GARBAGE\r\n\r\n")
    lines = [l for l in resp.split(b"\r\n") if l.startswith(b"HTTP/1.1")]
    check(len(lines) >= 1 and all(l.split()[1] != b"200" or i == 0 for i, l in enumerate(lines)),
          "body longer than declared: the excess is no request of its own (%r)" % lines)
    # Request smuggling shape: both Content-Length and Transfer-Encoding.
    resp = raw(b"POST /healthz HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
    check(resp == b"" or status_line(resp).split()[1] in ("200", "400", "405"), "CL+TE: a clean answer")

    # Slowloris: one client dribbles its head; another is served meanwhile;
    # the dribbler is dropped within the header timeout (plus the watchdog tick).
    result = {}

    def dribble():
        s = socket.create_connection((HOST, PORT), timeout=30)
        start = time.monotonic()
        try:
            s.sendall(b"GET /healthz HTTP/1.1\r\n")
            for _ in range(40):
                s.sendall(b"X-A: b\r\n")
                time.sleep(0.25)
            result["dropped"] = False
        except OSError:
            result["dropped"] = True
        result["after"] = time.monotonic() - start
        s.close()

    t = threading.Thread(target=dribble)
    t.start()
    time.sleep(0.5)
    code, _ = curl(url("/healthz"))
    check(code == 200, "served while a slowloris client dribbles")
    t.join()
    check(result.get("dropped") is True and result["after"] < HEADER_TIMEOUT + 3,
          "slowloris client dropped after %.1f s (header timeout %d s)" % (result.get("after", -1), HEADER_TIMEOUT))

    # An idle connection that never sends anything is closed by the connection timeout.
    s = socket.create_connection((HOST, PORT), timeout=15)
    start = time.monotonic()
    try:
        got = s.recv(10)
    except OSError:
        got = b""
    check(got == b"" and time.monotonic() - start < 8, "a silent connection is closed")
    s.close()

    # A flood of connections: bounded by the limits, and the server keeps serving.
    socks = []
    for _ in range(150):
        try:
            socks.append(socket.create_connection((HOST, PORT), timeout=2))
        except OSError:
            break
    code, _ = curl(url("/healthz"))
    refused_while_full = code
    for s in socks:
        s.close()
    time.sleep(0.5)
    code, _ = curl(url("/healthz"))
    check(code == 200, "after a flood of %d connections the server serves (while full: %d)"
          % (len(socks), refused_while_full))


if __name__ == "__main__":
    main()
