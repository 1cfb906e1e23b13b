"""The library's upload service for this process, and turning an ended
upload into database rows: MediaUpload's status and, once completed, a
KeepMedia with its thumbnails.

Two paths lead there, both through apply_status() (idempotent):

- the worker's end hook (on_upload_end, installed by start_worker): the
  library calls it on a worker thread once an upload's final status is
  durable, at least once, so the database is right even if no client polls;
- the status endpoint (sync), and reconcile() for what a crash between the
  library's record and the hook missed (``manage.py reconcile_media``).
"""

from __future__ import annotations

import datetime
import logging
import threading
from typing import Optional

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connections, transaction

import mediastore

from .models import Keep, KeepMedia, MediaUpload

log = logging.getLogger("keeps")

_lock = threading.Lock()
_uploads: Optional[mediastore.Uploads] = None
_worker: Optional[mediastore.Worker] = None


def uploads() -> mediastore.Uploads:
    """The process-wide upload service (configured like DEFAULT_FILE_STORAGE)."""
    global _uploads
    with _lock:
        if _uploads is None:
            config = getattr(settings, "MEDIASTORE_CONFIG", None)
            _uploads = mediastore.Uploads(dict(config) if config is not None else None)
        return _uploads


def max_upload_size() -> int:
    config = getattr(settings, "MEDIASTORE_CONFIG", None)
    cfg = mediastore.Config(dict(config)) if config is not None else mediastore.Config.from_env()
    with cfg:
        return cfg.max_upload_size


def start_worker(threads: Optional[int] = None, end_hook: bool = True) -> mediastore.Worker:
    """Starts (once) worker threads processing uploads in this process; with
    end_hook (the default) they write each ended upload to the database
    themselves (on_upload_end)."""
    global _worker
    svc = uploads()
    if end_hook:
        svc.set_end_hook(on_upload_end)
    with _lock:
        if _worker is None:
            _worker = svc.worker(threads=threads or getattr(settings, "KEEPS_WORKER_THREADS", 2), poll_wait=0.1)
            _worker.start()
        return _worker


def stop_worker() -> None:
    global _worker
    with _lock:
        if _worker is not None:
            _worker.close()  # stops, finishing jobs in flight, and waits
            _worker = None


API_STATUS = {"pending": "pending", "processing": "processing", "retrying": "processing"}


def sync(upload: MediaUpload) -> mediastore.UploadStatus:
    """Refreshes `upload` from the library; a completed upload becomes a
    KeepMedia with its thumbnails (once)."""
    st = uploads().status(str(upload.id))
    locked = apply_status(st)
    if locked is not None:
        upload.status, upload.progress_percentage, upload.error = locked.status, locked.progress_percentage, locked.error
    return st


def _record_from_context(st: mediastore.UploadStatus) -> Optional[MediaUpload]:
    """The MediaUpload of an upload whose row the web process has not
    written yet (the worker may end it first): made from the context the
    view submitted it with. None if the context does not name a keep."""
    ctx = st.context
    keep = Keep.objects.filter(pk=int(ctx["keep_id"])).first() if ctx.get("keep_id", "").isdigit() else None
    user = get_user_model().objects.filter(pk=int(ctx["user_id"])).first() if ctx.get("user_id", "").isdigit() else None
    if keep is None or user is None:
        return None
    record, _ = MediaUpload.objects.get_or_create(
        id=st.id,
        defaults=dict(
            keep=keep,
            uploaded_by=user,
            media_type=st.media_kind,
            caption=ctx.get("caption", ""),
            original_filename=st.original_filename,
        ),
    )
    return record


def apply_status(st: mediastore.UploadStatus) -> Optional[MediaUpload]:
    """Writes a library status to the database: MediaUpload's status,
    progress and error; a completed upload's KeepMedia (once, whoever comes
    first: the hook, a poll, reconcile). Idempotent. Returns the row, or None
    for an upload this app does not know."""
    status = API_STATUS.get(st.state, st.state)
    with transaction.atomic():
        locked = MediaUpload.objects.select_for_update().filter(pk=st.id).first()
        if locked is None:
            locked = _record_from_context(st)
            if locked is None:
                return None
        locked.status = status
        locked.progress_percentage = st.progress_percentage
        locked.error = st.error_message if st.state == "failed" else ""
        locked.save(update_fields=["status", "progress_percentage", "error", "updated_at"])
        if st.state == "completed" and st.result is not None and not KeepMedia.objects.filter(upload=locked).exists():
            # The JPEG of each size (every browser shows it); the other
            # formats are listed by the status endpoint from the result.
            thumbs = {t.name: t.key for t in st.result.thumbnails if t.format == "jpeg"}
            meta = st.result.metadata
            try:
                with transaction.atomic():  # a concurrent writer made it first: one row (upload is unique)
                    _create_media(locked, st, thumbs, meta)
            except IntegrityError:
                return locked
            log.info("upload %s completed: keep %s has a new %s", locked.id, locked.keep_id, locked.media_type)
    return locked


def _create_media(locked: MediaUpload, st: mediastore.UploadStatus, thumbs: dict, meta: dict) -> None:
    assert st.result is not None
    original = st.result.original
    KeepMedia.objects.create(
        keep=locked.keep,
        upload=locked,
        media_type=locked.media_type,
        file=original.key,
        thumbnail_small=thumbs.get("small", ""),
        thumbnail_medium=thumbs.get("medium", ""),
        thumbnail_large=thumbs.get("large", ""),
        caption=locked.caption,
        mime_type=meta.get("mime", original.content_type),
        width=original.width,
        height=original.height,
        size=original.bytes,
        sha256=meta.get("sha256", ""),
        uploaded_by=locked.uploaded_by,
    )


def on_upload_end(st: mediastore.UploadStatus) -> None:
    """The worker's end hook: runs on a library worker thread once the
    upload's final status is durable (at least once, so apply_status is
    idempotent). Its exceptions are logged by the binding."""
    try:
        apply_status(st)
    finally:
        # A worker thread is not a request: close what it opened.
        connections.close_all()


def reconcile(since: datetime.datetime) -> int:
    """apply_status() for every upload that ended since `since`: catches a
    hook call a crash missed. Returns how many uploads it saw."""
    n = 0
    seen: set = set()
    while True:
        page = uploads().ended_since(since, limit=500)
        fresh = [st for st in page if st.id not in seen]
        for st in fresh:
            seen.add(st.id)
            apply_status(st)
            n += 1
        if len(page) < 500:
            return n
        since = page[-1].updated_at if fresh else page[-1].updated_at + datetime.timedelta(milliseconds=1)
