"""Python binding of libmediastore over its C ABI (ctypes, no compiler needed).

    import mediastore

    with mediastore.Store({"MEDIA_ROOT": "/srv/media"}) as store:
        store.put("a/b.txt", b"hello", content_type="text/plain")
        for info in store.list("a/"):
            print(info.key, info.size)

Errors are raised as subclasses of :class:`MediaStoreError`, which carries the
library's ``code`` (0 > code, see ``mediastore.h``) and message.

Threads: the library is loaded with ``ctypes.CDLL``, which releases the GIL
for the duration of every foreign call, so storage calls made from several
Python threads run in parallel. A :class:`Store` may be shared by threads.

Logging: records of the library go to the standard :mod:`logging` module under
the ``mediastore`` logger (children ``mediastore.s3``, ``mediastore.storage``,
...). :func:`enable_logging` sets the level the library produces; by default
warnings and errors are forwarded once the library is loaded. The
``mediastore`` logger has a ``NullHandler``, so nothing is printed unless the
application configures logging (for example Django's ``LOGGING``).
"""

from __future__ import annotations

import atexit
import ctypes
import datetime as _dt
import io
import logging
import os
from ctypes import POINTER, byref, c_int, c_size_t, c_uint64, c_void_p
from dataclasses import dataclass, field
from typing import IO, Any, Callable, Dict, Iterator, List, Mapping, Optional, Tuple, TypeVar, Union

from . import _native

__all__ = [
    "MediaStoreError",
    "InvalidArgumentError",
    "NotFoundError",
    "AlreadyExistsError",
    "PermissionDeniedError",
    "AuthFailedError",
    "TooLargeError",
    "UnsupportedMediaError",
    "CorruptMediaError",
    "StorageIOError",
    "NetworkError",
    "MediaStoreTimeoutError",
    "ThrottledError",
    "ConflictError",
    "UnavailableError",
    "CancelledError",
    "InternalError",
    "Config",
    "Store",
    "ObjectInfo",
    "ListPage",
    "enable_logging",
    "disable_logging",
    "redact",
    "validate_key",
    "version",
    "TRACE",
]

Bytes = Union[bytes, bytearray, memoryview]
_H = TypeVar("_H", bound="_Handle")
Progress = Callable[[int, int], Optional[bool]]
"""Progress callback (done, total or 0 if unknown); returning False cancels."""

# ---------------------------------------------------------------------------
# Errors


class MediaStoreError(Exception):
    """Base of every error the library raises; ``code`` is the C code (< 0)."""

    code: int = _native.MS_E_INTERNAL
    #: For media validation refusals: the reason's name ("dangerous_content",
    #: "file_too_large", ...); None otherwise.
    reason: Optional[str] = None

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message

    @property
    def transient(self) -> bool:
        """True if the same call may succeed later (network, timeout, throttled, unavailable)."""
        return bool(_native.load().ms_error_is_transient(self.code))


class InvalidArgumentError(MediaStoreError, ValueError):
    """A caller-supplied value is malformed (key, option, variable)."""


class NotFoundError(MediaStoreError, FileNotFoundError):
    """The object, bucket, upload or file does not exist."""


class AlreadyExistsError(MediaStoreError, FileExistsError):
    """Creating something that is already there."""


class PermissionDeniedError(MediaStoreError, PermissionError):
    """The store or the filesystem refuses the operation."""


class AuthFailedError(MediaStoreError):
    """Credentials are wrong."""


class TooLargeError(MediaStoreError):
    """A size or pixel limit is exceeded."""


class UnsupportedMediaError(MediaStoreError):
    """The content is of a type the policy does not accept."""


class CorruptMediaError(MediaStoreError):
    """The content claims a type but cannot be decoded."""


class StorageIOError(MediaStoreError, OSError):
    """Local filesystem failure."""


class NetworkError(MediaStoreError, ConnectionError):
    """Connection refused, reset, DNS, TLS."""


class MediaStoreTimeoutError(MediaStoreError, TimeoutError):
    """An operation or connection exceeded its time."""


class ThrottledError(MediaStoreError):
    """The server asks to slow down."""


class ConflictError(MediaStoreError):
    """A precondition or concurrent change failed."""


class UnavailableError(MediaStoreError):
    """The service is temporarily unavailable."""


class CancelledError(MediaStoreError):
    """The caller cancelled the operation."""


class InternalError(MediaStoreError):
    """A bug or unexpected condition inside the library."""


_ERRORS: Dict[int, type] = {
    _native.MS_E_INVALID_ARGUMENT: InvalidArgumentError,
    _native.MS_E_NOT_FOUND: NotFoundError,
    _native.MS_E_ALREADY_EXISTS: AlreadyExistsError,
    _native.MS_E_PERMISSION_DENIED: PermissionDeniedError,
    _native.MS_E_AUTH_FAILED: AuthFailedError,
    _native.MS_E_TOO_LARGE: TooLargeError,
    _native.MS_E_UNSUPPORTED_MEDIA: UnsupportedMediaError,
    _native.MS_E_CORRUPT_MEDIA: CorruptMediaError,
    _native.MS_E_IO: StorageIOError,
    _native.MS_E_NETWORK: NetworkError,
    _native.MS_E_TIMEOUT: MediaStoreTimeoutError,
    _native.MS_E_THROTTLED: ThrottledError,
    _native.MS_E_CONFLICT: ConflictError,
    _native.MS_E_UNAVAILABLE: UnavailableError,
    _native.MS_E_CANCELLED: CancelledError,
    _native.MS_E_INTERNAL: InternalError,
}
for _code, _cls in _ERRORS.items():
    _cls.code = _code


def _error(code: int, message: Optional[str] = None) -> MediaStoreError:
    lib = _native.load()
    if message is None:
        raw = lib.ms_error_last()
        message = raw.decode("utf-8", errors="replace") if raw else ""
        if not message:
            message = (lib.ms_strerror(code) or b"unknown").decode()
    return _ERRORS.get(code, MediaStoreError)(code, message)


def _check(rc: int) -> None:
    if rc != 0:
        raise _error(rc)


def _text(value: Any, what: str) -> bytes:
    """Encodes a text argument as UTF-8; refuses what the C ABI cannot carry."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, bytes):
        raw = value
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidArgumentError(_native.MS_E_INVALID_ARGUMENT, f"{what} is not valid UTF-8") from None
    elif isinstance(value, str):
        try:
            raw = value.encode("utf-8")
        except UnicodeEncodeError:
            raise InvalidArgumentError(_native.MS_E_INVALID_ARGUMENT, f"{what} is not valid UTF-8") from None
    else:
        raise InvalidArgumentError(
            _native.MS_E_INVALID_ARGUMENT, f"{what} must be str, got {type(value).__name__}"
        )
    if b"\0" in raw:
        raise InvalidArgumentError(_native.MS_E_INVALID_ARGUMENT, f"{what} contains a NUL character")
    return raw


def version() -> str:
    """Version of the loaded library ("0.1.0")."""
    return _native.load().ms_version().decode()


def redact(text: str) -> str:
    """The library's redaction of secrets in text (signatures, credentials, tokens)."""
    out = c_void_p()
    _check(_native.load().ms_redact(byref(out), _text(text, "text")))
    return _native.take_string(out)


def validate_key(key: str) -> None:
    """Raises InvalidArgumentError if key is not a valid storage key."""
    _check(_native.load().ms_key_validate(_text(key, "key")))


# ---------------------------------------------------------------------------
# Logging bridge

TRACE = 5
logging.addLevelName(TRACE, "TRACE")
logger = logging.getLogger("mediastore")
logger.addHandler(logging.NullHandler())

_TO_PY = {
    _native.MS_LOG_TRACE: TRACE,
    _native.MS_LOG_DEBUG: logging.DEBUG,
    _native.MS_LOG_INFO: logging.INFO,
    _native.MS_LOG_WARN: logging.WARNING,
    _native.MS_LOG_ERROR: logging.ERROR,
}
_log_callback: Any = None  # the installed ctypes callback
# Every callback ever installed stays alive: a library thread may still be
# running the previous one just after it was replaced.
_all_log_callbacks: List[Any] = []


def _from_py_level(level: int) -> int:
    if level <= TRACE:
        return _native.MS_LOG_TRACE
    if level <= logging.DEBUG:
        return _native.MS_LOG_DEBUG
    if level <= logging.INFO:
        return _native.MS_LOG_INFO
    if level <= logging.WARNING:
        return _native.MS_LOG_WARN
    if level <= logging.CRITICAL:
        return _native.MS_LOG_ERROR
    return _native.MS_LOG_OFF


def _on_log(record_ptr: Any, _payload: Any) -> None:
    # Called from library threads; must never raise into C.
    try:
        rec = record_ptr.contents
        component = (rec.component or b"").decode("utf-8", errors="replace")
        message = (rec.message or b"").decode("utf-8", errors="replace")
        fields: Dict[str, str] = {}
        for i in range(rec.field_count):
            f = rec.fields[i]
            fields[(f.name or b"").decode("utf-8", "replace")] = (f.value or b"").decode("utf-8", "replace")
        level = _TO_PY.get(rec.level, logging.ERROR)
        target = logger.getChild(component) if component else logger
        if not target.isEnabledFor(level):
            return
        text = message
        if fields:
            text += " " + " ".join(f"{k}={v}" for k, v in fields.items())
        target.log(level, "%s", text, extra={"mediastore_component": component, "mediastore_fields": fields})
    except Exception:  # noqa: BLE001 - a broken handler must not break the library
        pass


def enable_logging(level: Optional[int] = None) -> None:
    """Forwards the library's records to ``logging.getLogger("mediastore")``.

    level: the minimum Python level the library produces (``mediastore.TRACE``,
    ``logging.DEBUG``, ...). Default: the effective level of the ``mediastore``
    logger at the time of the call. Records below it cost the library one
    atomic load. Thread-safe.
    """
    global _log_callback
    if level is None:
        level = logger.getEffectiveLevel()
    lib = _native.load()
    cb = _native.LOG_FN(_on_log)
    _all_log_callbacks.append(cb)
    _check(lib.ms_log_set_callback(cb, _from_py_level(level), None))
    _log_callback = cb


def disable_logging() -> None:
    """Stops forwarding; the library goes silent."""
    global _log_callback
    lib = _native.load()
    _check(lib.ms_log_set_callback(_native.LOG_FN(), _native.MS_LOG_WARN, None))
    _log_callback = None


_auto_logging_done = False


def _lib() -> ctypes.CDLL:
    """The library, with the default logging bridge (warn and above) installed once."""
    global _auto_logging_done
    lib = _native.load()
    if not _auto_logging_done:
        _auto_logging_done = True
        if _log_callback is None:
            cb = _native.LOG_FN(_on_log)
            _all_log_callbacks.append(cb)
            if lib.ms_log_set_callback(cb, _native.MS_LOG_WARN, None) == 0:
                globals()["_log_callback"] = cb
    return lib


@atexit.register
def _shutdown_logging() -> None:
    # No library thread may call into Python once the interpreter goes away.
    if _native._lib is not None and _log_callback is not None:
        _native._lib.ms_log_set_callback(_native.LOG_FN(), _native.MS_LOG_OFF, None)


# ---------------------------------------------------------------------------
# Configuration


class _Handle:
    """Owns one native object: ``_h()`` gives its handle (InvalidArgumentError
    once closed); ``close()`` frees it with the library function named by
    ``_free`` (again a no-op); a context manager that closes on exit, and
    closed when collected. Subclasses set ``_what``, ``_free`` and ``_handle``."""

    _what = "object"
    _free = ""
    _handle: Optional[c_void_p] = None

    def _h(self) -> c_void_p:
        if self._handle is None:
            raise InvalidArgumentError(_native.MS_E_INVALID_ARGUMENT, f"{self._what} is closed")
        return self._handle

    def close(self) -> None:
        """Frees the native object; it must not be in use by other threads."""
        if self._handle is not None:
            getattr(_native.load(), self._free)(self._handle)
            self._handle = None

    def __enter__(self: _H) -> _H:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001
            pass


def _with_config(
    config: Union["Config", Mapping[str, Optional[str]], None], use: Callable[[Optional[c_void_p]], None]
) -> None:
    """Calls ``use`` with the handle of ``config``: a Config, a mapping of
    variables (a temporary Config, closed afterwards) or None (the environment)."""
    if config is None:
        use(None)
    elif isinstance(config, Config):
        use(config._h())
    else:
        with Config(config) as cfg:
            use(cfg._h())


class Config(_Handle):
    """A libmediastore configuration: the service's environment variables.

    ``Config({"MEDIA_ROOT": "/srv/media"})`` starts from the defaults and ignores
    the environment; ``Config.from_env(MEDIA_ROOT=...)`` reads the process
    environment, with the given variables overriding it. Not thread-safe while
    being modified.
    """

    _what = "config"
    _free = "ms_config_free"

    def __init__(self, variables: Optional[Mapping[str, Optional[str]]] = None, *, _from_env: bool = False) -> None:
        lib = _lib()
        handle = c_void_p()
        _check(lib.ms_config_from_env(byref(handle)) if _from_env else lib.ms_config_new(byref(handle)))
        self._handle: Optional[c_void_p] = handle
        for name, value in (variables or {}).items():
            self.set(name, value)

    @classmethod
    def from_env(cls, **overrides: Optional[str]) -> "Config":
        """Reads the process environment; keyword arguments override variables."""
        return cls(overrides, _from_env=True)

    def set(self, name: str, value: Optional[str]) -> None:
        """Sets a variable (None unsets it, hiding the environment's value)."""
        raw = None if value is None else _text(str(value), name)
        _check(_lib().ms_config_set(self._h(), _text(name, "variable name"), raw))

    def check(self) -> None:
        """Raises InvalidArgumentError naming the variable if the configuration is inconsistent."""
        _check(_lib().ms_config_check(self._h()))

    def describe(self) -> str:
        """Effective configuration, "NAME=value" per line, secrets masked."""
        out = c_void_p()
        _check(_lib().ms_config_describe(byref(out), self._h()))
        return _native.take_string(out)

    @property
    def max_upload_size(self) -> int:
        out = c_uint64()
        _check(_lib().ms_config_max_upload_size(byref(out), self._h()))
        return int(out.value)


# ---------------------------------------------------------------------------
# Storage


@dataclass(frozen=True)
class ObjectInfo:
    """What the store knows about an object."""

    key: str
    size: int
    content_type: str
    etag: str
    last_modified: _dt.datetime  # timezone-aware, UTC
    cache_control: str = ""
    content_disposition: str = ""
    metadata: Dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ListPage:
    """One page of a listing."""

    objects: List[ObjectInfo]
    common_prefixes: List[str]
    next_page_token: str  # "" on the last page


def _s(raw: Optional[bytes]) -> str:
    return raw.decode("utf-8", errors="replace") if raw else ""


def _info(c: _native.ObjectInfo) -> ObjectInfo:
    meta = {_s(c.metadata_names[i]): _s(c.metadata_values[i]) for i in range(c.metadata_count)}
    return ObjectInfo(
        key=_s(c.key),
        size=int(c.size),
        content_type=_s(c.content_type),
        etag=_s(c.etag),
        last_modified=_dt.datetime.fromtimestamp(c.last_modified_ms / 1000.0, tz=_dt.timezone.utc),
        cache_control=_s(c.cache_control),
        content_disposition=_s(c.content_disposition),
        metadata=meta,
    )


class _Callbacks:
    """Holds Python callbacks for one C call; records the first exception so
    it can be re-raised after the call (exceptions never cross into C)."""

    def __init__(self) -> None:
        self.error: Optional[BaseException] = None

    def fail(self, exc: BaseException) -> int:
        if self.error is None:
            self.error = exc
        if isinstance(exc, MediaStoreError):
            return exc.code
        return _native.MS_E_CANCELLED

    def progress(self, fn: Optional[Progress]) -> Any:
        if fn is None:
            return _native.PROGRESS_FN()

        def cb(done: int, total: int, _p: Any) -> int:
            try:
                return 1 if fn(int(done), int(total)) is False else 0
            except BaseException as e:  # noqa: BLE001
                self.fail(e)
                return 1

        return _native.PROGRESS_FN(cb)

    def reraise(self, rc: int) -> None:
        if self.error is not None:
            raise self.error
        _check(rc)


class _PutArgs:
    """Keeps the memory of a PutOptions alive for the duration of a call."""

    def __init__(
        self,
        cbs: _Callbacks,
        content_type: Optional[str],
        cache_control: Optional[str],
        content_disposition: Optional[str],
        metadata: Optional[Mapping[str, str]],
        progress: Optional[Progress],
        sha256: Optional[str] = None,
    ) -> None:
        o = _native.PutOptions()
        # Version 1 (no sha256 field) unless a hash is given, so that puts
        # without one also work with a library older than the binding.
        version = _native.MS_PUT_OPTIONS_VERSION if sha256 is not None else 1
        _check(_lib().ms_put_options_init(byref(o), version))
        if content_type is not None:
            o.content_type = _text(content_type, "content_type")
        if cache_control is not None:
            o.cache_control = _text(cache_control, "cache_control")
        if content_disposition is not None:
            o.content_disposition = _text(content_disposition, "content_disposition")
        items = list((metadata or {}).items())
        self._names = (ctypes.c_char_p * max(1, len(items)))(*[_text(k, "metadata name") for k, _ in items])
        self._values = (ctypes.c_char_p * max(1, len(items)))(*[_text(v, "metadata value") for _, v in items])
        if items:
            o.metadata_names = ctypes.cast(self._names, POINTER(ctypes.c_char_p))
            o.metadata_values = ctypes.cast(self._values, POINTER(ctypes.c_char_p))
            o.metadata_count = len(items)
        self._progress = cbs.progress(progress)
        o.progress = self._progress
        if sha256 is not None:
            o.sha256 = _text(sha256, "sha256")
        self.options = o


def _buffer(data: Any) -> Tuple[Any, int]:
    """(pointer, length) over bytes-like data without copying where possible."""
    if isinstance(data, str):
        raise InvalidArgumentError(_native.MS_E_INVALID_ARGUMENT, "data must be bytes-like, not str")
    if isinstance(data, bytes):
        return (data or None), len(data)  # ctypes passes the bytes' own buffer
    mv = memoryview(data).cast("B")
    n = mv.nbytes
    if n == 0:
        return None, 0
    if mv.readonly:
        buf = ctypes.create_string_buffer(mv.tobytes(), n)
        return buf, n
    return (ctypes.c_char * n).from_buffer(mv), n


class Store(_Handle):
    """A storage backend (local, MinIO/Ceph, S3) selected by a configuration.

    config: a :class:`Config`, a mapping of variables (defaults + these), or
    None to read the process environment. Thread-safe: share one Store between
    threads. Use as a context manager or call :meth:`close`.
    """

    _what = "store"
    _free = "ms_store_close"

    def __init__(self, config: Union[Config, Mapping[str, Optional[str]], None] = None) -> None:
        lib = _lib()
        handle = c_void_p()
        _with_config(config, lambda c: _check(lib.ms_store_open(byref(handle), c)))
        self._handle: Optional[c_void_p] = handle

    @property
    def backend_name(self) -> str:
        out = c_void_p()
        _check(_lib().ms_store_backend_name(byref(out), self._h()))
        return _native.take_string(out)

    def ping(self) -> None:
        """Raises if the backend does not answer (missing bucket, unwritable root)."""
        _check(_lib().ms_store_ping(self._h()))

    def put(
        self,
        key: str,
        data: Bytes,
        *,
        content_type: Optional[str] = None,
        cache_control: Optional[str] = None,
        content_disposition: Optional[str] = None,
        metadata: Optional[Mapping[str, str]] = None,
        progress: Optional[Progress] = None,
        sha256: Optional[str] = None,
    ) -> None:
        """Stores data at key, replacing any previous object atomically.

        sha256: the content's SHA-256 as 64 lower-case hex digits, when known
        (default None or "": unknown). The put is held to it and stores
        nothing on a mismatch: the local backend raises InvalidArgumentError,
        S3 refuses the signed body (NetworkError naming
        XAmzContentSHA256Mismatch). Any other form raises InvalidArgumentError.
        """
        cbs = _Callbacks()
        args = _PutArgs(cbs, content_type, cache_control, content_disposition, metadata, progress, sha256)
        ptr, n = _buffer(data)
        rc = _lib().ms_store_put(self._h(), _text(key, "key"), ptr, n, byref(args.options))
        cbs.reraise(rc)

    def put_file(self, key: str, path: Union[str, "os.PathLike[str]"], **options: Any) -> None:
        """Stores the content of a local file (same options as put)."""
        cbs = _Callbacks()
        args = _PutArgs(cbs, **_put_kwargs(options))
        rc = _lib().ms_store_put_file(self._h(), _text(key, "key"), _text(path, "path"), byref(args.options))
        cbs.reraise(rc)

    def upload_fileobj(self, key: str, fileobj: IO[bytes], size: Optional[int] = None, **options: Any) -> None:
        """Streams a binary file object into the store without reading it whole.

        size: total bytes if known (default: from a seekable file). Seekable
        files are rewound for retries.
        """
        cbs = _Callbacks()
        args = _PutArgs(cbs, **_put_kwargs(options))
        start = _tell(fileobj)
        if size is None and start is not None:
            try:
                end = fileobj.seek(0, io.SEEK_END)
                fileobj.seek(start)
                size = end - start
            except (OSError, ValueError):
                size = None

        def read(buf: int, cap: int, out_len: Any, _p: Any) -> int:
            try:
                chunk = fileobj.read(cap)
                if chunk is None:
                    chunk = b""
                if len(chunk) > cap:
                    raise ValueError("file object returned more bytes than asked for")
                if chunk:
                    ctypes.memmove(buf, bytes(chunk), len(chunk))
                out_len[0] = len(chunk)
                return 0
            except BaseException as e:  # noqa: BLE001
                return cbs.fail(e)

        def rewind(_p: Any) -> int:
            try:
                if start is None:
                    return _native.MS_E_INTERNAL
                fileobj.seek(start)
                return 0
            except BaseException as e:  # noqa: BLE001
                return cbs.fail(e)

        read_cb = _native.READ_FN(read)
        rewind_cb = _native.REWIND_FN(rewind) if start is not None else _native.REWIND_FN()
        rc = _lib().ms_store_put_stream(
            self._h(), _text(key, "key"), -1 if size is None else int(size), byref(args.options), read_cb, rewind_cb, None
        )
        cbs.reraise(rc)

    def save(self, data: Union[Bytes, IO[bytes]], filename: str, **options: Any) -> str:
        """Stores content under a fresh unique key derived from filename and returns the key."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            data = data.read()
        cbs = _Callbacks()
        args = _PutArgs(cbs, **_put_kwargs(options))
        ptr, n = _buffer(data)
        out = c_void_p()
        rc = _lib().ms_store_save(byref(out), self._h(), ptr, n, _text(filename, "filename"), byref(args.options))
        cbs.reraise(rc)
        return _native.take_string(out)

    def get(self, key: str, offset: int = 0, length: Optional[int] = None) -> bytes:
        """Reads an object (or [offset, offset+length)) into memory."""
        out = c_void_p()
        n = c_size_t()
        rc = _lib().ms_store_get(
            byref(out), byref(n), self._h(), _text(key, "key"), _u64(offset, "offset"), _length(length)
        )
        _check(rc)
        return _native.take_bytes(out, n.value)

    def download_fileobj(
        self,
        key: str,
        fileobj: IO[bytes],
        offset: int = 0,
        length: Optional[int] = None,
        progress: Optional[Progress] = None,
    ) -> None:
        """Streams an object into a binary file object."""
        cbs = _Callbacks()
        start = _tell(fileobj)

        def write(data: int, n: int, _p: Any) -> int:
            try:
                fileobj.write(ctypes.string_at(data, n))
                return 0
            except BaseException as e:  # noqa: BLE001
                return cbs.fail(e)

        def reset(_p: Any) -> int:
            try:
                if start is None:
                    return _native.MS_E_INTERNAL
                fileobj.seek(start)
                fileobj.truncate()
                return 0
            except BaseException as e:  # noqa: BLE001
                return cbs.fail(e)

        write_cb = _native.WRITE_FN(write)
        reset_cb = _native.REWIND_FN(reset) if start is not None else _native.REWIND_FN()
        progress_cb = cbs.progress(progress)
        rc = _lib().ms_store_get_stream(
            self._h(),
            _text(key, "key"),
            _u64(offset, "offset"),
            _length(length),
            write_cb,
            reset_cb,
            progress_cb,
            None,
        )
        cbs.reraise(rc)

    def open(self, key: str) -> io.BytesIO:
        """The object's content as a readable in-memory file object."""
        return io.BytesIO(self.get(key))

    def get_file(self, key: str, path: Union[str, "os.PathLike[str]"]) -> None:
        """Downloads an object into a local file atomically."""
        _check(_lib().ms_store_get_file(self._h(), _text(key, "key"), _text(path, "path")))

    def stat(self, key: str) -> ObjectInfo:
        """Metadata of an object; NotFoundError if missing."""
        out = POINTER(_native.ObjectInfo)()
        _check(_lib().ms_store_stat(byref(out), self._h(), _text(key, "key")))
        return _native.take_struct(out, _info, "ms_object_info_free")

    def exists(self, key: str) -> bool:
        out = c_int()
        _check(_lib().ms_store_exists(byref(out), self._h(), _text(key, "key")))
        return bool(out.value)

    def remove(self, key: str) -> None:
        """Deletes an object; deleting a missing key succeeds."""
        _check(_lib().ms_store_remove(self._h(), _text(key, "key")))

    def remove_many(self, keys: List[str]) -> None:
        """Deletes many keys; raises the first failure (naming its key)."""
        arr = (ctypes.c_char_p * max(1, len(keys)))(*[_text(k, "key") for k in keys])
        failed = c_size_t()
        _check(_lib().ms_store_remove_many(byref(failed), self._h(), arr, len(keys)))

    def copy(self, from_key: str, to_key: str) -> None:
        _check(_lib().ms_store_copy(self._h(), _text(from_key, "from_key"), _text(to_key, "to_key")))

    def list_page(
        self, prefix: str = "", delimiter: str = "", page_token: str = "", max_keys: int = 1000
    ) -> ListPage:
        """One page of a listing (max_keys 1..1000)."""
        o = _native.ListOptions()
        _check(_lib().ms_list_options_init(byref(o), _native.MS_LIST_OPTIONS_VERSION))
        o.prefix = _text(prefix, "prefix")
        o.delimiter = _text(delimiter, "delimiter")
        o.page_token = _text(page_token, "page_token")
        if not isinstance(max_keys, int) or not -(2**31) <= max_keys < 2**31:
            raise InvalidArgumentError(_native.MS_E_INVALID_ARGUMENT, f"max_keys must be 1..1000, got {max_keys!r}")
        o.max_keys = max_keys
        out = POINTER(_native.ListPage)()
        _check(_lib().ms_store_list(byref(out), self._h(), byref(o)))
        try:
            p = out.contents
            return ListPage(
                objects=[_info(p.objects[i]) for i in range(p.object_count)],
                common_prefixes=[_s(p.common_prefixes[i]) for i in range(p.prefix_count)],
                next_page_token=_s(p.next_page_token),
            )
        finally:
            _native.load().ms_list_page_free(out)

    def list(self, prefix: str = "", page_size: int = 1000) -> Iterator[ObjectInfo]:
        """Every object under prefix (flat, sorted), fetched page by page."""
        token = ""
        while True:
            page = self.list_page(prefix=prefix, page_token=token, max_keys=page_size)
            yield from page.objects
            token = page.next_page_token
            if not token:
                return

    def listdir(self, prefix: str = "") -> Tuple[List[str], List[str]]:
        """(folders, files) directly under prefix, names relative to it."""
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        dirs: List[str] = []
        files: List[str] = []
        token = ""
        while True:
            page = self.list_page(prefix=prefix, delimiter="/", page_token=token)
            dirs.extend(p[len(prefix) :].rstrip("/") for p in page.common_prefixes)
            files.extend(o.key[len(prefix) :] for o in page.objects)
            token = page.next_page_token
            if not token:
                return dirs, files

    def url(self, key: str, expires: Union[int, _dt.timedelta] = 3600) -> str:
        """A URL to fetch the object: presigned (S3) or signed (local with a
        signing key) for `expires` seconds (1 .. 7 days), else public."""
        if isinstance(expires, _dt.timedelta):
            expires = int(expires.total_seconds())
        if not isinstance(expires, int) or not -(2**63) <= expires < 2**63:
            raise InvalidArgumentError(_native.MS_E_INVALID_ARGUMENT, f"expires must be 1..604800, got {expires!r}")
        out = c_void_p()
        _check(_lib().ms_store_url(byref(out), self._h(), _text(key, "key"), expires))
        return _native.take_string(out)


def _put_kwargs(options: Mapping[str, Any]) -> Dict[str, Any]:
    allowed = ("content_type", "cache_control", "content_disposition", "metadata", "progress", "sha256")
    unknown = set(options) - set(allowed)
    if unknown:
        raise TypeError(f"unexpected option(s): {', '.join(sorted(unknown))}")
    return {k: options.get(k) for k in allowed}


def _tell(fileobj: Any) -> Optional[int]:
    try:
        if hasattr(fileobj, "seekable") and not fileobj.seekable():
            return None
        return int(fileobj.tell())
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return None


def _u64(value: int, what: str) -> int:
    if not isinstance(value, int) or not 0 <= value < 2**64:
        raise InvalidArgumentError(_native.MS_E_INVALID_ARGUMENT, f"{what} must be a non-negative integer")
    return value


def _length(length: Optional[int]) -> int:
    if length is None:
        return _native.MS_TO_END
    if not isinstance(length, int) or not 0 <= length < _native.MS_TO_END:
        raise InvalidArgumentError(_native.MS_E_INVALID_ARGUMENT, "length must be a non-negative integer")
    return length


# ---------------------------------------------------------------------------
# Media: type detection, validation, thumbnails

import enum as _enum  # noqa: E402


class MediaType(_enum.IntEnum):
    """What content really is (mirrors ms_media_type)."""

    UNKNOWN = 0
    JPEG = 1
    PNG = 2
    GIF = 3
    WEBP = 4
    BMP = 5
    HEIC = 6
    HEIF = 7
    AVIF = 8
    MP4 = 9
    QUICKTIME = 10
    WEBM = 11
    MATROSKA = 12
    HTML = 13
    SVG = 14
    PHP = 15
    ZIP = 16
    PDF = 17
    ELF = 18
    PE = 19

    @property
    def mime(self) -> str:
        return _native.load().ms_media_type_mime(int(self)).decode()

    @property
    def extension(self) -> str:
        return _native.load().ms_media_type_extension(int(self)).decode()


_KINDS = {"photo": 0, "video": 1}


def _kind(kind: str) -> int:
    if kind not in _KINDS:
        raise InvalidArgumentError(_native.MS_E_INVALID_ARGUMENT, f"media kind must be 'photo' or 'video', got {kind!r}")
    return _KINDS[kind]


@dataclass(frozen=True)
class MediaInfo:
    """What validation learned about an accepted file."""

    type: MediaType
    mime: str
    kind: str
    byte_size: int
    sha256: str
    width: int
    height: int
    orientation: int
    display_width: int
    display_height: int
    capture_time: str
    has_gps: bool
    relabelled: bool
    filename: str
    note: str


@dataclass(frozen=True)
class ThumbnailSpec:
    """One thumbnail to make: a box, how to fill it, JPEG quality."""

    name: str
    width: int
    height: int
    fit: str = "inside"  # or "cover"
    quality: int = 85
    progressive: bool = False


@dataclass(frozen=True)
class Thumbnail:
    name: str
    width: int
    height: int
    jpeg: bytes


def sniff(head: Bytes) -> MediaType:
    """The media type of content, from its first bytes (4096 are plenty)."""
    ptr, n = _buffer(head)
    rc = _lib().ms_media_sniff(ptr, n)
    if rc < 0:
        raise _error(rc)
    return MediaType(rc)


def _validation_options(
    max_upload_size: Optional[int],
    max_pixels: Optional[int],
    relabel_mismatched_extension: bool,
    decode_images: bool,
    photo_mime_types: Optional[List[str]],
    video_mime_types: Optional[List[str]],
    keep: list,
) -> _native.ValidationOptions:
    o = _native.ValidationOptions()
    _check(_lib().ms_validation_options_init(byref(o), _native.MS_VALIDATION_OPTIONS_VERSION))
    if max_upload_size is not None:
        o.max_upload_size = _u64(max_upload_size, "max_upload_size")
    if max_pixels is not None:
        o.max_pixels = _u64(max_pixels, "max_pixels")
    o.relabel_mismatched_extension = 1 if relabel_mismatched_extension else 0
    o.decode_images = 1 if decode_images else 0
    for attr, values in (("photo_mime_types", photo_mime_types), ("video_mime_types", video_mime_types)):
        if values:
            arr = (ctypes.c_char_p * len(values))(*[_text(v, attr) for v in values])
            keep.append(arr)
            setattr(o, attr, ctypes.cast(arr, POINTER(ctypes.c_char_p)))
            setattr(o, attr[:-1] + "_count", len(values))
    return o


def _media_info(m: _native.MediaInfo) -> MediaInfo:
    return MediaInfo(
        type=MediaType(m.type),
        mime=_s(m.mime),
        kind="video" if m.kind == 1 else "photo",
        byte_size=int(m.byte_size),
        sha256=_s(m.sha256),
        width=m.width,
        height=m.height,
        orientation=m.orientation,
        display_width=m.display_width,
        display_height=m.display_height,
        capture_time=_s(m.capture_time),
        has_gps=bool(m.has_gps),
        relabelled=bool(m.relabelled),
        filename=_s(m.filename),
        note=_s(m.note),
    )


def _thumbnail_list(lst: _native.ThumbnailList) -> List[Thumbnail]:
    return [
        Thumbnail(
            name=_s(lst.items[i].name),
            width=lst.items[i].width,
            height=lst.items[i].height,
            jpeg=ctypes.string_at(lst.items[i].jpeg, lst.items[i].jpeg_len),
        )
        for i in range(lst.count)
    ]


def _media_call(
    function: str,
    outs: Tuple[Any, ...],
    source: Union[Bytes, str, "os.PathLike[str]"],
    filename: str,
    kind: str,
    policy: Tuple[Any, ...],
    *extra: Any,
) -> None:
    """Calls ``ms_media_<function>`` (bytes) or ``ms_media_<function>_file``
    (a path) with the out pointers, the reason, the source, filename, kind, the
    options of ``policy`` (_validation_options' arguments) and ``extra``;
    raises the refusal's error with ``.reason`` set to the reason's name."""
    keep: list = []
    opts = _validation_options(*policy, keep)
    reason = c_int(0)
    lib = _lib()
    head = [byref(o) for o in outs] + [byref(reason)]
    tail = [_text(filename, "filename"), _kind(kind), byref(opts), *extra]
    if isinstance(source, (bytes, bytearray, memoryview)):
        ptr, n = _buffer(source)
        rc = getattr(lib, "ms_media_" + function)(*head, ptr, n, *tail)
    else:
        rc = getattr(lib, f"ms_media_{function}_file")(*head, _text(source, "path"), *tail)
    if rc != 0:
        err = _error(rc)
        err.reason = lib.ms_refusal_reason_name(reason.value).decode()
        raise err


def validate(
    source: Union[Bytes, str, "os.PathLike[str]"],
    filename: str,
    kind: str = "photo",
    *,
    max_upload_size: Optional[int] = None,
    max_pixels: Optional[int] = None,
    relabel_mismatched_extension: bool = True,
    decode_images: bool = True,
    photo_mime_types: Optional[List[str]] = None,
    video_mime_types: Optional[List[str]] = None,
) -> MediaInfo:
    """Validates content (bytes) or a file (str/PathLike path) against a policy.

    Raises the refusal's error (TooLargeError, UnsupportedMediaError,
    CorruptMediaError, InvalidArgumentError, ...) with ``.reason`` set to the
    refusal reason's name ("dangerous_content", "file_too_large", ...).
    """
    policy = (
        max_upload_size, max_pixels, relabel_mismatched_extension, decode_images, photo_mime_types, video_mime_types
    )
    out = POINTER(_native.MediaInfo)()
    _media_call("validate", (out,), source, filename, kind, policy)
    return _native.take_struct(out, _media_info, "ms_media_info_free")


def _specs(specs: Optional[List[ThumbnailSpec]]) -> Tuple[Any, int]:
    if not specs:
        return None, 0
    arr = (_native.ThumbnailSpec * len(specs))()
    for i, sp in enumerate(specs):
        if sp.fit not in ("inside", "cover"):
            raise InvalidArgumentError(_native.MS_E_INVALID_ARGUMENT, f"fit must be 'inside' or 'cover', got {sp.fit!r}")
        for attr in ("width", "height", "quality"):
            v = getattr(sp, attr)
            if not isinstance(v, int) or not -(2**31) <= v < 2**31:
                raise InvalidArgumentError(_native.MS_E_INVALID_ARGUMENT, f"thumbnail {attr} {v!r} is out of range")
        arr[i] = _native.ThumbnailSpec(
            _text(sp.name, "thumbnail name"), sp.width, sp.height, 1 if sp.fit == "cover" else 0, sp.quality, int(sp.progressive)
        )
    return arr, len(specs)


def make_thumbnails(
    source: Union[Bytes, str, "os.PathLike[str]"],
    specs: Optional[List[ThumbnailSpec]] = None,
    max_pixels: int = 0,
) -> List[Thumbnail]:
    """JPEG thumbnails of an image (bytes or a file path); default specs: small
    150x150, medium 300x300, large 800x600."""
    arr, n = _specs(specs)
    out = POINTER(_native.ThumbnailList)()
    lib = _lib()
    if isinstance(source, (bytes, bytearray, memoryview)):
        ptr, length = _buffer(source)
        rc = lib.ms_thumbnails_make(byref(out), ptr, length, arr, n, _u64(max_pixels, "max_pixels"))
    else:
        rc = lib.ms_thumbnails_make_file(byref(out), _text(source, "path"), arr, n, _u64(max_pixels, "max_pixels"))
    _check(rc)
    return _native.take_struct(out, _thumbnail_list, "ms_thumbnail_list_free")


@dataclass(frozen=True)
class ProcessedMedia:
    """An accepted upload's verdict and its thumbnails (in spec order; none for videos)."""

    info: MediaInfo
    thumbnails: List[Thumbnail]


def process(
    source: Union[Bytes, str, "os.PathLike[str]"],
    filename: str,
    kind: str = "photo",
    specs: Optional[List[ThumbnailSpec]] = None,
    *,
    max_upload_size: Optional[int] = None,
    max_pixels: Optional[int] = None,
    relabel_mismatched_extension: bool = True,
    decode_images: bool = True,
    photo_mime_types: Optional[List[str]] = None,
    video_mime_types: Optional[List[str]] = None,
) -> ProcessedMedia:
    """:func:`validate` and :func:`make_thumbnails` from one decode: a photo
    is decoded once (strictly, as validation does) and its thumbnails are made
    from that decode. Videos are validated and get no thumbnails.

    specs: default (None or []) small 150x150, medium 300x300, large 800x600;
    for validation alone use :func:`validate`. The keywords are validate()'s
    policy; refusals raise exactly what validate() raises (same class,
    message and ``.reason``). InvalidArgumentError for bad specs.
    """
    policy = (
        max_upload_size, max_pixels, relabel_mismatched_extension, decode_images, photo_mime_types, video_mime_types
    )
    arr, n = _specs(specs)
    info = POINTER(_native.MediaInfo)()
    thumbs = POINTER(_native.ThumbnailList)()
    _media_call("process", (info, thumbs), source, filename, kind, policy, arr, n)
    lib = _native.load()
    try:
        return ProcessedMedia(_media_info(info.contents), _thumbnail_list(thumbs.contents))
    finally:
        lib.ms_media_info_free(info)
        lib.ms_thumbnail_list_free(thumbs)


def strip_jpeg_metadata(jpeg: Bytes, mode: str = "all") -> bytes:
    """Removes metadata ("gps" or "all") from a JPEG without re-encoding."""
    if mode not in ("gps", "all"):
        raise InvalidArgumentError(_native.MS_E_INVALID_ARGUMENT, f"mode must be 'gps' or 'all', got {mode!r}")
    ptr, n = _buffer(jpeg)
    out = c_void_p()
    size = c_size_t()
    _check(_lib().ms_jpeg_strip_metadata(byref(out), byref(size), ptr, n, 1 if mode == "all" else 0))
    return _native.take_bytes(out, size.value)


# ---------------------------------------------------------------------------
# Uploads


@dataclass(frozen=True)
class StoredObject:
    name: str  # "original", "small", "medium", "large"
    key: str
    url: str
    width: int
    height: int
    bytes: int
    content_type: str


@dataclass(frozen=True)
class UploadResult:
    original: StoredObject
    thumbnails: List[StoredObject]
    metadata: Dict[str, str]


@dataclass(frozen=True)
class UploadStatus:
    """The status of an upload (state: pending, processing, retrying, completed, failed)."""

    id: str
    state: str
    stage: str
    progress_percentage: int
    attempt: int
    next_try: Optional[_dt.datetime]
    last_error: str
    error_code: int  # failed: the code (< 0); else 0
    error_message: str
    result: Optional[UploadResult]
    original_filename: str
    content_type: str
    media_kind: str
    context: Dict[str, str]
    created_at: _dt.datetime
    updated_at: _dt.datetime


def _time_ms(ms: int) -> _dt.datetime:
    return _dt.datetime.fromtimestamp(ms / 1000.0, tz=_dt.timezone.utc)


def _stored(o: _native.StoredObject) -> StoredObject:
    return StoredObject(_s(o.name), _s(o.key), _s(o.url), o.width, o.height, int(o.bytes), _s(o.content_type))


def _pairs(names: Any, values: Any, n: int) -> Dict[str, str]:
    return {_s(names[i]): _s(values[i]) for i in range(n)}


def _status(c: _native.UploadStatus) -> UploadStatus:
    lib = _native.load()
    result = None
    if c.has_result:
        result = UploadResult(
            original=_stored(c.original),
            thumbnails=[_stored(c.thumbnails[i]) for i in range(c.thumbnail_count)],
            metadata=_pairs(c.metadata_names, c.metadata_values, c.metadata_count),
        )
    return UploadStatus(
        id=_s(c.id),
        state=lib.ms_upload_state_name(c.state).decode(),
        stage=lib.ms_upload_stage_name(c.stage).decode(),
        progress_percentage=c.progress_percentage,
        attempt=c.attempt,
        next_try=_time_ms(c.next_try_ms) if c.next_try_ms > 0 else None,
        last_error=_s(c.last_error),
        error_code=c.error_code,
        error_message=_s(c.error_message),
        result=result,
        original_filename=_s(c.original_filename),
        content_type=_s(c.content_type),
        media_kind="video" if c.media_kind == 1 else "photo",
        context=_pairs(c.context_names, c.context_values, c.context_count),
        created_at=_time_ms(c.created_at_ms),
        updated_at=_time_ms(c.updated_at_ms),
    )


def _ms(value: Union[int, float, _dt.timedelta], what: str) -> int:
    if isinstance(value, _dt.timedelta):
        value = value.total_seconds()
    if not isinstance(value, (int, float)) or value != value or abs(value) > 2**40:
        raise InvalidArgumentError(_native.MS_E_INVALID_ARGUMENT, f"{what} is out of range: {value!r}")
    return int(value * 1000)


class Worker(_Handle):
    """Threads processing uploads. A context manager: starts on enter, stops
    (finishing jobs in flight) and waits on exit."""

    _what = "worker"
    _free = "ms_worker_free"

    def __init__(self, uploads: "Uploads", threads: int = 0, poll_wait: float = 0.5,
                 maintenance_interval: float = 60.0, cleanup_older_than: float = 3600.0) -> None:
        o = _native.WorkerOptions()
        lib = _lib()
        _check(lib.ms_worker_options_init(byref(o), _native.MS_WORKER_OPTIONS_VERSION))
        if not isinstance(threads, int) or not 0 <= threads < 2**31:
            raise InvalidArgumentError(_native.MS_E_INVALID_ARGUMENT,
                                       f"threads must be 0 (two per CPU core) to 256, got {threads!r}")
        o.threads = threads
        o.poll_wait_ms = _ms(poll_wait, "poll_wait")
        o.maintenance_interval_ms = _ms(maintenance_interval, "maintenance_interval")
        o.cleanup_older_than_seconds = _ms(cleanup_older_than, "cleanup_older_than") // 1000
        handle = c_void_p()
        _check(lib.ms_worker_new(byref(handle), uploads._h(), byref(o)))
        self._handle: Optional[c_void_p] = handle
        self._uploads = uploads  # keeps the service alive on the Python side too

    def start(self) -> None:
        _check(_lib().ms_worker_start(self._h()))

    def stop(self, release: bool = False) -> None:
        """Asks the threads to stop; in-flight jobs are finished (or released)."""
        _check(_lib().ms_worker_stop(self._h(), 1 if release else 0))

    def wait(self) -> None:
        _check(_lib().ms_worker_wait(self._h()))

    @property
    def running(self) -> bool:
        return bool(_lib().ms_worker_running(self._h()))

    def __enter__(self) -> "Worker":
        self.start()
        return self


class Uploads(_Handle):
    """The upload service: submit, status, cancel, workers, stats.

    config: a :class:`Config`, a mapping of variables, or None for the
    environment. Thread-safe.
    """

    _what = "uploads"
    _free = "ms_uploads_close"

    def __init__(
        self,
        config: Union[Config, Mapping[str, Optional[str]], None] = None,
        *,
        max_attempts: int = 5,
        backoff_base: float = 1.0,
        backoff_max: float = 300.0,
        lease: float = 30.0,
        heartbeat: float = 10.0,
        key_prefix: Optional[str] = None,
        url_expiry: int = 604800,
        queue_name: Optional[str] = None,
        thumbnails: Optional[List[ThumbnailSpec]] = None,
    ) -> None:
        lib = _lib()
        o = _native.UploadOptions()
        _check(lib.ms_upload_options_init(byref(o), _native.MS_UPLOAD_OPTIONS_VERSION))
        if not isinstance(max_attempts, int) or not -(2**31) <= max_attempts < 2**31:
            raise InvalidArgumentError(_native.MS_E_INVALID_ARGUMENT, f"max_attempts out of range: {max_attempts!r}")
        o.max_attempts = max_attempts
        o.backoff_base_ms = _ms(backoff_base, "backoff_base")
        o.backoff_max_ms = _ms(backoff_max, "backoff_max")
        o.lease_ms = _ms(lease, "lease")
        o.heartbeat_ms = _ms(heartbeat, "heartbeat")
        if key_prefix is not None:
            o.key_prefix = _text(key_prefix, "key_prefix")
        if not isinstance(url_expiry, int) or not -(2**63) <= url_expiry < 2**63:
            raise InvalidArgumentError(_native.MS_E_INVALID_ARGUMENT, f"url_expiry out of range: {url_expiry!r}")
        o.url_expiry_seconds = url_expiry
        if queue_name is not None:
            o.queue_name = _text(queue_name, "queue_name")
        arr, n = _specs(thumbnails)
        if n:
            o.thumbnails = ctypes.cast(arr, POINTER(_native.ThumbnailSpec))
            o.thumbnail_count = n
        handle = c_void_p()
        _with_config(config, lambda c: _check(lib.ms_uploads_open(byref(handle), c, byref(o))))
        self._handle: Optional[c_void_p] = handle

    def submit(
        self,
        source: Union[Bytes, str, "os.PathLike[str]", IO[bytes]],
        filename: str,
        *,
        content_type: Optional[str] = None,
        media_kind: str = "photo",
        context: Optional[Mapping[str, str]] = None,
    ) -> str:
        """Accepts an upload durably and queues it; returns its id.

        source: bytes, a file path, or a binary file object (read whole).
        Raises TooLargeError over MAX_UPLOAD_SIZE, InvalidArgumentError for an
        empty file or a missing name, NotFoundError for a missing path.
        """
        r = _native.UploadRequest()
        lib = _lib()
        _check(lib.ms_upload_request_init(byref(r), _native.MS_UPLOAD_REQUEST_VERSION))
        keep: list = []
        if isinstance(source, (str, os.PathLike)):
            r.source_path = _text(source, "source_path")
        else:
            if not isinstance(source, (bytes, bytearray, memoryview)):
                source = source.read()
            ptr, n = _buffer(source)
            keep.append(ptr)
            r.data = ctypes.cast(ptr, c_void_p) if ptr is not None else None
            r.data_len = n
        r.original_filename = _text(filename, "filename")
        if content_type is not None:
            r.content_type = _text(content_type, "content_type")
        r.media_kind = _kind(media_kind)
        items = list((context or {}).items())
        if items:
            names = (ctypes.c_char_p * len(items))(*[_text(k, "context name") for k, _ in items])
            values = (ctypes.c_char_p * len(items))(*[_text(str(v), "context value") for _, v in items])
            keep += [names, values]
            r.context_names = ctypes.cast(names, POINTER(ctypes.c_char_p))
            r.context_values = ctypes.cast(values, POINTER(ctypes.c_char_p))
            r.context_count = len(items)
        out = c_void_p()
        _check(lib.ms_upload_submit(byref(out), self._h(), byref(r)))
        return _native.take_string(out)

    def status(self, upload_id: str) -> UploadStatus:
        """The current status; NotFoundError for an unknown id."""
        out = POINTER(_native.UploadStatus)()
        _check(_lib().ms_upload_status_get(byref(out), self._h(), _text(upload_id, "id")))
        return _native.take_struct(out, _status, "ms_upload_status_free")

    def cancel(self, upload_id: str) -> None:
        """Cancels an unfinished upload; ConflictError if it already finished."""
        _check(_lib().ms_upload_cancel(self._h(), _text(upload_id, "id")))

    def cleanup(self, older_than: Union[int, _dt.timedelta] = 3600) -> Dict[str, int]:
        """Removes leftovers of failed and abandoned uploads; returns counts."""
        if isinstance(older_than, _dt.timedelta):
            older_than = int(older_than.total_seconds())
        if not isinstance(older_than, int) or not -(2**63) <= older_than < 2**63:
            raise InvalidArgumentError(_native.MS_E_INVALID_ARGUMENT, f"older_than out of range: {older_than!r}")
        out = POINTER(_native.CleanupReport)()
        _check(_lib().ms_upload_cleanup(byref(out), self._h(), older_than))
        return _native.take_struct(out, lambda c: {name: int(getattr(c, name)) for name, _ in c._fields_})

    def stats(self) -> Dict[str, Union[int, float]]:
        """Counters: submitted, completed, failed, retried, in_flight, queue_*, uploads_* ..."""
        out = POINTER(_native.UploadStats)()
        _check(_lib().ms_upload_stats_get(byref(out), self._h()))
        return _native.take_struct(out, lambda c: {name: getattr(c, name) for name, _ in c._fields_})

    def metrics_prometheus(self) -> str:
        out = c_void_p()
        _check(_lib().ms_upload_metrics_prometheus(byref(out), self._h()))
        return _native.take_string(out)

    def process_next(self, max_jobs: int = 1, wait: float = 0.0) -> int:
        """Processes up to max_jobs jobs in this thread (the GIL is released)."""
        if not isinstance(max_jobs, int) or not 0 <= max_jobs < 2**63:
            raise InvalidArgumentError(_native.MS_E_INVALID_ARGUMENT, f"max_jobs out of range: {max_jobs!r}")
        out = c_size_t()
        _check(_lib().ms_upload_process_next(byref(out), self._h(), max_jobs, _ms(wait, "wait")))
        return int(out.value)

    def dead_letters(self, limit: int = 100) -> List["DeadJob"]:
        """Jobs that exhausted their attempts, oldest first."""
        if not isinstance(limit, int) or not 0 <= limit < 2**63:
            raise InvalidArgumentError(_native.MS_E_INVALID_ARGUMENT, f"limit out of range: {limit!r}")
        out = POINTER(_native.DeadJobList)()
        _check(_lib().ms_upload_dead_letters(byref(out), self._h(), limit))
        try:
            lst = out.contents
            return [
                DeadJob(
                    _s(d.id), _s(d.payload), d.attempts, _s(d.last_error), _time_ms(d.died_at_ms)
                )
                for d in (lst.items[i] for i in range(lst.count))
            ]
        finally:
            _native.load().ms_dead_job_list_free(out)

    def worker(self, threads: int = 0, **options: Any) -> Worker:
        """A (not yet started) :class:`Worker`; use ``with uploads.worker() as w:``."""
        return Worker(self, threads=threads, **options)


__all__ += [
    "MediaType",
    "MediaInfo",
    "ThumbnailSpec",
    "Thumbnail",
    "sniff",
    "validate",
    "make_thumbnails",
    "ProcessedMedia",
    "process",
    "strip_jpeg_metadata",
    "StoredObject",
    "UploadResult",
    "UploadStatus",
    "Uploads",
    "Worker",
]


@dataclass(frozen=True)
class DeadJob:
    id: str
    payload: str
    attempts: int
    last_error: str
    died_at: _dt.datetime


def verify_local_url(url: str, signing_key: str) -> None:
    """Checks a URL the local backend signed; raises PermissionDeniedError
    (bad signature, expired) or InvalidArgumentError (malformed)."""
    _check(_lib().ms_local_url_verify(_text(url, "url"), _text(signing_key, "signing_key")))


@dataclass(frozen=True)
class MigrateReport:
    counts: Dict[str, int]
    failures: List[Tuple[str, int, str]]  # (key, code, message), sorted by key
    planned: List[str]
    cancelled: bool
    error_code: int
    error_message: str

    @property
    def ok(self) -> bool:
        return not self.failures and not self.cancelled and self.error_code == 0


def migrate(
    source: Store,
    destination: Store,
    *,
    prefix: str = "",
    concurrency: int = 8,
    delete_source: bool = False,
    dry_run: bool = False,
    journal_path: Optional[str] = None,
    journal_scope: Optional[str] = None,
    attempts: int = 3,
    progress: Optional[Callable[[Dict[str, int]], Optional[bool]]] = None,
) -> MigrateReport:
    """Copies every object under prefix from source to destination, verifying
    each copy. progress(counts) may return False to stop the run."""
    lib = _lib()
    o = _native.MigrateOptions()
    _check(lib.ms_migrate_options_init(byref(o), _native.MS_MIGRATE_OPTIONS_VERSION))
    o.prefix = _text(prefix, "prefix")
    for name, v in (("concurrency", concurrency), ("attempts", attempts)):
        if not isinstance(v, int) or not -(2**31) <= v < 2**31:
            raise InvalidArgumentError(_native.MS_E_INVALID_ARGUMENT, f"{name} out of range: {v!r}")
    o.concurrency = concurrency
    o.attempts = attempts
    o.delete_source = int(bool(delete_source))
    o.dry_run = int(bool(dry_run))
    if journal_path is not None:
        o.journal_path = _text(journal_path, "journal_path")
    if journal_scope is not None:
        o.journal_scope = _text(journal_scope, "journal_scope")
    cbs = _Callbacks()
    if progress is not None:

        def cb(p: Any, _payload: Any) -> int:
            try:
                c = p.contents
                return 1 if progress({n: getattr(c, n) for n, _ in _native.MigrateProgress._fields_}) is False else 0
            except BaseException as e:  # noqa: BLE001
                cbs.fail(e)
                return 1

        o.progress = _native.MIGRATE_PROGRESS_FN(cb)
    out = POINTER(_native.MigrateReport)()
    rc = lib.ms_migrate(byref(out), source._h(), destination._h(), byref(o))
    cbs.reraise(rc)
    try:
        r = out.contents
        return MigrateReport(
            counts={n: getattr(r.counts, n) for n, _ in _native.MigrateProgress._fields_},
            failures=[
                (_s(r.failure_keys[i]), r.failure_codes[i], _s(r.failure_messages[i])) for i in range(r.failure_count)
            ],
            planned=[_s(r.planned[i]) for i in range(r.planned_count)],
            cancelled=bool(r.cancelled),
            error_code=r.error_code,
            error_message=_s(r.error_message),
        )
    finally:
        lib.ms_migrate_report_free(out)


__all__ += ["DeadJob", "verify_local_url", "MigrateReport", "migrate"]
