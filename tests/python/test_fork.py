"""Fork safety: a process that forks after opening a store or the upload
service (gunicorn --preload, Celery prefork) works in the child; a worker
(whose threads do not survive fork) gives a clear error there."""

from __future__ import annotations

import os
import pickle
from typing import Any, Callable

import pytest

import mediastore
from conftest import rgw_variables
from images import jpeg


def in_child(fn: Callable[[], Any]) -> Any:
    """Runs fn in a forked child; returns its result or raises its exception
    text as an AssertionError."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        os.close(r)
        try:
            out: Any = ("ok", fn())
        except BaseException as e:  # noqa: BLE001
            out = ("error", f"{type(e).__name__}: {e}")
        with os.fdopen(w, "wb") as f:
            f.write(pickle.dumps(out))
        os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        data = f.read()
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, f"child status {status}"
    kind, value = pickle.loads(data)
    if kind == "error":
        raise AssertionError(value)
    return value


def store_round_trip(store: mediastore.Store) -> None:
    store.put("fork/parent.txt", b"parent")
    assert in_child(lambda: (store.put("fork/child.txt", b"child"), store.get("fork/parent.txt"))[1]) == b"parent"
    assert store.get("fork/child.txt") == b"child"  # the parent's store still works
    store.put("fork/after.txt", b"after")
    assert in_child(lambda: store.get("fork/after.txt")) == b"after"


def test_store_after_fork_local(tmp_path) -> None:
    with mediastore.Store({"MEDIA_ROOT": str(tmp_path / "media")}) as store:
        store_round_trip(store)


@pytest.mark.rgw
def test_store_after_fork_rgw() -> None:
    with mediastore.Store(rgw_variables("ms-python-fork")) as store:
        store_round_trip(store)
        store.remove_many([o.key for o in store.list("fork/")])


def test_uploads_after_fork_and_workers_refused(tmp_path) -> None:
    cfg = {"MEDIA_ROOT": str(tmp_path / "media"), "MEDIA_QUEUE_BACKEND": "sqlite"}
    with mediastore.Uploads(cfg) as uploads:
        worker = uploads.worker(threads=1)

        def child() -> str:
            uid = uploads.submit(jpeg(), "IMG_fork.jpg")
            assert uploads.process_next(1, wait=5) == 1
            st = uploads.status(uid)
            try:
                worker.start()
            except mediastore.InvalidArgumentError as e:
                return f"{st.state}|{e}"
            return f"{st.state}|worker started"

        state, message = in_child(child).split("|", 1)
        assert state == "completed"
        assert "before fork()" in message and "make a new one" in message
        # The parent's worker is untouched.
        worker.start()
        worker.close()


def test_django_storage_after_fork(tmp_path) -> None:
    # gunicorn --preload: the storage is used in the master, then in workers.
    import test_django_storage  # noqa: F401  (configures Django settings)
    from django.core.files.base import ContentFile

    from mediastore.django import MediaStoreStorage

    storage = MediaStoreStorage(MEDIA_STORAGE_BACKEND="local", MEDIA_ROOT=str(tmp_path / "media"))
    storage.save("f/parent.txt", ContentFile(b"parent"))

    def child() -> bytes:
        storage.save("f/child.txt", ContentFile(b"child"))
        with storage.open("f/parent.txt") as f:
            return bytes(f.read())

    assert in_child(child) == b"parent"
    assert storage.open("f/child.txt").read() == b"child"
