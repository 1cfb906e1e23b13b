"""Django Storage over libmediastore (local, MinIO/Ceph, S3).

Configured the Django way, in either spelling:

Django 4.2+::

    STORAGES = {"default": {"BACKEND": "mediastore.django.MediaStoreStorage",
                            "OPTIONS": {"MEDIA_STORAGE_BACKEND": "minio", "location": "media"}}}

Django 3.2 (Debian 12)::

    DEFAULT_FILE_STORAGE = "mediastore.django.MediaStoreStorage"
    MEDIASTORE_OPTIONS = {"MEDIA_STORAGE_BACKEND": "minio", "location": "media"}

An option in UPPER_CASE is one of the library's variables
(``MEDIA_STORAGE_BACKEND``, ``MEDIA_ROOT``, ``MEDIA_URL``, ``MINIO_*``,
``AWS_*``, ... see docs/configuration.md), layered over the process
environment (an option wins; ``None`` unsets the environment's). Lower-case
options are django-storages' (see :class:`MediaStoreStorage`). An unknown
name of either kind raises ``ImproperlyConfigured`` naming it.

Former settings still read: ``MEDIASTORE_CONFIG`` (a dict of variables used
*instead of* the environment) and ``MEDIASTORE_URL_EXPIRY``.

The store is opened on first use, so importing settings never touches the
backend. One storage object (and its store) is safe to use from many threads.
"""

from __future__ import annotations

import datetime as _dt
import io
import mimetypes
import os
import posixpath
import queue
import threading
import urllib.parse
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, SuspiciousFileOperation
from django.core.files.base import File
from django.core.files.storage import Storage
from django.utils import timezone
from django.utils.deconstruct import deconstructible

import mediastore

__all__ = ["MediaStoreStorage", "MediaStoreStaticStorage"]

# The lower-case options and their defaults (django-storages' names).
_DEFAULTS: Dict[str, Any] = {
    "location": "",
    "file_overwrite": False,
    "object_parameters": {},
    "querystring_auth": True,
    "querystring_expire": 3600,
    "custom_domain": None,
    "url_protocol": "https:",
}
# object_parameters keys this storage applies (boto3's spelling).
_OBJECT_PARAMETERS = ("CacheControl", "ContentDisposition", "ContentType", "Metadata")
# url(parameters=...): boto3's names of the response-header overrides.
_RESPONSE_PARAMETERS = {
    "ResponseContentDisposition": "content-disposition",
    "ResponseContentType": "content-type",
    "ResponseCacheControl": "cache-control",
    "ResponseContentLanguage": "content-language",
    "ResponseContentEncoding": "content-encoding",
    "ResponseExpires": "expires",
}
# Bytes a streaming read asks the store for at least (one ranged GET).
_READ_CHUNK = 1 << 20


def _check_object_parameters(params: Mapping[str, Any], where: str) -> None:
    unknown = sorted(set(params) - set(_OBJECT_PARAMETERS))
    if unknown:
        raise ImproperlyConfigured(
            f"{where}: unknown object parameter(s) {', '.join(unknown)}; known: {', '.join(_OBJECT_PARAMETERS)}"
        )


def _layered_variables(variables: Mapping[str, Any]) -> Dict[str, Optional[str]]:
    """The environment's library variables with ``variables`` over them (a
    plain dict, so that a store reopened after fork() sees the same). A
    variable of the environment the library does not read is left out (it
    may be the service's own); the whole is checked when the store opens,
    so an incomplete environment is fine if the options complete it."""
    out: Dict[str, Optional[str]] = {}
    with mediastore.Config() as probe:
        for name, value in os.environ.items():
            if name.startswith(("MEDIA_", "MINIO_", "AWS_")) or name == "MAX_UPLOAD_SIZE":
                try:
                    probe.set(name, value)
                except mediastore.InvalidArgumentError as e:
                    if "unknown variable name" in str(e):
                        continue
                    raise
                out[name] = value
    out.update({k: None if v is None else str(v) for k, v in variables.items()})
    return out


@deconstructible
class MediaStoreStorage(Storage):
    """Django's Storage API over libmediastore.

    Options (keyword arguments, ``STORAGES[...]["OPTIONS"]`` or
    ``settings.MEDIASTORE_OPTIONS``; keyword arguments win):

    - UPPER_CASE names: the library's variables, layered over the environment.
    - ``location``: key prefix of every name. Default: "".
    - ``file_overwrite``: True keeps the name and replaces an existing object;
      False gives another free name. Default: False.
    - ``object_parameters``: ``{"CacheControl": ..., "ContentDisposition": ...,
      "ContentType": ..., "Metadata": {...}}`` for every saved object; see
      :meth:`get_object_parameters`. Default: {}.
    - ``querystring_auth``: False gives plain URLs (public bucket, CDN).
      Default: True.
    - ``querystring_expire``: seconds a signed URL lives. Default: 3600
      (or ``settings.MEDIASTORE_URL_EXPIRY``).
    - ``custom_domain``: host (and optional path) URLs are made on instead of
      the store's endpoint, always plain. Default: None.
    - ``url_protocol``: scheme of custom-domain URLs. Default: "https:".

    ``config`` (a dict of variables used instead of the environment) and
    ``url_expiry`` (= querystring_expire) are the former arguments.
    """

    #: The settings read when no option is given as an argument.
    options_setting = "MEDIASTORE_OPTIONS"
    #: Default of file_overwrite when no option sets it.
    default_file_overwrite = False

    def __init__(
        self, config: Optional[Mapping[str, Optional[str]]] = None, url_expiry: Optional[int] = None, **options: Any
    ) -> None:
        self._config = dict(config) if config is not None else None
        self._url_expiry = url_expiry
        self._options = dict(options)
        self._check_names(self._options, "MediaStoreStorage options")
        self._resolved: Optional[Dict[str, Any]] = None
        self._store: Optional[mediastore.Store] = None
        self._lock = threading.Lock()

    # -- plumbing ---------------------------------------------------------

    @staticmethod
    def _check_names(options: Mapping[str, Any], where: str) -> None:
        for name in options:
            if not isinstance(name, str):
                raise ImproperlyConfigured(f"{where}: option names must be strings, got {name!r}")
            if name.isupper():
                continue  # the library's variable: checked (named) when the store opens
            if name not in _DEFAULTS:
                raise ImproperlyConfigured(
                    f"{where}: unknown option {name!r}; known: {', '.join(sorted(_DEFAULTS))} "
                    "and the library's UPPER_CASE variables"
                )
        params = options.get("object_parameters")
        if params is not None:
            _check_object_parameters(params, where)

    def _settings_options(self) -> Dict[str, Any]:
        raw = getattr(settings, self.options_setting, None) or {}
        if not isinstance(raw, Mapping):
            raise ImproperlyConfigured(f"{self.options_setting} must be a dict, got {type(raw).__name__}")
        self._check_names(raw, self.options_setting)
        return dict(raw)

    @property
    def options(self) -> Dict[str, Any]:
        """Every option in effect: defaults, the settings, the arguments."""
        if self._resolved is None:
            merged: Dict[str, Any] = dict(_DEFAULTS)
            merged["file_overwrite"] = self.default_file_overwrite
            legacy_expiry = getattr(settings, "MEDIASTORE_URL_EXPIRY", None)
            if legacy_expiry is not None:
                merged["querystring_expire"] = int(legacy_expiry)
            merged.update(self._settings_options())
            merged.update(self._options)
            if self._url_expiry is not None:
                merged["querystring_expire"] = int(self._url_expiry)
            self._resolved = merged
        return self._resolved

    @property
    def store(self) -> mediastore.Store:
        """The underlying :class:`mediastore.Store`, opened on first use."""
        if self._store is None:
            with self._lock:
                if self._store is None:
                    self._store = self._open_store()
        return self._store

    def _open_store(self) -> mediastore.Store:
        variables = {k: v for k, v in self.options.items() if k.isupper()}
        config = self._config
        if config is None:
            config = getattr(settings, "MEDIASTORE_CONFIG", None)
        if config is not None:
            # The former spelling: these variables instead of the environment.
            merged = {**dict(config), **variables}
        else:
            merged = _layered_variables(variables)
        try:
            return mediastore.Store(merged)
        except mediastore.InvalidArgumentError as e:
            if "unknown variable name" in str(e):
                raise ImproperlyConfigured(f"MediaStoreStorage: {e}") from e
            raise

    @property
    def url_expiry(self) -> int:
        """Seconds a signed URL lives (querystring_expire)."""
        return int(self.options["querystring_expire"])

    @property
    def location(self) -> str:
        """The key prefix of every name, without slashes around it."""
        return str(self.options["location"] or "").strip("/")

    @property
    def file_overwrite(self) -> bool:
        """Whether saving under a taken name replaces the object."""
        return bool(self.options["file_overwrite"])

    def _key(self, name: str) -> str:
        # Django names use "/" (and "\\" on Windows); keys are "/"-separated.
        name = str(name).replace("\\", "/").lstrip("/")
        if not self.location:
            return name
        return f"{self.location}/{name}" if name else self.location

    def _datetime(self, value: _dt.datetime) -> _dt.datetime:
        # Aware (UTC) when USE_TZ, else naive local time, as Django expects.
        if settings.USE_TZ:
            return value
        naive: _dt.datetime = timezone.make_naive(value, timezone.get_default_timezone())
        return naive

    def get_object_parameters(self, name: str) -> Dict[str, Any]:
        """The object parameters for saving ``name``: a copy of the
        ``object_parameters`` option. Override to vary them by name (e.g. a
        Content-Disposition with the file's name)."""
        return dict(self.options["object_parameters"] or {})

    # -- Storage API ------------------------------------------------------

    def _open(self, name: str, mode: str = "rb") -> File:
        key = self._key(name)
        if mode in ("rb", "r"):
            f = File(self.store.open(key, buffer_size=_READ_CHUNK), name=name)
            f.mode = "rb"
            return f
        if mode == "wb":
            return File(_UploadWriter(lambda src: self._put_stream(name, key, src, None)), name=name)
        raise ValueError(f"MediaStoreStorage opens files with mode 'rb' or 'wb', not {mode!r}")

    def _put_kwargs(self, name: str, content_type: Optional[str]) -> Dict[str, Any]:
        params = self.get_object_parameters(name)
        _check_object_parameters(params, f"get_object_parameters({name!r})")
        return {
            "content_type": params.get("ContentType")
            or content_type
            or mimetypes.guess_type(name)[0]
            or "application/octet-stream",
            "cache_control": params.get("CacheControl"),
            "content_disposition": params.get("ContentDisposition"),
            "metadata": params.get("Metadata"),
        }

    def _put_stream(self, name: str, key: str, fileobj: Any, size: Optional[int], **extra: Any) -> None:
        kwargs = self._put_kwargs(name, extra.pop("content_type", None))
        self.store.upload_fileobj(key, fileobj, size=size, **kwargs, **extra)

    def get_available_name(self, name: str, max_length: Optional[int] = None) -> str:
        if self.file_overwrite:
            name = str(name).replace("\\", "/")
            if max_length is not None and len(name) > max_length:
                raise SuspiciousFileOperation(f"Storage can not find an available filename for {name!r}.")
            return name
        return str(super().get_available_name(name, max_length))

    def _save(self, name: str, content: Any) -> str:
        if self.file_overwrite:
            self._put_content(name, content, create=False)
            return name
        # get_available_name() chose a name that was free; the create-only put
        # makes taking it atomic. Of concurrent writers of one name one wins;
        # the others get another name each, nothing is replaced.
        for _ in range(100):
            try:
                self._put_content(name, content, create=True)
                return name
            except mediastore.AlreadyExistsError:
                root, ext = posixpath.splitext(name)
                name = self.get_alternative_name(root, ext)
        raise SuspiciousFileOperation(f"Storage can not find an available filename for {name!r}.")

    def _put_content(self, name: str, content: Any, create: bool) -> None:
        key = self._key(name)
        if hasattr(content, "seek") and getattr(content, "seekable", lambda: True)():
            content.seek(0)
        fileobj = getattr(content, "file", None) or content
        size = getattr(content, "size", None)
        if isinstance(fileobj, (bytes, bytearray)):
            fileobj = io.BytesIO(fileobj)
        elif isinstance(fileobj, str):
            fileobj = io.BytesIO(fileobj.encode("utf-8"))
            size = None
        elif isinstance(fileobj, io.TextIOBase):
            # ContentFile("text"): saved as UTF-8, as Django's storages do.
            fileobj = _Utf8Reader(fileobj)
            size = None
        extra: Dict[str, Any] = {"if_none_match": True} if create else {}
        self._put_stream(name, key, fileobj, size, content_type=getattr(content, "content_type", None), **extra)

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

    def url(
        self,
        name: Optional[str],
        parameters: Optional[Mapping[str, str]] = None,
        expire: Optional[int] = None,
        http_method: Optional[str] = None,
    ) -> str:
        """A URL for name. expire: seconds (default querystring_expire).
        parameters: response-header overrides in boto3's names
        (``{"ResponseContentDisposition": 'attachment; filename="a.jpg"'}``;
        S3 signed URLs; see _RESPONSE_PARAMETERS). http_method: "GET"
        (default), "HEAD" or "PUT"."""
        if name is None:
            raise ValueError("url() needs a name")
        key = self._key(name)
        headers = {}
        for param, value in (parameters or {}).items():
            if param not in _RESPONSE_PARAMETERS:
                raise ValueError(f"unknown url() parameter {param!r}; known: {', '.join(_RESPONSE_PARAMETERS)}")
            headers[_RESPONSE_PARAMETERS[param]] = str(value)
        domain = self.options["custom_domain"]
        if domain and not headers and http_method in (None, "GET"):
            mediastore.validate_key(key)
            return f"{self.options['url_protocol']}//{str(domain).strip('/')}/{urllib.parse.quote(key)}"
        expires = self.url_expiry if expire is None else int(expire)
        plain = not self.options["querystring_auth"] and not headers
        local = self.store.backend_name == "local"
        if not headers and http_method is None and (local or not plain):
            url = self.store.url(key, expires)
            return url.split("?", 1)[0] if plain else url
        return self.store.url(
            key, expires, http_method=http_method, response_headers=headers, signed=False if plain else None
        )

    def get_modified_time(self, name: str) -> _dt.datetime:
        modified: _dt.datetime = self._datetime(self.store.stat(self._key(name)).last_modified)
        return modified

    def get_created_time(self, name: str) -> _dt.datetime:
        # Objects are replaced whole, never modified: an object's creation is
        # its last modification.
        return self.get_modified_time(name)

    def get_accessed_time(self, name: str) -> _dt.datetime:
        raise NotImplementedError("object stores do not record access times")

    def path(self, name: str) -> str:
        raise NotImplementedError("MediaStoreStorage objects have no local filesystem path")


@deconstructible
class MediaStoreStaticStorage(MediaStoreStorage):
    """A storage for ``collectstatic`` (``STORAGES["staticfiles"]`` or
    ``STATICFILES_STORAGE``): the same options, read from
    ``settings.MEDIASTORE_STATIC_OPTIONS`` when none is given, with
    file_overwrite True by default (a new collectstatic replaces the files)."""

    options_setting = "MEDIASTORE_STATIC_OPTIONS"
    default_file_overwrite = True


class _Utf8Reader(io.RawIOBase):
    """Reads a text file object as its UTF-8 bytes."""

    def __init__(self, text: Any) -> None:
        super().__init__()
        self._text = text
        self._pending = b""

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        while n < 0 or len(self._pending) < n:
            chunk = self._text.read(-1 if n < 0 else max(n, 4096))
            if not chunk:
                break
            self._pending += chunk.encode("utf-8")
        if n < 0:
            out, self._pending = self._pending, b""
        else:
            out, self._pending = self._pending[:n], self._pending[n:]
        return out


class _UploadWriter(io.RawIOBase):
    """A write-only file whose bytes stream into one put (multipart on S3
    past the threshold) run by a thread of its own; close() waits for the put
    and raises its error. Nothing is stored unless close() succeeds."""

    def __init__(self, put: Callable[[Any], None]) -> None:
        super().__init__()
        self._chunks: "queue.Queue[Optional[bytes]]" = queue.Queue(maxsize=8)
        self._error: Optional[BaseException] = None
        self._written = 0
        self._thread = threading.Thread(target=self._run, args=(put,), name="mediastore-django-upload", daemon=True)
        self._thread.start()

    def _run(self, put: Callable[[Any], None]) -> None:
        try:
            put(_QueueReader(self._chunks))
        except BaseException as e:  # noqa: BLE001 - raised again by close()
            self._error = e
            # Unblock a writer waiting on a full queue.
            while True:
                try:
                    self._chunks.get_nowait()
                except queue.Empty:
                    break

    def writable(self) -> bool:
        return True

    def _offer(self, item: Optional[bytes]) -> None:
        # Hands item to the put unless it has ended (failed) meanwhile.
        while self._thread.is_alive():
            try:
                self._chunks.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def write(self, b: Any) -> int:
        if self.closed:
            raise ValueError("write to a closed file")
        if self._error is not None:
            raise self._error
        data = bytes(b)
        self._offer(data)
        if self._error is not None:
            raise self._error
        self._written += len(data)
        return len(data)

    def tell(self) -> int:
        return self._written

    def close(self) -> None:
        if self.closed:
            return
        self._offer(None)
        self._thread.join()
        super().close()
        if self._error is not None:
            raise self._error


class _QueueReader(io.RawIOBase):
    """The reading end of an _UploadWriter (not seekable: one pass)."""

    def __init__(self, chunks: "queue.Queue[Optional[bytes]]") -> None:
        super().__init__()
        self._chunks = chunks
        self._pending = b""
        self._eof = False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, n: int = -1) -> bytes:
        while not self._eof and (n < 0 or len(self._pending) < n):
            chunk = self._chunks.get()
            if chunk is None:
                self._eof = True
            else:
                self._pending += chunk
        if n < 0:
            out, self._pending = self._pending, b""
        else:
            out, self._pending = self._pending[:n], self._pending[n:]
        return out
