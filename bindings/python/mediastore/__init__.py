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

Layout: one private module per part, re-exported here (only the names in
``__all__``, plus ``Bytes``, ``Callback``, ``Progress`` and ``logger``, are API):
``_errors`` (exceptions), ``_common`` (argument conversion, handles,
callbacks), ``_log`` (logging bridge, redaction), ``_config``, ``_store``
(storage), ``_media``, ``_uploads`` (upload service, worker, dead letters),
``_migrate``, ``_grants`` (upload grants), ``_version``, and ``_native`` (the ctypes declarations of
``mediastore.h``).
"""

from __future__ import annotations

from ._common import Bytes as Bytes
from ._common import Callback as Callback
from ._common import Progress as Progress
from ._config import Config
from ._errors import (
    AlreadyExistsError,
    AuthFailedError,
    CancelledError,
    ConflictError,
    CorruptMediaError,
    InternalError,
    InvalidArgumentError,
    MediaStoreError,
    MediaStoreTimeoutError,
    NetworkError,
    NotFoundError,
    NotSupportedError,
    PermissionDeniedError,
    StorageIOError,
    ThrottledError,
    TooLargeError,
    UnavailableError,
    UnsupportedMediaError,
)
from ._grants import UploadGrant, issue_upload_grant, verify_upload_grant
from ._log import TRACE, disable_logging, enable_logging, redact
from ._log import logger as logger
from ._media import (
    MediaInfo,
    MediaType,
    ProcessedMedia,
    Thumbnail,
    ThumbnailSpec,
    hamming_distance,
    make_thumbnails,
    process,
    sniff,
    strip_jpeg_metadata,
    validate,
)
from ._migrate import MigrateReport, migrate
from ._store import ListPage, ObjectInfo, Store, validate_key, verify_local_url
from ._uploads import SimilarUpload
from ._uploads import (
    DeadJob,
    DirectRequest,
    DirectUpload,
    StoredObject,
    UploadResult,
    UploadStage,
    UploadState,
    UploadStatus,
    Uploads,
    Worker,
)
from ._version import __version__ as __version__
from ._version import version

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
    "UploadState",
    "UploadStage",
    "Uploads",
    "Worker",
]
__all__ += ["DeadJob", "verify_local_url", "MigrateReport", "migrate"]
__all__ += ["hamming_distance"]
__all__ += ["UploadGrant", "issue_upload_grant", "verify_upload_grant"]
__all__ += ["SimilarUpload"]
__all__ += ["NotSupportedError", "DirectUpload", "DirectRequest"]

# The public classes and functions are defined in the private modules but
# belong to the package: their names (tracebacks, reprs, pickles) stay
# ``mediastore.X`` whichever module holds them.
for _name in __all__:
    _obj = globals()[_name]
    if callable(_obj):
        _obj.__module__ = __name__
del _name, _obj
