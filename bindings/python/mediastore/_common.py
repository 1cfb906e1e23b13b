"""What every part of the binding uses: conversion of Python arguments to C
(text, buffers, integers), the owner of a native handle, and the holder of
Python callbacks during one C call."""

from __future__ import annotations

import ctypes
import datetime as _dt
import os
from ctypes import c_void_p
from typing import Any, Callable, Optional, Tuple, TypeVar, Union

from . import _native
from ._errors import InvalidArgumentError, MediaStoreError, _check

Bytes = Union[bytes, bytearray, memoryview]
_H = TypeVar("_H", bound="_Handle")
Progress = Callable[[int, int], Optional[bool]]
"""Progress callback (done, total or 0 if unknown); returning False cancels."""


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
