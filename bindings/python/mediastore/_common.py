"""What every part of the binding uses: conversion of Python arguments to C
(text, buffers, integers), the owner of a native handle, and the holder of
Python callbacks during one C call."""

from __future__ import annotations

import ctypes
import logging
import datetime as _dt
import os
import threading
from ctypes import c_void_p
from typing import Any, Callable, Mapping, Optional, Tuple, TypeVar, Union

from . import _native
from ._errors import InvalidArgumentError, MediaStoreError, _check

Bytes = Union[bytes, bytearray, memoryview]
_H = TypeVar("_H", bound="_Handle")
Progress = Callable[[int, int], Optional[bool]]
"""Progress callback (done, total or 0 if unknown); returning False cancels.

Thread: the thread calling the operation or, for a multipart or streaming S3
upload, one of the library's threads of that operation; never two at once
for one operation. An exception it raises is logged (logger "mediastore",
debug), fails the operation, and is raised again by the call."""

Callback = Callable[[int], Any]
"""boto3's convention (``Callback=``): called with the bytes transferred since
the previous call (negative when a retry restarts the data). Same threads as
:data:`Progress`."""


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


class _Pairs:
    """A mapping as the C name/value arrays of a call (values turned into
    text), alive as long as this object: keep it until the call returns.
    ``names``/``values`` are None when the mapping is empty."""

    def __init__(self, items: Optional[Mapping[str, Any]], what: str) -> None:
        pairs = list((items or {}).items())
        self.count = len(pairs)
        self.names: Any = None
        self.values: Any = None
        if pairs:
            self._n = (ctypes.c_char_p * len(pairs))(*[_text(k, f"{what} name") for k, _ in pairs])
            self._v = (ctypes.c_char_p * len(pairs))(*[_text(str(v), f"{what} value") for _, v in pairs])
            self.names = ctypes.cast(self._n, ctypes.POINTER(ctypes.c_char_p))
            self.values = ctypes.cast(self._v, ctypes.POINTER(ctypes.c_char_p))


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


def _u64(value: int, what: str) -> int:
    if not isinstance(value, int) or not 0 <= value < 2**64:
        raise InvalidArgumentError(_native.MS_E_INVALID_ARGUMENT, f"{what} must be a non-negative integer")
    return value


def _s(raw: Optional[bytes]) -> str:
    return raw.decode("utf-8", errors="replace") if raw else ""


def _time_ms(ms: int) -> _dt.datetime:
    return _dt.datetime.fromtimestamp(ms / 1000.0, tz=_dt.timezone.utc)


_fork_lock = threading.Lock()


class _Handle:
    """Owns one native object: ``_h()`` gives its handle (InvalidArgumentError
    once closed); ``close()`` frees it with the library function named by
    ``_free`` (again a no-op); a context manager that closes on exit, and
    closed when collected. Subclasses set ``_what``, ``_free`` and ``_handle``.

    Fork safety: a handle belongs to the process that opened it. In a child
    after ``os.fork()`` (gunicorn ``--preload``, Celery prefork), ``_h()``
    opens a new native object through ``_reopen`` when the subclass set one
    (the parent's copy is left alone: freeing it in the child would act on
    the parent's threads and connections), else raises InvalidArgumentError
    saying so."""

    _what = "object"
    _free = ""
    _handle: Optional[c_void_p] = None
    _pid: int = 0
    _reopen: Optional[Callable[[], c_void_p]] = None

    def _own(self, handle: c_void_p, reopen: Optional[Callable[[], c_void_p]] = None) -> None:
        """Takes ``handle``, opened by this process; ``reopen`` opens another
        like it (called in a forked child)."""
        self._handle = handle
        self._pid = os.getpid()
        self._reopen = reopen

    def _h(self) -> c_void_p:
        if self._handle is None:
            raise InvalidArgumentError(_native.MS_E_INVALID_ARGUMENT, f"{self._what} is closed")
        if self._pid and self._pid != os.getpid():
            with _fork_lock:
                if self._pid != os.getpid():
                    if self._reopen is None:
                        raise InvalidArgumentError(
                            _native.MS_E_INVALID_ARGUMENT,
                            f"this {self._what} was made in process {self._pid} before fork(); "
                            f"make a new one in this process ({os.getpid()})",
                        )
                    self._handle = self._reopen()
                    self._pid = os.getpid()
        return self._handle

    def close(self) -> None:
        """Frees the native object; it must not be in use by other threads."""
        if self._handle is not None:
            if not self._pid or self._pid == os.getpid():
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


class _Callbacks:
    """Holds Python callbacks for one C call; records the first exception so
    it can be re-raised after the call (exceptions never cross into C)."""

    def __init__(self) -> None:
        self.error: Optional[BaseException] = None

    def fail(self, exc: BaseException) -> int:
        if self.error is None:
            self.error = exc
            logging.getLogger("mediastore").debug("a callback raised %r: the operation fails", exc, exc_info=exc)
        if isinstance(exc, MediaStoreError):
            return exc.code
        return _native.MS_E_CANCELLED

    def progress(self, fn: Optional[Progress], callback: Optional[Callback] = None) -> Any:
        """The native progress callback calling fn (done, total) and/or
        callback (bytes since the previous call)."""
        if fn is None and callback is None:
            return _native.PROGRESS_FN()
        report = fn
        delta = callback
        last = [0]

        def cb(done: int, total: int, _p: Any) -> int:
            try:
                if delta is not None and done != last[0]:
                    step = int(done) - last[0]
                    last[0] = int(done)
                    delta(step)
                if report is None:
                    return 0
                return 1 if report(int(done), int(total)) is False else 0
            except BaseException as e:  # noqa: BLE001
                self.fail(e)
                return 1

        return _native.PROGRESS_FN(cb)

    def reraise(self, rc: int) -> None:
        if self.error is not None:
            raise self.error
        _check(rc)
