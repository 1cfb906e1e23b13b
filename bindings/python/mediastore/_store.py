"""Storage: :class:`Store` over a backend (local, MinIO/Ceph, S3), the objects'
metadata, key validation and the verification of locally signed URLs."""

from __future__ import annotations

import ctypes
import datetime as _dt
import io
import os
from ctypes import POINTER, byref, c_int, c_size_t, c_void_p
from dataclasses import dataclass, field
from typing import IO, Any, Dict, Iterator, List, Mapping, Optional, Tuple, Union

from . import _native
from ._common import Bytes, Callback, Progress, _buffer, _Callbacks, _Handle, _s, _text, _u64
from ._config import Config, _with_config
from ._errors import InvalidArgumentError, _check
from ._log import _lib




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
        callback: Optional[Callback] = None,
        if_none_match: bool = False,
    ) -> None:
        o = _native.PutOptions()
        # The oldest version that carries what is asked, so that plain puts
        # also work with a library older than the binding.
        version = _native.MS_PUT_OPTIONS_VERSION if if_none_match else 2 if sha256 is not None else 1
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
        self._progress = cbs.progress(progress, callback)
        o.progress = self._progress
        if sha256 is not None:
            o.sha256 = _text(sha256, "sha256")
        if if_none_match:
            o.if_none_match = 1
        self.options = o


class _ReadStream:
    """A binary file object as the C read/rewind callbacks of a streamed put.

    size: the declared size, or None to take it from a seekable file (-1 when
    unknown). A seekable file is rewound to where it was for retries. Errors
    raised by the file object are kept in cbs and re-raised after the call.
    """

    def __init__(self, cbs: _Callbacks, fileobj: IO[bytes], size: Optional[int]) -> None:
        start = _tell(fileobj)
        if size is None and start is not None:
            try:
                end = fileobj.seek(0, io.SEEK_END)
                fileobj.seek(start)
                size = end - start
            except (OSError, ValueError):
                size = None
        self.size = -1 if size is None else int(size)

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

        self.read_cb = _native.READ_FN(read)
        self.rewind_cb = _native.REWIND_FN(rewind) if start is not None else _native.REWIND_FN()


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
        if config is not None and not isinstance(config, Config):
            config = dict(config)  # as given now, also for a reopening after fork

        def open_native() -> c_void_p:
            handle = c_void_p()
            _with_config(config, lambda c: _check(lib.ms_store_open(byref(handle), c)))
            return handle

        # A child process after fork() opens a store of its own on first use.
        self._own(open_native(), open_native)

    @property
    def backend_name(self) -> str:
        """"local", "minio" or "s3"."""
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
        callback: Optional[Callback] = None,
        if_none_match: bool = False,
    ) -> None:
        """Stores data at key, replacing any previous object atomically.

        if_none_match: create only; AlreadyExistsError (storing nothing) when
        key holds an object, decided atomically by the store (of two
        concurrent creates exactly one succeeds). Default: False.

        progress: (done, total) per step, False cancels; callback: boto3's
        convention, bytes since the previous call (see :data:`Callback`).

        sha256: the content's SHA-256 as 64 lower-case hex digits, when known
        (default None or "": unknown). The put is held to it and stores
        nothing on a mismatch: the local backend raises InvalidArgumentError,
        S3 refuses the signed body (NetworkError naming
        XAmzContentSHA256Mismatch). Any other form raises InvalidArgumentError.
        """
        cbs = _Callbacks()
        args = _PutArgs(
            cbs, content_type, cache_control, content_disposition, metadata, progress, sha256, callback, if_none_match
        )
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
        stream = _ReadStream(cbs, fileobj, size)
        rc = _lib().ms_store_put_stream(
            self._h(), _text(key, "key"), stream.size, byref(args.options), stream.read_cb, stream.rewind_cb, None
        )
        cbs.reraise(rc)

    def save(self, data: Union[Bytes, IO[bytes]], filename: str, **options: Any) -> str:
        """Stores content under a fresh unique key derived from filename and returns the key.

        data: bytes, or a binary file object streamed as by
        :meth:`upload_fileobj` (never read whole). Options as for :meth:`put`.
        """
        cbs = _Callbacks()
        args = _PutArgs(cbs, **_put_kwargs(options))
        out = c_void_p()
        name = _text(filename, "filename")
        if isinstance(data, (bytes, bytearray, memoryview)):
            ptr, n = _buffer(data)
            rc = _lib().ms_store_save(byref(out), self._h(), ptr, n, name, byref(args.options))
        else:
            stream = _ReadStream(cbs, data, None)
            rc = _lib().ms_store_save_stream(
                byref(out), self._h(), name, stream.size, byref(args.options), stream.read_cb, stream.rewind_cb, None
            )
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
        callback: Optional[Callback] = None,
    ) -> None:
        """Streams an object into a binary file object. progress and callback
        as for :meth:`put`; fileobj.write runs on the calling thread."""
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
        progress_cb = cbs.progress(progress, callback)
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

    def open(self, key: str, buffer_size: int = 1 << 20) -> io.BufferedReader:
        """The object as a read-only binary file that fetches ranges on
        demand (one HEAD now, one ranged GET per buffer refill; never the
        whole object in memory). buffer_size: bytes read ahead (default
        1 MiB). NotFoundError if the object is missing."""
        return io.BufferedReader(_RangedReader(self, key), buffer_size)

    def get_file(self, key: str, path: Union[str, "os.PathLike[str]"]) -> None:
        """Downloads an object into a local file atomically."""
        _check(_lib().ms_store_get_file(self._h(), _text(key, "key"), _text(path, "path")))

    def stat(self, key: str) -> ObjectInfo:
        """Metadata of an object; NotFoundError if missing."""
        out = POINTER(_native.ObjectInfo)()
        _check(_lib().ms_store_stat(byref(out), self._h(), _text(key, "key")))
        return _native.take_struct(out, _info, "ms_object_info_free")

    def exists(self, key: str) -> bool:
        """Whether an object is stored at key."""
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
        """Copies the object at from_key to to_key."""
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

    def url(
        self,
        key: str,
        expires: Union[int, _dt.timedelta] = 3600,
        *,
        http_method: Optional[str] = None,
        response_headers: Optional[Mapping[str, str]] = None,
        signed: Optional[bool] = None,
    ) -> str:
        """A URL to fetch the object: presigned (S3) or signed (local with a
        signing key) for `expires` seconds (1 .. 7 days), else public.

        http_method: "GET" (default), "HEAD" or "PUT" (S3 presigned upload).
        response_headers: {"content-disposition": 'attachment; filename="a.jpg"', ...}
        the server answers with (S3, signed URLs; the local backend raises
        InvalidArgumentError). signed: False gives a plain URL, True a signed
        one; None (default) the backend's setting (AWS_QUERYSTRING_AUTH)."""
        if isinstance(expires, _dt.timedelta):
            expires = int(expires.total_seconds())
        if not isinstance(expires, int) or not -(2**63) <= expires < 2**63:
            raise InvalidArgumentError(_native.MS_E_INVALID_ARGUMENT, f"expires must be 1..604800, got {expires!r}")
        out = c_void_p()
        lib = _lib()
        if http_method is None and not response_headers and signed is None:
            _check(lib.ms_store_url(byref(out), self._h(), _text(key, "key"), expires))
            return _native.take_string(out)
        if getattr(lib, "ms_store_url_with", None) is None:
            raise InvalidArgumentError(
                _native.MS_E_INVALID_ARGUMENT, "URL options need a newer libmediastore_c (ms_store_url_with)"
            )
        o = _native.UrlOptions()
        _check(lib.ms_url_options_init(byref(o), _native.MS_URL_OPTIONS_VERSION))
        o.expires_seconds = expires
        if http_method is not None:
            o.http_method = _text(http_method, "http_method")
        items = list((response_headers or {}).items())
        names = (ctypes.c_char_p * max(1, len(items)))(*[_text(k.lower(), "header name") for k, _ in items])
        values = (ctypes.c_char_p * max(1, len(items)))(*[_text(v, "header value") for _, v in items])
        if items:
            o.response_header_names = ctypes.cast(names, POINTER(ctypes.c_char_p))
            o.response_header_values = ctypes.cast(values, POINTER(ctypes.c_char_p))
            o.response_header_count = len(items)
        if signed is not None:
            o.signed_url = 1 if signed else 0
        _check(lib.ms_store_url_with(byref(out), self._h(), _text(key, "key"), byref(o)))
        return _native.take_string(out)


class _RangedReader(io.RawIOBase):
    """A read-only raw file over one object (what :meth:`Store.open` buffers):
    opening is one HEAD (a missing object raises NotFoundError, a
    FileNotFoundError, there); every read is one ranged GET of what is asked;
    seeking costs nothing. Not thread-safe (one reader per thread); the Store
    must stay open while it is used."""

    def __init__(self, store: "Store", key: str) -> None:
        super().__init__()
        self._store = store
        self._key = key
        self._pos = 0
        self._size = store.stat(key).size

    def _length(self) -> int:
        return self._size

    @property
    def size(self) -> int:
        """The object's size in bytes, as the HEAD at opening found it."""
        return self._size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if whence == io.SEEK_SET:
            pos = offset
        elif whence == io.SEEK_CUR:
            pos = self._pos + offset
        elif whence == io.SEEK_END:
            pos = self._length() + offset
        else:
            raise ValueError(f"invalid whence {whence!r}")
        if pos < 0:
            raise ValueError(f"negative seek position {pos}")
        self._pos = pos
        return pos

    def readinto(self, b: Any) -> int:
        view = memoryview(b).cast("B")
        want = min(len(view), self._length() - self._pos)
        if want <= 0:
            return 0
        data = self._store.get(self._key, self._pos, want)
        view[: len(data)] = data
        self._pos += len(data)
        return len(data)


def _put_kwargs(options: Mapping[str, Any]) -> Dict[str, Any]:
    allowed = (
        "content_type",
        "cache_control",
        "content_disposition",
        "metadata",
        "progress",
        "sha256",
        "callback",
        "if_none_match",
    )
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


def _length(length: Optional[int]) -> int:
    if length is None:
        return _native.MS_TO_END
    if not isinstance(length, int) or not 0 <= length < _native.MS_TO_END:
        raise InvalidArgumentError(_native.MS_E_INVALID_ARGUMENT, "length must be a non-negative integer")
    return length


def validate_key(key: str) -> None:
    """Raises InvalidArgumentError if key is not a valid storage key."""
    _check(_native.load().ms_key_validate(_text(key, "key")))


def verify_local_url(url: str, signing_key: str) -> None:
    """Checks a URL the local backend signed; raises PermissionDeniedError
    (bad signature, expired) or InvalidArgumentError (malformed)."""
    _check(_lib().ms_local_url_verify(_text(url, "url"), _text(signing_key, "signing_key")))
