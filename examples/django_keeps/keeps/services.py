"""The library's upload service for this process, and turning a completed
upload into a KeepMedia record."""

from __future__ import annotations

import logging
import threading
from typing import Optional

from django.conf import settings
from django.db import transaction

import mediastore

from .models import KeepMedia, MediaUpload

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


def start_worker(threads: Optional[int] = None) -> mediastore.Worker:
    """Starts (once) worker threads processing uploads in this process."""
    global _worker
    svc = uploads()
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
    status = API_STATUS.get(st.state, st.state)
    with transaction.atomic():
        locked = MediaUpload.objects.select_for_update().get(pk=upload.pk)
        locked.status = status
        locked.progress_percentage = st.progress_percentage
        locked.error = st.error_message if st.state == "failed" else ""
        locked.save(update_fields=["status", "progress_percentage", "error", "updated_at"])
        if st.state == "completed" and st.result is not None and not KeepMedia.objects.filter(upload=locked).exists():
            # The JPEG of each size (every browser shows it); the other
            # formats are listed by the status endpoint from the result.
            thumbs = {t.name: t.key for t in st.result.thumbnails if t.format == "jpeg"}
            meta = st.result.metadata
            KeepMedia.objects.create(
                keep=locked.keep,
                upload=locked,
                media_type=locked.media_type,
                file=st.result.original.key,
                thumbnail_small=thumbs.get("small", ""),
                thumbnail_medium=thumbs.get("medium", ""),
                thumbnail_large=thumbs.get("large", ""),
                caption=locked.caption,
                mime_type=meta.get("mime", st.result.original.content_type),
                width=st.result.original.width,
                height=st.result.original.height,
                size=st.result.original.bytes,
                sha256=meta.get("sha256", ""),
                uploaded_by=locked.uploaded_by,
            )
            log.info("upload %s completed: keep %s has a new %s", locked.id, locked.keep_id, locked.media_type)
        upload.status, upload.progress_percentage, upload.error = locked.status, locked.progress_percentage, locked.error
    return st
