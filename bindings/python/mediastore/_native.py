"""ctypes declarations of the libmediastore C ABI (capi/include/mediastore/mediastore.h).

Private: use the API of the ``mediastore`` package instead.

The library is loaded lazily, on first use, from (in this order):

1. the path in the ``MEDIASTORE_LIBRARY`` environment variable;
2. ``libmediastore_c.so.0`` through the dynamic loader (installed in a system
   library folder, or found through ``LD_LIBRARY_PATH``);
3. the ``lib`` folders of this Python's prefix and of ``/usr/local``.

It is loaded with :class:`ctypes.CDLL`, so every foreign call releases the GIL
while it runs: long storage calls on several threads run in parallel.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from ctypes import (
    CFUNCTYPE,
    POINTER,
    Structure,
    c_char_p,
    c_int,
    c_int64,
    c_size_t,
    c_uint,
    c_uint64,
    c_void_p,
)
from typing import Any, Callable, List, Optional, TypeVar

SONAME = "libmediastore_c.so.0"
_T = TypeVar("_T")

# Error codes (mediastore.h ms_error_code).
MS_OK = 0
MS_E_INVALID_ARGUMENT = -1
MS_E_NOT_FOUND = -2
MS_E_ALREADY_EXISTS = -3
MS_E_PERMISSION_DENIED = -4
MS_E_AUTH_FAILED = -5
MS_E_TOO_LARGE = -6
MS_E_UNSUPPORTED_MEDIA = -7
MS_E_CORRUPT_MEDIA = -8
MS_E_IO = -9
MS_E_NETWORK = -10
MS_E_TIMEOUT = -11
MS_E_THROTTLED = -12
MS_E_CONFLICT = -13
MS_E_UNAVAILABLE = -14
MS_E_CANCELLED = -15
MS_E_INTERNAL = -16
MS_E_NOT_SUPPORTED = -17

MS_LOG_TRACE, MS_LOG_DEBUG, MS_LOG_INFO, MS_LOG_WARN, MS_LOG_ERROR, MS_LOG_OFF = range(6)

MS_TO_END = 2**64 - 1
MS_PUT_OPTIONS_VERSION = 3  # 2 appended sha256, 3 if_none_match
MS_LIST_OPTIONS_VERSION = 1
MS_URL_OPTIONS_VERSION = 1
MS_VALIDATION_OPTIONS_VERSION = 1
MS_UPLOAD_OPTIONS_VERSION = 2
MS_UPLOAD_REQUEST_VERSION = 2
MS_WORKER_OPTIONS_VERSION = 1
MS_MIGRATE_OPTIONS_VERSION = 1


class LogField(Structure):
    _fields_ = [("name", c_char_p), ("value", c_char_p)]


class LogRecord(Structure):
    _fields_ = [
        ("level", c_int),
        ("component", c_char_p),
        ("message", c_char_p),
        ("fields", POINTER(LogField)),
        ("field_count", c_size_t),
    ]


LOG_FN: Any = CFUNCTYPE(None, POINTER(LogRecord), c_void_p)
PROGRESS_FN: Any = CFUNCTYPE(c_int, c_uint64, c_uint64, c_void_p)
READ_FN: Any = CFUNCTYPE(c_int, c_void_p, c_size_t, POINTER(c_size_t), c_void_p)
WRITE_FN: Any = CFUNCTYPE(c_int, c_void_p, c_size_t, c_void_p)
REWIND_FN: Any = CFUNCTYPE(c_int, c_void_p)


class UrlOptions(Structure):
    _fields_ = [
        ("version", c_uint),
        ("expires_seconds", c_int64),
        ("http_method", c_char_p),
        ("response_header_names", POINTER(c_char_p)),
        ("response_header_values", POINTER(c_char_p)),
        ("response_header_count", c_size_t),
        ("signed_url", c_int),
    ]


class PutOptions(Structure):
    _fields_ = [
        ("version", c_uint),
        ("content_type", c_char_p),
        ("cache_control", c_char_p),
        ("content_disposition", c_char_p),
        ("metadata_names", POINTER(c_char_p)),
        ("metadata_values", POINTER(c_char_p)),
        ("metadata_count", c_size_t),
        ("progress", PROGRESS_FN),
        ("progress_payload", c_void_p),
        # version 2
        ("sha256", c_char_p),
        # version 3
        ("if_none_match", c_int),
    ]


class ObjectInfo(Structure):
    _fields_ = [
        ("key", c_char_p),
        ("size", c_uint64),
        ("content_type", c_char_p),
        ("etag", c_char_p),
        ("last_modified_ms", c_int64),
        ("cache_control", c_char_p),
        ("content_disposition", c_char_p),
        ("metadata_count", c_size_t),
        ("metadata_names", POINTER(c_char_p)),
        ("metadata_values", POINTER(c_char_p)),
    ]


class ListOptions(Structure):
    _fields_ = [
        ("version", c_uint),
        ("prefix", c_char_p),
        ("delimiter", c_char_p),
        ("page_token", c_char_p),
        ("max_keys", c_int),
    ]


class ListPage(Structure):
    _fields_ = [
        ("object_count", c_size_t),
        ("objects", POINTER(ObjectInfo)),
        ("prefix_count", c_size_t),
        ("common_prefixes", POINTER(c_char_p)),
        ("next_page_token", c_char_p),
    ]


class ValidationOptions(Structure):
    _fields_ = [
        ("version", c_uint),
        ("max_upload_size", c_uint64),
        ("max_pixels", c_uint64),
        ("relabel_mismatched_extension", c_int),
        ("decode_images", c_int),
        ("photo_mime_types", POINTER(c_char_p)),
        ("photo_mime_type_count", c_size_t),
        ("video_mime_types", POINTER(c_char_p)),
        ("video_mime_type_count", c_size_t),
    ]


class MediaInfo(Structure):
    _fields_ = [
        ("type", c_int),
        ("mime", c_char_p),
        ("kind", c_int),
        ("byte_size", c_uint64),
        ("sha256", c_char_p),
        ("width", c_int),
        ("height", c_int),
        ("orientation", c_int),
        ("display_width", c_int),
        ("display_height", c_int),
        ("capture_time", c_char_p),
        ("has_gps", c_int),
        ("relabelled", c_int),
        ("filename", c_char_p),
        ("note", c_char_p),
        ("thumbhash", c_char_p),
        ("phash", c_char_p),
    ]


class ThumbnailSpec(Structure):
    _fields_ = [
        ("name", c_char_p),
        ("width", c_int),
        ("height", c_int),
        ("fit", c_int),
        ("quality", c_int),
        ("progressive", c_int),
    ]


class Thumbnail(Structure):
    _fields_ = [
        ("name", c_char_p),
        ("width", c_int),
        ("height", c_int),
        ("jpeg", c_void_p),
        ("jpeg_len", c_size_t),
    ]


class ThumbnailEncoding(Structure):
    _fields_ = [("format", c_char_p), ("extension", c_char_p), ("content_type", c_char_p)]


class ThumbnailList(Structure):
    _fields_ = [("count", c_size_t), ("items", POINTER(Thumbnail)), ("encodings", POINTER(ThumbnailEncoding))]


class UploadOptions(Structure):
    _fields_ = [
        ("version", c_uint),
        ("max_attempts", c_int),
        ("backoff_base_ms", c_int64),
        ("backoff_max_ms", c_int64),
        ("lease_ms", c_int64),
        ("heartbeat_ms", c_int64),
        ("key_prefix", c_char_p),
        ("url_expiry_seconds", c_int64),
        ("queue_name", c_char_p),
        ("thumbnails", POINTER(ThumbnailSpec)),
        ("thumbnail_count", c_size_t),
        ("validation", POINTER(ValidationOptions)),
        ("record_ttl_seconds", c_int64),  # version 2
    ]


class UploadRequest(Structure):
    _fields_ = [
        ("version", c_uint),
        ("source_path", c_char_p),
        ("data", c_void_p),
        ("data_len", c_size_t),
        ("original_filename", c_char_p),
        ("content_type", c_char_p),
        ("media_kind", c_int),
        ("context_names", POINTER(c_char_p)),
        ("context_values", POINTER(c_char_p)),
        ("context_count", c_size_t),
        ("idempotency_key", c_char_p),  # version 2
    ]


MS_DIRECT_UPLOAD_REQUEST_VERSION = 1


class DirectUploadRequest(Structure):
    _fields_ = [
        ("version", c_uint),
        ("original_filename", c_char_p),
        ("size", c_uint64),
        ("content_type", c_char_p),
        ("media_kind", c_int),
        ("context_names", POINTER(c_char_p)),
        ("context_values", POINTER(c_char_p)),
        ("context_count", c_size_t),
        ("sha256", c_char_p),
        ("content_md5", c_char_p),
        ("expires_in_seconds", c_int64),
    ]


class DirectRequest(Structure):
    _fields_ = [
        ("part_number", c_int),
        ("offset", c_uint64),
        ("size", c_uint64),
        ("method", c_char_p),
        ("url", c_char_p),
        ("header_count", c_size_t),
        ("header_names", POINTER(c_char_p)),
        ("header_values", POINTER(c_char_p)),
    ]


class DirectUpload(Structure):
    _fields_ = [
        ("id", c_char_p),
        ("key", c_char_p),
        ("size", c_uint64),
        ("upload_id", c_char_p),
        ("part_size", c_uint64),
        ("expires_at_ms", c_int64),
        ("request_count", c_size_t),
        ("requests", POINTER(DirectRequest)),
    ]


MS_GRANT_CLAIMS_VERSION = 1


class GrantClaims(Structure):
    _fields_ = [
        ("version", c_uint),
        ("context_names", POINTER(c_char_p)),
        ("context_values", POINTER(c_char_p)),
        ("context_count", c_size_t),
        ("max_bytes", c_uint64),
        ("kinds", c_uint),
        ("expires_at_ms", c_int64),
        ("single_use", c_int),
        ("nonce", c_char_p),
    ]


class UploadGrant(Structure):
    _fields_ = [
        ("context_count", c_size_t),
        ("context_names", POINTER(c_char_p)),
        ("context_values", POINTER(c_char_p)),
        ("max_bytes", c_uint64),
        ("kinds", c_uint),
        ("expires_at_ms", c_int64),
        ("single_use", c_int),
        ("nonce", c_char_p),
    ]


class StoredObject(Structure):
    _fields_ = [
        ("name", c_char_p),
        ("key", c_char_p),
        ("url", c_char_p),
        ("width", c_int),
        ("height", c_int),
        ("bytes", c_uint64),
        ("content_type", c_char_p),
    ]


class UploadStatus(Structure):
    _fields_ = [
        ("id", c_char_p),
        ("state", c_int),
        ("stage", c_int),
        ("progress_percentage", c_int),
        ("attempt", c_int),
        ("next_try_ms", c_int64),
        ("last_error", c_char_p),
        ("error_code", c_int),
        ("error_message", c_char_p),
        ("has_result", c_int),
        ("original", StoredObject),
        ("thumbnail_count", c_size_t),
        ("thumbnails", POINTER(StoredObject)),
        ("metadata_count", c_size_t),
        ("metadata_names", POINTER(c_char_p)),
        ("metadata_values", POINTER(c_char_p)),
        ("original_filename", c_char_p),
        ("content_type", c_char_p),
        ("media_kind", c_int),
        ("context_count", c_size_t),
        ("context_names", POINTER(c_char_p)),
        ("context_values", POINTER(c_char_p)),
        ("created_at_ms", c_int64),
        ("updated_at_ms", c_int64),
        ("thumbnail_formats", POINTER(c_char_p)),
        ("duplicate_of", c_char_p),
        ("refusal_reason", c_int),
    ]


class CleanupReport(Structure):
    _fields_ = [
        ("failed_uploads", c_uint64),
        ("abandoned_uploads", c_uint64),
        ("dead_lettered", c_uint64),
        ("spool_files_removed", c_uint64),
        ("objects_removed", c_uint64),
        ("staging_objects_removed", c_uint64),
        ("multipart_uploads_aborted", c_uint64),
        ("records_expired", c_uint64),
        ("expired_direct_uploads", c_uint64),
    ]


class UploadStatusList(Structure):
    _fields_ = [("count", c_size_t), ("items", POINTER(POINTER(UploadStatus)))]


END_FN: Any = CFUNCTYPE(c_int, POINTER(UploadStatus), c_void_p)


class UploadStats(Structure):
    _fields_ = [
        ("submitted", c_uint64),
        ("completed", c_uint64),
        ("failed", c_uint64),
        ("retried", c_uint64),
        ("in_flight", c_uint64),
        ("time_sum_seconds", ctypes.c_double),
        ("time_count", c_uint64),
        ("queue_ready", c_uint64),
        ("queue_delayed", c_uint64),
        ("queue_in_flight", c_uint64),
        ("queue_dead", c_uint64),
        ("uploads_pending", c_uint64),
        ("uploads_processing", c_uint64),
        ("uploads_retrying", c_uint64),
        ("uploads_completed", c_uint64),
        ("uploads_failed", c_uint64),
    ]


class WorkerOptions(Structure):
    _fields_ = [
        ("version", c_uint),
        ("threads", c_int),
        ("poll_wait_ms", c_int64),
        ("maintenance_interval_ms", c_int64),
        ("cleanup_older_than_seconds", c_int64),
    ]


class MigrateProgress(Structure):
    _fields_ = [
        ("listed", c_uint64),
        ("copied", c_uint64),
        ("skipped", c_uint64),
        ("failed", c_uint64),
        ("deleted", c_uint64),
        ("planned", c_uint64),
        ("bytes", c_uint64),
        ("bytes_listed", c_uint64),
        ("listing_done", c_int),
        ("elapsed_ms", c_int64),
    ]


MIGRATE_PROGRESS_FN: Any = CFUNCTYPE(c_int, POINTER(MigrateProgress), c_void_p)


class MigrateOptions(Structure):
    _fields_ = [
        ("version", c_uint),
        ("prefix", c_char_p),
        ("concurrency", c_int),
        ("delete_source", c_int),
        ("dry_run", c_int),
        ("journal_path", c_char_p),
        ("journal_scope", c_char_p),
        ("attempts", c_int),
        ("progress", MIGRATE_PROGRESS_FN),
        ("progress_payload", c_void_p),
    ]


class MigrateReport(Structure):
    _fields_ = [
        ("counts", MigrateProgress),
        ("failure_count", c_size_t),
        ("failure_keys", POINTER(c_char_p)),
        ("failure_codes", POINTER(c_int)),
        ("failure_messages", POINTER(c_char_p)),
        ("planned_count", c_size_t),
        ("planned", POINTER(c_char_p)),
        ("cancelled", c_int),
        ("error_code", c_int),
        ("error_message", c_char_p),
    ]


class DeadJob(Structure):
    _fields_ = [
        ("id", c_char_p),
        ("payload", c_char_p),
        ("attempts", c_int),
        ("last_error", c_char_p),
        ("died_at_ms", c_int64),
    ]


class SimilarUpload(Structure):
    _fields_ = [("id", c_char_p), ("distance", c_int)]


class SimilarList(Structure):
    _fields_ = [("count", c_size_t), ("items", POINTER(SimilarUpload))]


class DeadJobList(Structure):
    _fields_ = [("count", c_size_t), ("items", POINTER(DeadJob))]


# ms_media_process(_file): (out_info, out_thumbs, out_reason, <source>, filename, kind, opts, specs, spec_count).
_PROCESS_OUTS = [POINTER(POINTER(MediaInfo)), POINTER(POINTER(ThumbnailList)), POINTER(c_int)]
_PROCESS_ARGS = [c_char_p, c_int, POINTER(ValidationOptions), POINTER(ThumbnailSpec), c_size_t]

# (name, restype, argtypes). Strings the library allocates come back as
# c_void_p so that they can be handed to ms_free.
_FUNCTIONS = [
    ("ms_strerror", c_char_p, [c_int]),
    ("ms_error_last", c_char_p, []),
    ("ms_error_last_code", c_int, []),
    ("ms_error_clear", None, []),
    ("ms_error_is_transient", c_int, [c_int]),
    ("ms_version", c_char_p, []),
    ("ms_free", None, [c_void_p]),
    ("ms_log_set_callback", c_int, [LOG_FN, c_int, c_void_p]),
    ("ms_log_set_level", c_int, [c_int]),
    ("ms_log_get_level", c_int, []),
    ("ms_log_level_name", c_char_p, [c_int]),
    ("ms_redact", c_int, [POINTER(c_void_p), c_char_p]),
    ("ms_config_new", c_int, [POINTER(c_void_p)]),
    ("ms_config_from_env", c_int, [POINTER(c_void_p)]),
    ("ms_config_set", c_int, [c_void_p, c_char_p, c_char_p]),
    ("ms_config_check", c_int, [c_void_p]),
    ("ms_config_describe", c_int, [POINTER(c_void_p), c_void_p]),
    ("ms_config_max_upload_size", c_int, [POINTER(c_uint64), c_void_p]),
    ("ms_config_free", None, [c_void_p]),
    ("ms_put_options_init", c_int, [POINTER(PutOptions), c_uint]),
    ("ms_list_options_init", c_int, [POINTER(ListOptions), c_uint]),
    ("ms_object_info_free", None, [POINTER(ObjectInfo)]),
    ("ms_list_page_free", None, [POINTER(ListPage)]),
    ("ms_store_open", c_int, [POINTER(c_void_p), c_void_p]),
    ("ms_store_close", None, [c_void_p]),
    ("ms_store_backend_name", c_int, [POINTER(c_void_p), c_void_p]),
    ("ms_store_ping", c_int, [c_void_p]),
    ("ms_key_validate", c_int, [c_char_p]),
    ("ms_store_put", c_int, [c_void_p, c_char_p, c_void_p, c_size_t, POINTER(PutOptions)]),
    ("ms_store_put_file", c_int, [c_void_p, c_char_p, c_char_p, POINTER(PutOptions)]),
    (
        "ms_store_put_stream",
        c_int,
        [c_void_p, c_char_p, c_int64, POINTER(PutOptions), READ_FN, REWIND_FN, c_void_p],
    ),
    ("ms_store_save", c_int, [POINTER(c_void_p), c_void_p, c_void_p, c_size_t, c_char_p, POINTER(PutOptions)]),
    (
        "ms_store_save_stream",
        c_int,
        [POINTER(c_void_p), c_void_p, c_char_p, c_int64, POINTER(PutOptions), READ_FN, REWIND_FN, c_void_p],
    ),
    ("ms_store_get", c_int, [POINTER(c_void_p), POINTER(c_size_t), c_void_p, c_char_p, c_uint64, c_uint64]),
    (
        "ms_store_get_stream",
        c_int,
        [c_void_p, c_char_p, c_uint64, c_uint64, WRITE_FN, REWIND_FN, PROGRESS_FN, c_void_p],
    ),
    ("ms_store_get_file", c_int, [c_void_p, c_char_p, c_char_p]),
    ("ms_store_stat", c_int, [POINTER(POINTER(ObjectInfo)), c_void_p, c_char_p]),
    ("ms_store_exists", c_int, [POINTER(c_int), c_void_p, c_char_p]),
    ("ms_store_remove", c_int, [c_void_p, c_char_p]),
    ("ms_store_copy", c_int, [c_void_p, c_char_p, c_char_p]),
    ("ms_store_list", c_int, [POINTER(POINTER(ListPage)), c_void_p, POINTER(ListOptions)]),
    ("ms_store_url", c_int, [POINTER(c_void_p), c_void_p, c_char_p, c_int64]),
    # media
    ("ms_media_sniff", c_int, [c_void_p, c_size_t]),
    ("ms_media_type_mime", c_char_p, [c_int]),
    ("ms_media_type_extension", c_char_p, [c_int]),
    ("ms_refusal_reason_name", c_char_p, [c_int]),
    ("ms_validation_options_init", c_int, [POINTER(ValidationOptions), c_uint]),
    ("ms_media_info_free", None, [POINTER(MediaInfo)]),
    (
        "ms_media_validate_file",
        c_int,
        [POINTER(POINTER(MediaInfo)), POINTER(c_int), c_char_p, c_char_p, c_int, POINTER(ValidationOptions)],
    ),
    (
        "ms_media_validate",
        c_int,
        [POINTER(POINTER(MediaInfo)), POINTER(c_int), c_void_p, c_size_t, c_char_p, c_int, POINTER(ValidationOptions)],
    ),
    ("ms_thumbnail_list_free", None, [POINTER(ThumbnailList)]),
    (
        "ms_thumbnails_make",
        c_int,
        [POINTER(POINTER(ThumbnailList)), c_void_p, c_size_t, POINTER(ThumbnailSpec), c_size_t, c_uint64],
    ),
    (
        "ms_thumbnails_make_file",
        c_int,
        [POINTER(POINTER(ThumbnailList)), c_char_p, POINTER(ThumbnailSpec), c_size_t, c_uint64],
    ),
    ("ms_media_process_file", c_int, _PROCESS_OUTS + [c_char_p] + _PROCESS_ARGS),
    ("ms_media_process", c_int, _PROCESS_OUTS + [c_void_p, c_size_t] + _PROCESS_ARGS),
    ("ms_jpeg_strip_metadata", c_int, [POINTER(c_void_p), POINTER(c_size_t), c_void_p, c_size_t, c_int]),
    ("ms_perceptual_hash_parse", c_int, [POINTER(c_uint64), c_char_p]),
    ("ms_hamming_distance", c_int, [c_uint64, c_uint64]),
    # uploads
    ("ms_upload_state_name", c_char_p, [c_int]),
    ("ms_upload_stage_name", c_char_p, [c_int]),
    ("ms_upload_options_init", c_int, [POINTER(UploadOptions), c_uint]),
    ("ms_uploads_open", c_int, [POINTER(c_void_p), c_void_p, POINTER(UploadOptions)]),
    ("ms_uploads_close", None, [c_void_p]),
    ("ms_upload_request_init", c_int, [POINTER(UploadRequest), c_uint]),
    ("ms_upload_submit", c_int, [POINTER(c_void_p), c_void_p, POINTER(UploadRequest)]),
    ("ms_upload_status_get", c_int, [POINTER(POINTER(UploadStatus)), c_void_p, c_char_p]),
    ("ms_upload_status_free", None, [POINTER(UploadStatus)]),
    ("ms_upload_cancel", c_int, [c_void_p, c_char_p]),
    ("ms_upload_cleanup", c_int, [POINTER(POINTER(CleanupReport)), c_void_p, c_int64]),
    ("ms_upload_stats_get", c_int, [POINTER(POINTER(UploadStats)), c_void_p]),
    ("ms_upload_metrics_prometheus", c_int, [POINTER(c_void_p), c_void_p]),
    ("ms_upload_process_next", c_int, [POINTER(c_size_t), c_void_p, c_size_t, c_int64]),
    ("ms_worker_options_init", c_int, [POINTER(WorkerOptions), c_uint]),
    ("ms_worker_new", c_int, [POINTER(c_void_p), c_void_p, POINTER(WorkerOptions)]),
    ("ms_worker_start", c_int, [c_void_p]),
    ("ms_worker_stop", c_int, [c_void_p, c_int]),
    ("ms_worker_wait", c_int, [c_void_p]),
    ("ms_worker_running", c_int, [c_void_p]),
    ("ms_worker_free", None, [c_void_p]),
    # more storage, migration, dead letters
    ("ms_store_remove_many", c_int, [POINTER(c_size_t), c_void_p, POINTER(c_char_p), c_size_t]),
    ("ms_local_url_verify", c_int, [c_char_p, c_char_p]),
    ("ms_migrate_options_init", c_int, [POINTER(MigrateOptions), c_uint]),
    ("ms_migrate_report_free", None, [POINTER(MigrateReport)]),
    ("ms_migrate", c_int, [POINTER(POINTER(MigrateReport)), c_void_p, c_void_p, POINTER(MigrateOptions)]),
    ("ms_dead_job_list_free", None, [POINTER(DeadJobList)]),
    ("ms_upload_dead_letters", c_int, [POINTER(POINTER(DeadJobList)), c_void_p, c_size_t]),
    ("ms_grant_claims_init", c_int, [POINTER(GrantClaims), c_uint]),
    ("ms_upload_grant_issue", c_int, [POINTER(c_void_p), c_char_p, POINTER(GrantClaims)]),
    ("ms_upload_grant_verify", c_int, [POINTER(POINTER(UploadGrant)), c_char_p, c_char_p]),
    ("ms_upload_grant_free", None, [POINTER(UploadGrant)]),
    (
        "ms_upload_grant_check",
        c_int,
        [POINTER(UploadGrant), POINTER(c_char_p), POINTER(c_char_p), c_size_t, c_int64, c_int],
    ),
    ("ms_upload_grant_consume", c_int, [c_void_p, POINTER(UploadGrant)]),
    ("ms_similar_list_free", None, [POINTER(SimilarList)]),
    ("ms_upload_similar", c_int, [POINTER(POINTER(SimilarList)), c_void_p, c_char_p, c_int]),
    # upload lifecycle
    ("ms_uploads_set_end_hook", c_int, [c_void_p, END_FN, c_void_p]),
    ("ms_upload_status_list_free", None, [POINTER(UploadStatusList)]),
    ("ms_upload_ended_since", c_int, [POINTER(POINTER(UploadStatusList)), c_void_p, c_int64, c_size_t]),
    ("ms_upload_list_by_context", c_int, [POINTER(POINTER(UploadStatusList)), c_void_p, c_char_p, c_char_p, c_size_t]),
    ("ms_upload_wait", c_int, [POINTER(POINTER(UploadStatus)), c_void_p, c_char_p, c_int64]),
    ("ms_upload_retry", c_int, [c_void_p, c_char_p]),
    ("ms_upload_redrive_dead_letters", c_int, [POINTER(c_size_t), c_void_p, c_size_t]),
    ("ms_direct_upload_request_init", c_int, [POINTER(DirectUploadRequest), c_uint]),
    ("ms_uploads_create_direct", c_int, [POINTER(POINTER(DirectUpload)), c_void_p, POINTER(DirectUploadRequest)]),
    ("ms_direct_upload_free", None, [POINTER(DirectUpload)]),
    (
        "ms_uploads_complete_direct",
        c_int,
        [
            POINTER(POINTER(UploadStatus)),
            c_void_p,
            c_char_p,
            POINTER(c_int),
            POINTER(c_char_p),
            c_size_t,
            c_char_p,
        ],
    ),
]

# Declarations of parts that a given library build may not have yet
# (media, uploads): bound when present.
_OPTIONAL_FUNCTIONS: List[Any] = [
    ("ms_url_options_init", c_int, [POINTER(UrlOptions), c_uint]),
    ("ms_store_url_with", c_int, [POINTER(c_void_p), c_void_p, c_char_p, POINTER(UrlOptions)]),
]

_lock = threading.Lock()
_lib: Optional[ctypes.CDLL] = None


def _candidates() -> List[str]:
    out = []
    env = os.environ.get("MEDIASTORE_LIBRARY")
    if env:
        return [env]
    out.append(SONAME)
    for prefix in (sys.prefix, sys.base_prefix, "/usr/local", "/usr"):
        for sub in ("lib", "lib64", "lib/x86_64-linux-gnu", "lib/aarch64-linux-gnu"):
            out.append(os.path.join(prefix, sub, SONAME))
    return out


def _bind(lib: ctypes.CDLL) -> None:
    for name, restype, argtypes in _FUNCTIONS:
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    for name, restype, argtypes in _OPTIONAL_FUNCTIONS:
        fn = getattr(lib, name, None)
        if fn is not None:
            fn.restype = restype
            fn.argtypes = argtypes


def load() -> ctypes.CDLL:
    """The loaded library (loads and binds it on first call).

    Raises OSError naming every place tried when it cannot be found.
    """
    global _lib
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is not None:
            return _lib
        errors = []
        for path in _candidates():
            try:
                lib = ctypes.CDLL(path)
            except OSError as e:
                errors.append(f"{path}: {e}")
                continue
            _bind(lib)
            _lib = lib
            return lib
        raise OSError(
            "libmediastore_c not found; install it or set MEDIASTORE_LIBRARY to its path. Tried: "
            + "; ".join(errors)
        )


def has(name: str) -> bool:
    """True if the loaded library exports `name` (parts added in later versions)."""
    return hasattr(load(), name)


def take_string(ptr: c_void_p) -> str:
    """Decodes a library-allocated string and frees it."""
    if not ptr.value:
        return ""
    try:
        return ctypes.string_at(ptr.value).decode("utf-8", errors="replace")
    finally:
        load().ms_free(ptr)


def take_bytes(ptr: c_void_p, size: int) -> bytes:
    """Copies a library-allocated buffer of ``size`` bytes and frees it."""
    try:
        return ctypes.string_at(ptr.value or 0, size) if size else b""
    finally:
        load().ms_free(ptr)


def take_struct(ptr: Any, convert: Callable[[Any], _T], free: str = "ms_free") -> _T:
    """``convert(ptr.contents)`` for a struct the library allocated; then frees
    it with the library function named ``free``."""
    try:
        return convert(ptr.contents)
    finally:
        getattr(load(), free)(ptr)
