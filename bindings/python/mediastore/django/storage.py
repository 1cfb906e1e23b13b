"""Django Storage over libmediastore (local, MinIO/Ceph, S3).

Settings (all optional):

``MEDIASTORE_CONFIG``
    A dict of the library's variables (``MEDIA_STORAGE_BACKEND``,
    ``MEDIA_ROOT``, ``MINIO_*``, ``AWS_*``, ...). Default: the process
    environment.
``MEDIASTORE_URL_EXPIRY``
    Lifetime in seconds of the URLs ``url()`` returns where the backend signs
    them (S3 presigned; local with ``MEDIA_URL_SIGNING_KEY``). Default: 3600.

The store is opened on first use, so importing settings never touches the
backend. One storage object (and its store) is safe to use from many threads.
"""

from __future__ import annotations

import datetime as _dt
import io
import mimetypes
import tempfile
import threading
from typing import Any, List, Mapping, Optional, Tuple

from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import Storage
from django.utils import timezone
from django.utils.deconstruct import deconstructible

import mediastore

__all__ = ["MediaStoreStorage"]

# Files up to this size are read into memory by _open(); larger ones spool to disk.
_SPOOL_MEMORY = 8 << 20


@deconstructible
class MediaStoreStorage(Storage):
    """Django's Storage API over libmediastore.

    config: the library's variables; Default: ``settings.MEDIASTORE_CONFIG``,
    else the process environment. url_expiry: seconds; Default:
    ``settings.MEDIASTORE_URL_EXPIRY`` or 3600.
    """

    def __init__(self, config: Optional[Mapping[str, str]] = None, url_expiry: Optional[int] = None) -> None:
        self._config = dict(config) if config is not None else None
        self._url_expiry = url_expiry
        self._store: Optional[mediastore.Store] = None
        self._lock = threading.Lock()

    # -- plumbing ---------------------------------------------------------

    @property
    def store(self) -> mediastore.Store:
        """The underlying :class:`mediastore.Store`, opened on first use."""
        if self._store is None:
            with self._lock:
                if self._store is None:
                    config = self._config
                    if config is None:
                        config = getattr(settings, "MEDIASTORE_CONFIG", None)
                    self._store = mediastore.Store(dict(config) if config is not None else None)
        return self._store

    @property
    def url_expiry(self) -> int:
        if self._url_expiry is not None:
            return int(self._url_expiry)
        return int(getattr(settings, "MEDIASTORE_URL_EXPIRY", 3600))

    @staticmethod
    def _key(name: str) -> str:
        # Django names use "/" (and "\\" on Windows); keys are "/"-separated.
        return str(name).replace("\\", "/").lstrip("/")

    def _datetime(self, value: _dt.datetime) -> _dt.datetime:
        # Aware (UTC) when USE_TZ, else naive local time, as Django expects.
        if settings.USE_TZ:
            return value
        return timezone.make_naive(value, timezone.get_default_timezone())

    # -- Storage API ------------------------------------------------------

    def _open(self, name: str, mode: str = "rb") -> File:
        if any(c in mode for c in "wa+"):
            raise ValueError(f"MediaStoreStorage opens files for reading only, not mode {mode!r}")
        tmp = tempfile.SpooledTemporaryFile(max_size=_SPOOL_MEMORY)
        try:
            self.store.download_fileobj(self._key(name), tmp)
        except BaseException:
            tmp.close()
            raise
        tmp.seek(0)
        f = File(tmp, name=name)
        f.mode = mode
        return f

    def _save(self, name: str, content: Any) -> str:
        key = self._key(name)
        content_type = getattr(content, "content_type", None) or mimetypes.guess_type(name)[0]
        if hasattr(content, "seek") and getattr(content, "seekable", lambda: True)():
            content.seek(0)
        size = getattr(content, "size", None)
        fileobj = getattr(content, "file", None) or content
        if isinstance(fileobj, (bytes, bytearray)):
            fileobj = io.BytesIO(fileobj)
        self.store.upload_fileobj(key, fileobj, size=size, content_type=content_type or "application/octet-stream")
        return name

    def delete(self, name: str) -> None:
        if not name:
            raise ValueError("The name must be given to delete().")
        self.store.remove(self._key(name))

    def exists(self, name: str) -> bool:
        return self.store.exists(self._key(name))

    def listdir(self, path: str) -> Tuple[List[str], List[str]]:
        return self.store.listdir(self._key(path))

    def size(self, name: str) -> int:
        return self.store.stat(self._key(name)).size

    def url(self, name: Optional[str]) -> str:
        if name is None:
            raise ValueError("url() needs a name")
        return self.store.url(self._key(name), self.url_expiry)

    def get_modified_time(self, name: str) -> _dt.datetime:
        return self._datetime(self.store.stat(self._key(name)).last_modified)

    def get_created_time(self, name: str) -> _dt.datetime:
        # Objects are replaced whole, never modified: an object's creation is
        # its last modification.
        return self.get_modified_time(name)

    def get_accessed_time(self, name: str) -> _dt.datetime:
        raise NotImplementedError("object stores do not record access times")

    def path(self, name: str) -> str:
        raise NotImplementedError("MediaStoreStorage objects have no local filesystem path")
