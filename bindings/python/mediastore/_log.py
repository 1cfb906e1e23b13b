"""The logging bridge: the library's records go to the ``mediastore`` logger
of :mod:`logging`; the library is loaded through :func:`_lib`, which installs
the default bridge (warnings and errors) on first use."""

from __future__ import annotations

import atexit
import ctypes
import logging
from ctypes import byref, c_void_p
from typing import Any, Dict, List, Optional

from . import _native
from ._common import _text
from ._errors import _check

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


def redact(text: str) -> str:
    """The library's redaction of secrets in text (signatures, credentials, tokens)."""
    out = c_void_p()
    _check(_native.load().ms_redact(byref(out), _text(text, "text")))
    return _native.take_string(out)
