"""The exceptions of the binding: one class per library error code, all
derived from :class:`MediaStoreError`, and the translation of a C return code
(with the thread's last error message) into one of them."""

from __future__ import annotations

from typing import Dict, Optional

from . import _native


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


class NotSupportedError(MediaStoreError):
    """This backend or build does not offer the operation (e.g. direct
    uploads on the local backend)."""


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
    _native.MS_E_NOT_SUPPORTED: NotSupportedError,
}
for _code, _cls in _ERRORS.items():
    setattr(_cls, "code", _code)


def _error(code: int, message: Optional[str] = None) -> MediaStoreError:
    lib = _native.load()
    if message is None:
        raw = lib.ms_error_last()
        message = raw.decode("utf-8", errors="replace") if raw else ""
        if not message:
            message = (lib.ms_strerror(code) or b"unknown").decode()
    err: MediaStoreError = _ERRORS.get(code, MediaStoreError)(code, message)
    return err


def _check(rc: int) -> None:
    if rc != 0:
        raise _error(rc)
