"""Issue 8: no secret ever reaches a log line.

Runs storage and upload scenarios against RGW at trace level, with the RGW
test credentials, a wrong secret and a fake session token, through the C ABI
and the Python logging bridge; captures every record (message and fields)
and fails on any occurrence of a secret key, a session token, a whole access
key or a signature.
"""

from __future__ import annotations

import logging
import os
import re
import time
import urllib.request
from typing import List

import pytest

import mediastore
from conftest import rgw_variables, secret_leaks
from images import jpeg

pytestmark = pytest.mark.rgw

FAKE_SESSION_TOKEN = "FwoGZXIvYXdzEFakeSessionTokenForMediastoreTests0123456789abcdefXYZ"
WRONG_SECRET = "wrongSecretKeyValue0123456789abcdefghijklmn"


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=mediastore.TRACE)
        self.lines: List[str] = []
        self.components: set = set()

    def emit(self, record: logging.LogRecord) -> None:
        fields = getattr(record, "mediastore_fields", {}) or {}
        self.components.add(getattr(record, "mediastore_component", ""))
        self.lines.append(
            f"{record.levelname} {record.name} {record.getMessage()} "
            + " ".join(f"{k}={v}" for k, v in fields.items())
        )


@pytest.fixture
def capture():
    handler = Capture()
    log = logging.getLogger("mediastore")
    old = log.level
    log.addHandler(handler)
    log.setLevel(mediastore.TRACE)
    mediastore.enable_logging(mediastore.TRACE)
    try:
        yield handler
    finally:
        # Back to what the whole-run capture (conftest) wants, if it is on.
        whole_run = os.environ.get("MS_SECRET_GREP") == "1"
        mediastore.enable_logging(mediastore.TRACE if whole_run else logging.WARNING)
        log.removeHandler(handler)
        log.setLevel(mediastore.TRACE if whole_run else old)


def wait_final(u: mediastore.Uploads, uid: str) -> mediastore.UploadStatus:
    for _ in range(600):
        st = u.status(uid)
        if st.state in ("completed", "failed"):
            return st
        time.sleep(0.1)
    raise AssertionError(f"upload {uid} did not finish")


def test_no_secret_in_any_log_line(capture: Capture, tmp_path) -> None:
    good = rgw_variables("ms-secret-test")
    access_key, secret_key = good["MINIO_ACCESS_KEY"], good["MINIO_SECRET_KEY"]
    errors: List[str] = []
    signatures: List[str] = []

    # 1. Everything a user does, with good credentials.
    with mediastore.Store(good) as store:
        store.put("s/a.txt", b"alpha", content_type="text/plain", metadata={"k": "v"})
        assert store.get("s/a.txt") == b"alpha"
        big = os.urandom(17 * 1024 * 1024)  # over the multipart threshold
        store.put("s/big.bin", big)
        assert store.stat("s/big.bin").size == len(big)
        store.copy("s/a.txt", "s/b.txt")
        assert [o.key for o in store.list("s/")] == ["s/a.txt", "s/b.txt", "s/big.bin"]
        url = store.url("s/a.txt", 120)
        signatures += re.findall(r"X-Amz-Signature=([0-9a-f]+)", url)
        with urllib.request.urlopen(url, timeout=30) as r:
            assert r.read() == b"alpha"
        with pytest.raises(mediastore.NotFoundError) as e:
            store.get("s/missing.txt")
        errors.append(str(e.value))
        for key in ("s/a.txt", "s/b.txt", "s/big.bin"):
            store.remove(key)

    # 2. The upload workflow on S3 (worker threads log through the callback).
    cfg = dict(good, MEDIA_SPOOL_DIR=str(tmp_path / "spool"))
    with mediastore.Uploads(cfg, backoff_base=0.01, backoff_max=0.02) as up:
        uid = up.submit(jpeg(), "IMG_secret.jpg")
        bad = up.submit(b"<html><script>x</script></html>", "evil.jpg")
        with up.worker(threads=2, poll_wait=0.05):
            done = wait_final(up, uid)
            failed = wait_final(up, bad)
        assert done.state == "completed" and failed.state == "failed"
        for obj in [done.result.original] + done.result.thumbnails:
            signatures += re.findall(r"X-Amz-Signature=([0-9a-f]+)", obj.url)
        errors.append(failed.error_message)

    # 3. A wrong secret: every request fails authentication.
    wrong = dict(good, MINIO_SECRET_KEY=WRONG_SECRET, MEDIA_AUTO_CREATE_BUCKET="false")
    with mediastore.Store(wrong) as store:
        with pytest.raises(mediastore.MediaStoreError) as e:
            store.put("s/denied.txt", b"x")
        errors.append(str(e.value))

    # 4. S3 configuration with a (fake) session token: requests carry
    #    X-Amz-Security-Token; RGW refuses them.
    s3 = {
        "MEDIA_STORAGE_BACKEND": "s3",
        "AWS_S3_ENDPOINT_URL": good["MINIO_ENDPOINT"],
        "AWS_S3_ADDRESSING_STYLE": "path",
        "AWS_STORAGE_BUCKET_NAME": "ms-secret-test",
        "AWS_ACCESS_KEY_ID": access_key,
        "AWS_SECRET_ACCESS_KEY": secret_key,
        "AWS_SESSION_TOKEN": FAKE_SESSION_TOKEN,
        "AWS_MAX_ATTEMPTS": "2",
    }
    with mediastore.Store(s3) as store:
        for call in (lambda: store.put("s/token.txt", b"x"), lambda: store.get("s/token.txt")):
            try:
                call()
            except mediastore.MediaStoreError as e:
                errors.append(str(e))
        url = store.url("s/token.txt", 60)
        assert FAKE_SESSION_TOKEN in urllib.request.unquote(url)  # the URL itself carries it, the logs must not
        signatures += re.findall(r"X-Amz-Signature=([0-9a-f]+)", url)

    # The scenario did log S3 traffic at trace level, else this test proves nothing.
    assert len(capture.lines) > 20, capture.lines
    assert "s3" in capture.components, capture.components
    assert signatures

    secrets = {
        "secret key": secret_key,
        "wrong secret key": WRONG_SECRET,
        "session token": FAKE_SESSION_TOKEN,
        "whole access key": access_key,
    }
    secrets.update({f"presigned signature {i}": sig for i, sig in enumerate(signatures)})
    leaks = secret_leaks(capture.lines + errors, secrets)
    assert not leaks, "secrets in log lines or error messages:\n" + "\n".join(leaks[:20])
