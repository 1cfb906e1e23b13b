"""The upload lifecycle through the binding: the end hook (a Python callable
called from library worker threads), ended_since, wait, list_by_context,
retry, redrive_dead_letters, the idempotency key and record_ttl."""

from __future__ import annotations

import datetime as dt
import logging
import threading

import pytest

import mediastore
from images import jpeg

HTML = b"<!DOCTYPE html><html><body>not an image</body></html>"


@pytest.fixture
def uploads(tmp_path):
    cfg = {"MEDIA_ROOT": str(tmp_path / "media"), "MAX_UPLOAD_SIZE": "200000"}
    with mediastore.Uploads(cfg, backoff_base=0.01, backoff_max=0.02, record_ttl=dt.timedelta(days=2)) as u:
        yield u


def test_end_hook_runs_on_worker_threads_and_its_exceptions_stay_in_python(uploads, caplog) -> None:
    seen = []
    lock = threading.Lock()
    main = threading.get_ident()

    def hook(st: mediastore.UploadStatus) -> None:
        with lock:
            seen.append((st.id, st.state, st.context.get("keep_id"), threading.get_ident() != main))
        if st.state == "failed":
            raise RuntimeError("the host's database is down")

    uploads.set_end_hook(hook)
    ok = uploads.submit(jpeg(), "a.jpg", context={"keep_id": "3"})
    bad = uploads.submit(HTML, "evil.jpg", context={"keep_id": "3"})
    with caplog.at_level(logging.ERROR, logger="mediastore"):
        with uploads.worker(threads=1, poll_wait=0.05):
            assert uploads.wait(ok, 60).state == "completed"
            assert uploads.wait(bad, 60).state == "failed"
    assert sorted(seen) == sorted([(ok, "completed", "3", True), (bad, "failed", "3", True)])
    assert any("end hook raised" in r.getMessage() for r in caplog.records)
    # The worker went on: both ended, nothing left in the queue.
    stats = uploads.stats()
    assert stats["queue_ready"] == 0 and stats["queue_in_flight"] == 0
    uploads.set_end_hook(None)
    third = uploads.submit(jpeg(), "c.jpg")
    assert uploads.process_next(1, wait=1.0) == 1
    assert uploads.status(third).state == "completed" and len(seen) == 2
    with pytest.raises(mediastore.InvalidArgumentError):
        uploads.set_end_hook("not callable")  # type: ignore[arg-type]


def test_ended_since_list_by_context_and_wait(uploads) -> None:
    t0 = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)
    a = uploads.submit(jpeg(), "a.jpg", context={"keep_id": "10"})
    b = uploads.submit(jpeg(), "b.jpg", context={"keep_id": "10"})
    c = uploads.submit(jpeg(), "c.jpg", context={"keep_id": "11"})
    pending = uploads.wait(c, 0)
    assert pending.state == "pending"  # no worker: the timeout ends the wait
    assert {s.id for s in uploads.list_by_context("keep_id", "10")} == {a, b}
    assert [s.id for s in uploads.list_by_context("keep_id", "11")] == [c]
    assert uploads.list_by_context("keep_id", "12") == []
    while uploads.process_next(1, wait=0.2):
        pass
    ended = uploads.ended_since(t0)
    assert {s.id for s in ended} == {a, b, c}
    assert [s.updated_at for s in ended] == sorted(s.updated_at for s in ended)
    assert uploads.ended_since(ended[-1].updated_at + dt.timedelta(milliseconds=1)) == []
    assert len(uploads.ended_since(t0.timestamp(), limit=1)) == 1
    with pytest.raises(mediastore.InvalidArgumentError):
        uploads.ended_since(t0, limit=0)
    with pytest.raises(mediastore.InvalidArgumentError):
        uploads.ended_since(dt.datetime(2020, 1, 1))  # naive
    with pytest.raises(mediastore.InvalidArgumentError):
        uploads.list_by_context("", "10")
    with pytest.raises(mediastore.NotFoundError):
        uploads.wait("no-such-upload", 0)


def test_retry_redrive_and_idempotency_key(uploads) -> None:
    bad = uploads.submit(HTML, "evil.jpg")
    assert uploads.process_next(1, wait=1.0) == 1
    with pytest.raises(mediastore.ConflictError) as perm:
        uploads.retry(bad)
    assert "permanent" in str(perm.value)
    with pytest.raises(mediastore.NotFoundError):
        uploads.retry("no-such-upload")
    assert uploads.redrive_dead_letters(10) == 0
    first = uploads.submit(jpeg(), "a.jpg", idempotency_key="req-1")
    assert uploads.submit(jpeg(), "a.jpg", idempotency_key="req-1") == first
    assert uploads.submit(jpeg(), "a.jpg", idempotency_key="req-2") != first
    with pytest.raises(mediastore.InvalidArgumentError):
        uploads.submit(jpeg(), "a.jpg", idempotency_key="k" * 1025)
    report = uploads.cleanup(0)
    assert report["records_expired"] == 0  # nothing is older than record_ttl
