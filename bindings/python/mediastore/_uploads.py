"""Uploads: the upload service (:class:`Uploads`: submit, status, cancel,
cleanup, stats, dead letters; the lifecycle: end hook, ended_since, wait,
list_by_context, retry, redrive) and the threads that process its jobs
(:class:`Worker`)."""

from __future__ import annotations

import ctypes
import datetime as _dt
import enum
import logging
import shutil
import tempfile
import os
from ctypes import POINTER, byref, c_size_t, c_void_p
from dataclasses import dataclass
from typing import IO, Any, Callable, Dict, List, Mapping, Optional, Union

from . import _native
from ._common import _Pairs, Bytes, _buffer, _Handle, _s, _text, _time_ms
from ._config import Config, _with_config
from ._errors import InvalidArgumentError, _check
from ._log import _lib
from ._grants import UploadGrant, _consume
from ._media import ThumbnailSpec, _kind, _specs

_logger = logging.getLogger("mediastore")
# Every end-hook callback ever installed stays alive: a worker thread may
# still be calling a replaced one.
_all_end_callbacks: List[Any] = []


class _StrEnum(str, enum.Enum):
    """A str-valued Enum that compares, hashes, prints and serialises (JSON,
    Django fields) as its string value: ``UploadState.COMPLETED ==
    "completed"``."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, spec: str) -> str:
        return format(str(self.value), spec)


class UploadState(_StrEnum):
    """Where an upload is (ms_upload_state). UNKNOWN: a state this binding
    does not know (a newer library)."""

    PENDING = "pending"
    PROCESSING = "processing"
    RETRYING = "retrying"
    COMPLETED = "completed"
    FAILED = "failed"
    AWAITING_UPLOAD = "awaiting_upload"
    UNKNOWN = "unknown"


class UploadStage(_StrEnum):
    """The processing step an upload is at (ms_upload_stage)."""

    QUEUED = "queued"
    VALIDATING = "validating"
    STORING_ORIGINAL = "storing_original"
    MAKING_THUMBNAILS = "making_thumbnails"
    STORING_THUMBNAILS = "storing_thumbnails"
    DONE = "done"
    SCANNING = "scanning"
    DEDUPLICATING = "deduplicating"
    UNKNOWN = "unknown"


def _member(cls: Any, name: str) -> Any:
    try:
        return cls(name)
    except ValueError:
        return cls.UNKNOWN


@dataclass(frozen=True)
class StoredObject:
    """One stored file of an upload: the original or a thumbnail (name), its key, URL, size in pixels and bytes."""
    name: str  # "original", "small", "medium", "large"
    key: str
    url: str
    width: int
    height: int
    bytes: int
    content_type: str
    format: str = ""  # a thumbnail's encoding: "jpeg", "webp", "avif"; "" for the original


@dataclass(frozen=True)
class UploadResult:
    """What a completed upload stored: the original, its thumbnails and the metadata found."""
    original: StoredObject
    thumbnails: List[StoredObject]
    metadata: Dict[str, str]


@dataclass(frozen=True)
class DirectRequest:
    """One request of a direct upload's plan, made by the client (a browser,
    a phone): ``method`` to ``url`` (presigned: a secret while valid) with
    bytes ``[offset, offset + size)`` of the file and exactly these
    ``headers`` (a browser sets Content-Length itself). ``part_number`` is
    1.. for a part of a multipart plan, 0 for the single PUT."""

    part_number: int
    offset: int
    size: int
    method: str
    url: str
    headers: Dict[str, str]


@dataclass(frozen=True)
class DirectUpload:
    """What :meth:`Uploads.create_direct` returns: the upload ``id`` (state
    ``awaiting_upload``), where the bytes go (``key``), the store's
    multipart ``upload_id`` ("" for a single PUT), the ``part_size`` of every
    part but the last, when the URLs expire, and the ``requests``. For a
    multipart plan the client sends back the ETag header of each part's
    answer to :meth:`Uploads.complete_direct`."""

    id: str
    key: str
    size: int
    upload_id: str
    part_size: int
    expires_at: _dt.datetime
    requests: List[DirectRequest]

    @property
    def multipart(self) -> bool:
        return bool(self.upload_id)


def _direct(c: _native.DirectUpload) -> DirectUpload:
    reqs = []
    for i in range(c.request_count):
        r = c.requests[i]
        headers = {_s(r.header_names[k]): _s(r.header_values[k]) for k in range(r.header_count)}
        reqs.append(DirectRequest(int(r.part_number), int(r.offset), int(r.size), _s(r.method), _s(r.url), headers))
    return DirectUpload(
        id=_s(c.id),
        key=_s(c.key),
        size=int(c.size),
        upload_id=_s(c.upload_id),
        part_size=int(c.part_size),
        expires_at=_time_ms(c.expires_at_ms),
        requests=reqs,
    )


@dataclass(frozen=True)
class UploadStatus:
    """The status of an upload. state and stage are str-valued enums: they
    compare equal to "completed", "validating", ..."""

    id: str
    state: UploadState
    stage: UploadStage
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
    # completed as an exact duplicate: the id of the first upload of the same
    # content in its dedup scope (result then names that upload's objects); "" otherwise
    duplicate_of: str = ""
    # failed because the file was refused: "malware", "unscanned", "too_long",
    # "type_not_allowed", ... (error_code is its code); "" otherwise
    refusal_reason: str = ""


@dataclass(frozen=True)
class SimilarUpload:
    """A near duplicate (:meth:`Uploads.similar`): a completed upload of the same scope and the
    Hamming distance of the perceptual hashes (0..64)."""
    id: str
    distance: int


@dataclass(frozen=True)
class DeadJob:
    """A job the queue gave up on after its last attempt."""
    id: str
    payload: str
    attempts: int
    last_error: str
    died_at: _dt.datetime


def _stored(o: _native.StoredObject, format: str = "") -> StoredObject:
    return StoredObject(_s(o.name), _s(o.key), _s(o.url), o.width, o.height, int(o.bytes), _s(o.content_type), format)


def _pairs(names: Any, values: Any, n: int) -> Dict[str, str]:
    return {_s(names[i]): _s(values[i]) for i in range(n)}


def _status(c: _native.UploadStatus) -> UploadStatus:
    lib = _native.load()
    result = None
    if c.has_result:
        result = UploadResult(
            original=_stored(c.original),
            thumbnails=[_stored(c.thumbnails[i], _s(c.thumbnail_formats[i])) for i in range(c.thumbnail_count)],
            metadata=_pairs(c.metadata_names, c.metadata_values, c.metadata_count),
        )
    return UploadStatus(
        id=_s(c.id),
        state=_member(UploadState, lib.ms_upload_state_name(c.state).decode()),
        stage=_member(UploadStage, lib.ms_upload_stage_name(c.stage).decode()),
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
        duplicate_of=_s(c.duplicate_of),
        refusal_reason=lib.ms_refusal_reason_name(c.refusal_reason).decode() if c.refusal_reason else "",
    )


def _ms(value: Union[int, float, _dt.timedelta], what: str) -> int:
    if isinstance(value, _dt.timedelta):
        value = value.total_seconds()
    if not isinstance(value, (int, float)) or value != value or abs(value) > 2**40:
        raise InvalidArgumentError(_native.MS_E_INVALID_ARGUMENT, f"{what} is out of range: {value!r}")
    return int(value * 1000)


def _seconds(value: Union[int, _dt.timedelta], what: str) -> int:
    if isinstance(value, _dt.timedelta):
        value = int(value.total_seconds())
    if not isinstance(value, int) or not -(2**63) <= value < 2**63:
        raise InvalidArgumentError(_native.MS_E_INVALID_ARGUMENT, f"{what} out of range: {value!r}")
    return value


def _limit(limit: int) -> int:
    if not isinstance(limit, int) or not 0 <= limit < 2**63:
        raise InvalidArgumentError(_native.MS_E_INVALID_ARGUMENT, f"limit out of range: {limit!r}")
    return limit


def _take_list(out: Any) -> List[UploadStatus]:
    try:
        lst = out.contents
        return [_status(lst.items[i].contents) for i in range(lst.count)]
    finally:
        _native.load().ms_upload_status_list_free(out)


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
        # Its threads do not survive fork(): a child gets a clear error.
        self._own(handle)
        self._uploads = uploads  # keeps the service alive on the Python side too

    def start(self) -> None:
        """Starts the threads; InvalidArgumentError if already started."""
        _check(_lib().ms_worker_start(self._h()))

    def stop(self, release: bool = False) -> None:
        """Asks the threads to stop; in-flight jobs are finished (or released)."""
        _check(_lib().ms_worker_stop(self._h(), 1 if release else 0))

    def wait(self) -> None:
        """Waits until every thread has ended (after stop())."""
        _check(_lib().ms_worker_wait(self._h()))

    @property
    def running(self) -> bool:
        """Whether the threads are running."""
        return bool(_lib().ms_worker_running(self._h()))

    def __enter__(self) -> "Worker":
        self.start()
        return self


class Uploads(_Handle):
    """The upload service: submit, status, cancel, similar, workers, stats.

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
        record_ttl: Union[int, _dt.timedelta] = 30 * 24 * 3600,
    ) -> None:
        """record_ttl: seconds (or a timedelta) ended status records and
        idempotency keys are kept; cleanup removes older ones; 0 = forever."""
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
        o.record_ttl_seconds = _seconds(record_ttl, "record_ttl")
        arr, n = _specs(thumbnails)
        if n:
            o.thumbnails = ctypes.cast(arr, POINTER(_native.ThumbnailSpec))
            o.thumbnail_count = n
        if config is not None and not isinstance(config, Config):
            config = dict(config)
        self._options = o
        self._keep = arr
        self._end_cb: Any = None

        def open_native() -> c_void_p:
            handle = c_void_p()
            _with_config(config, lambda c: _check(lib.ms_uploads_open(byref(handle), c, byref(o))))
            if self._end_cb is not None:  # a forked child's new service keeps the hook
                _check(lib.ms_uploads_set_end_hook(handle, self._end_cb, None))
            return handle

        # A child process after fork() opens the service again (its own queue
        # and spool connections) on first use.
        self._own(open_native(), open_native)

    def submit(
        self,
        source: Union[Bytes, str, "os.PathLike[str]", IO[bytes]],
        filename: str,
        *,
        content_type: Optional[str] = None,
        media_kind: str = "photo",
        context: Optional[Mapping[str, str]] = None,
        idempotency_key: Optional[str] = None,
    ) -> str:
        """Accepts an upload durably and queues it; returns its id.

        idempotency_key: a submission with the key of an earlier one (within
        record_ttl) returns the earlier upload's id and keeps nothing, so a
        client that retries a POST does not make two uploads.

        source: bytes, a file path, or a binary file object. A file object is
        read in 1 MiB chunks (never whole): one with a path on disk
        (``temporary_file_path()``, as Django's large uploads have) is
        submitted by that path, any other is copied into a temporary file
        first.
        Raises TooLargeError over MAX_UPLOAD_SIZE, InvalidArgumentError for an
        empty file or a missing name, NotFoundError for a missing path.
        """
        r = _native.UploadRequest()
        lib = _lib()
        _check(lib.ms_upload_request_init(byref(r), _native.MS_UPLOAD_REQUEST_VERSION))
        keep: List[Any] = []
        if not isinstance(source, (str, os.PathLike, bytes, bytearray, memoryview)):
            path = getattr(source, "temporary_file_path", None)
            if callable(path):
                source = str(path())
            else:
                with tempfile.NamedTemporaryFile(prefix="mediastore-submit-") as tmp:
                    shutil.copyfileobj(source, tmp, 1 << 20)
                    tmp.flush()
                    return self.submit(
                        tmp.name, filename, content_type=content_type, media_kind=media_kind, context=context,
                        idempotency_key=idempotency_key,
                    )
        if isinstance(source, (str, os.PathLike)):
            r.source_path = _text(source, "source_path")
        else:
            ptr, n = _buffer(source)
            keep.append(ptr)
            r.data = ctypes.cast(ptr, c_void_p) if ptr is not None else None
            r.data_len = n
        r.original_filename = _text(filename, "filename")
        if content_type is not None:
            r.content_type = _text(content_type, "content_type")
        r.media_kind = _kind(media_kind)
        pairs = _Pairs(context, "context")
        keep.append(pairs)
        if pairs.count:
            r.context_names, r.context_values, r.context_count = pairs.names, pairs.values, pairs.count
        if idempotency_key is not None:
            r.idempotency_key = _text(idempotency_key, "idempotency_key")
        out = c_void_p()
        _check(lib.ms_upload_submit(byref(out), self._h(), byref(r)))
        return _native.take_string(out)

    def create_direct(
        self,
        filename: str,
        size: int,
        *,
        content_type: Optional[str] = None,
        media_kind: str = "photo",
        context: Optional[Mapping[str, str]] = None,
        sha256: Optional[str] = None,
        content_md5: Optional[str] = None,
        expires_in: Union[int, _dt.timedelta] = 3600,
    ) -> DirectUpload:
        """Plans a direct upload: the client sends the file's ``size`` bytes
        straight to the object store with the returned requests, then the
        host calls :meth:`complete_direct`. The upload is recorded as
        ``awaiting_upload``; nothing is queued yet. ``sha256`` (hex) is
        checked by the worker against the bytes that arrived; ``content_md5``
        (base64) is signed into a single PUT. Raises TooLargeError over
        MAX_UPLOAD_SIZE (before any URL is made), NotSupportedError on the
        local backend, InvalidArgumentError for bad arguments."""
        lib = _lib()
        r = _native.DirectUploadRequest()
        _check(lib.ms_direct_upload_request_init(byref(r), _native.MS_DIRECT_UPLOAD_REQUEST_VERSION))
        keep: List[Any] = []
        r.original_filename = _text(filename, "filename")
        if not isinstance(size, int) or not 0 <= size < 2**64:
            raise InvalidArgumentError(_native.MS_E_INVALID_ARGUMENT, f"size out of range: {size!r}")
        r.size = size
        if content_type is not None:
            r.content_type = _text(content_type, "content_type")
        r.media_kind = _kind(media_kind)
        pairs = _Pairs(context, "context")
        keep.append(pairs)
        if pairs.count:
            r.context_names, r.context_values, r.context_count = pairs.names, pairs.values, pairs.count
        if sha256 is not None:
            r.sha256 = _text(sha256, "sha256")
        if content_md5 is not None:
            r.content_md5 = _text(content_md5, "content_md5")
        if isinstance(expires_in, _dt.timedelta):
            expires_in = int(expires_in.total_seconds())
        if not isinstance(expires_in, int) or not -(2**63) <= expires_in < 2**63:
            raise InvalidArgumentError(_native.MS_E_INVALID_ARGUMENT, f"expires_in out of range: {expires_in!r}")
        r.expires_in_seconds = expires_in
        out = POINTER(_native.DirectUpload)()
        _check(lib.ms_uploads_create_direct(byref(out), self._h(), byref(r)))
        return _native.take_struct(out, _direct, "ms_direct_upload_free")

    def complete_direct(
        self,
        upload_id: str,
        parts: Optional[Mapping[int, str]] = None,
        *,
        sha256: Optional[str] = None,
    ) -> UploadStatus:
        """Completes a direct upload once the client has sent every byte:
        ``parts`` maps each part number of a multipart plan to the ETag the
        client got back (none for a single PUT). The store's object is
        checked (parts, ETags, size) and the upload queued as :meth:`submit`
        queues; returns its status. Calling it again returns the current
        status. Raises NotFoundError (nothing uploaded, a part never sent),
        InvalidArgumentError (a part missing), ConflictError (another size
        or ETag; expired or cancelled)."""
        items = sorted((parts or {}).items())
        numbers = (ctypes.c_int * max(1, len(items)))(*[int(n) for n, _ in items])
        etags = (ctypes.c_char_p * max(1, len(items)))(*[_text(e, "etag") for _, e in items])
        out = POINTER(_native.UploadStatus)()
        _check(
            _lib().ms_uploads_complete_direct(
                byref(out),
                self._h(),
                _text(upload_id, "id"),
                ctypes.cast(numbers, POINTER(ctypes.c_int)),
                ctypes.cast(etags, POINTER(ctypes.c_char_p)),
                len(items),
                _text(sha256, "sha256") if sha256 is not None else None,
            )
        )
        return _native.take_struct(out, _status, "ms_upload_status_free")

    def consume_grant(self, grant: UploadGrant) -> None:
        """Uses up a single-use grant (:func:`verify_upload_grant`) in the
        record store of this service's queue backend, atomically across every
        process sharing it: the second call for one grant raises
        PermissionDeniedError ("reused"). A grant that is not single use:
        nothing recorded."""
        _consume(self._h(), grant)

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
        """The service's counters in the Prometheus text format, for a /metrics endpoint."""
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

    # ---- lifecycle ----

    def set_end_hook(self, hook: Optional[Callable[[UploadStatus], Any]]) -> None:
        """Calls hook(status) when an upload ends (completed or failed), once
        its final status is durable: at least once per upload end (again
        after a worker died before acking the job), so the hook must be
        idempotent; :meth:`ended_since` catches what a crash missed. It runs
        on the thread that ended the upload: a worker thread (the library's,
        holding the GIL while it runs), or the caller of :meth:`cancel` and
        :meth:`cleanup`. An exception it raises is logged (logger
        "mediastore") and never reaches the library. None removes the hook."""
        lib = _lib()
        if hook is None:
            self._end_cb = None
            _check(lib.ms_uploads_set_end_hook(self._h(), _native.END_FN(), None))
            return
        if not callable(hook):
            raise InvalidArgumentError(_native.MS_E_INVALID_ARGUMENT, f"hook must be callable, got {hook!r}")
        fn: Callable[[UploadStatus], Any] = hook

        def on_end(st: Any, _payload: Any) -> int:
            try:
                fn(_status(st.contents))
                return 0
            except BaseException:  # noqa: BLE001 - nothing may unwind into C
                try:
                    _logger.exception("the upload end hook raised")
                except BaseException:  # noqa: BLE001
                    pass
                return 1

        cb = _native.END_FN(on_end)
        _all_end_callbacks.append(cb)
        self._end_cb = cb
        _check(lib.ms_uploads_set_end_hook(self._h(), cb, None))

    def ended_since(self, since: Union[_dt.datetime, float, int], limit: int = 100) -> List[UploadStatus]:
        """Uploads that ended (completed or failed) at or after since (a
        datetime, or seconds since the epoch), oldest first, at most limit
        (1..10000): for a periodic reconcile. To page, pass the last one's
        updated_at again (those at that millisecond come again)."""
        if isinstance(since, _dt.datetime):
            if since.tzinfo is None:
                raise InvalidArgumentError(_native.MS_E_INVALID_ARGUMENT, "since must be timezone-aware")
            since = since.timestamp()
        since_ms = _ms(since, "since")
        out = POINTER(_native.UploadStatusList)()
        _check(_lib().ms_upload_ended_since(byref(out), self._h(), since_ms, _limit(limit)))
        return _take_list(out)

    def list_by_context(self, key: str, value: str, limit: int = 100) -> List[UploadStatus]:
        """Uploads whose context holds key = value (an index lookup), oldest
        update first, at most limit (1..10000)."""
        out = POINTER(_native.UploadStatusList)()
        _check(_lib().ms_upload_list_by_context(byref(out), self._h(), _text(key, "key"), _text(str(value), "value"),
                                                _limit(limit)))
        return _take_list(out)

    def wait(self, upload_id: str, timeout: Union[float, _dt.timedelta]) -> UploadStatus:
        """Waits until the upload ended or timeout (seconds) passed; returns
        its status then (check .state). The GIL is released meanwhile."""
        out = POINTER(_native.UploadStatus)()
        _check(_lib().ms_upload_wait(byref(out), self._h(), _text(upload_id, "id"), _ms(timeout, "timeout")))
        return _native.take_struct(out, _status, "ms_upload_status_free")

    def retry(self, upload_id: str) -> None:
        """Queues a failed upload again whose failure was transient.
        ConflictError if it is not failed or failed for a permanent reason;
        NotFoundError if unknown or its staged bytes are gone."""
        _check(_lib().ms_upload_retry(self._h(), _text(upload_id, "id")))

    def redrive_dead_letters(self, limit: int = 100) -> int:
        """Retries up to limit dead-lettered uploads that can run again;
        returns how many were queued."""
        out = c_size_t()
        _check(_lib().ms_upload_redrive_dead_letters(byref(out), self._h(), _limit(limit)))
        return int(out.value)

    def similar(self, upload_id: str, max_distance: int = 10) -> List[SimilarUpload]:
        """Near duplicates of a completed upload within its dedup scope (the
        MEDIA_DEDUP_SCOPE_KEY context value): completed uploads whose perceptual
        hash is at most max_distance (0..64; 10 = the same picture) bits away,
        closest first. Empty without a perceptual hash or scope value.
        InvalidArgumentError (distance out of range, duplicate detection off),
        NotFoundError, ConflictError (not completed)."""
        if not isinstance(max_distance, int) or not -(2**31) <= max_distance < 2**31:
            raise InvalidArgumentError(_native.MS_E_INVALID_ARGUMENT, f"max_distance out of range: {max_distance!r}")
        out = POINTER(_native.SimilarList)()
        _check(_lib().ms_upload_similar(byref(out), self._h(), _text(upload_id, "id"), max_distance))
        try:
            lst = out.contents
            return [SimilarUpload(_s(d.id), d.distance) for d in (lst.items[i] for i in range(lst.count))]
        finally:
            _native.load().ms_similar_list_free(out)

    def worker(self, threads: int = 0, **options: Any) -> Worker:
        """A (not yet started) :class:`Worker`; use ``with uploads.worker() as w:``."""
        return Worker(self, threads=threads, **options)
