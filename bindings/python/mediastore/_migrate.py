"""Migration: copying every object of one store into another."""

from __future__ import annotations

from ctypes import POINTER, byref
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import _native
from ._common import _Callbacks, _s, _text
from ._errors import InvalidArgumentError, _check
from ._log import _lib
from ._store import Store


@dataclass(frozen=True)
class MigrateReport:
    """What migrate() did: counts per outcome, the failures, the keys planned (dry run), and whether it was cancelled or failed as a whole."""
    counts: Dict[str, int]
    failures: List[Tuple[str, int, str]]  # (key, code, message), sorted by key
    planned: List[str]
    cancelled: bool
    error_code: int
    error_message: str

    @property
    def ok(self) -> bool:
        """True when nothing failed and the migration ran to its end."""
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
        report = progress

        def cb(p: Any, _payload: Any) -> int:
            try:
                c = p.contents
                return 1 if report({n: getattr(c, n) for n, _ in _native.MigrateProgress._fields_}) is False else 0
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
