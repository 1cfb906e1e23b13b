"""Upload grants: who may upload what, as a short signed token the host
issues (:func:`issue_upload_grant`) and the upload endpoint verifies
(:func:`verify_upload_grant`, :meth:`UploadGrant.check`,
``Uploads.consume_grant``). The token format and the refusals are those of
``include/mediastore/grant.hpp``: :class:`AuthFailedError` for a missing,
malformed, altered or expired token (HTTP 401), :class:`PermissionDeniedError`
for one that does not allow the upload or was used already (HTTP 403).
Every function here is thread-safe."""

from __future__ import annotations

import ctypes
import datetime as _dt
from ctypes import POINTER, byref, c_void_p
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

from . import _native
from ._common import _Pairs, _s, _text, _time_ms
from ._errors import InvalidArgumentError, _check
from ._log import _lib
from ._media import _KINDS, _kind

#: How long a grant issued without ``expires_in`` is valid: 15 minutes.
DEFAULT_GRANT_LIFETIME = _dt.timedelta(minutes=15)


def _kinds_mask(kinds: Iterable[str]) -> int:
    mask = 0
    for k in kinds:
        mask |= 1 << _kind(k)
    return mask


@dataclass(frozen=True)
class UploadGrant:
    """The claims of a verified grant (what :func:`verify_upload_grant` returns)."""

    context: Dict[str, str] = field(default_factory=dict)  # the upload must carry these
    max_bytes: int = 0  # 0: no limit of its own (MAX_UPLOAD_SIZE still applies)
    kinds: Tuple[str, ...] = ()  # "photo", "video"; empty: any
    expires_at: _dt.datetime = _dt.datetime.fromtimestamp(0, tz=_dt.timezone.utc)
    single_use: bool = False
    nonce: str = ""

    def _native(self, keep: List[Any]) -> "_native.UploadGrant":
        g = _native.UploadGrant()
        pairs = _Pairs(self.context, "context")
        keep.append(pairs)
        if pairs.count:
            g.context_names, g.context_values, g.context_count = pairs.names, pairs.values, pairs.count
        g.max_bytes = self.max_bytes
        g.kinds = _kinds_mask(self.kinds)
        g.expires_at_ms = int(self.expires_at.timestamp() * 1000)
        g.single_use = 1 if self.single_use else 0
        nonce = _text(self.nonce, "nonce")
        keep.append(nonce)
        g.nonce = nonce
        return g

    def check(
        self,
        context: Optional[Mapping[str, Any]] = None,
        size: Optional[int] = None,
        media_kind: Optional[str] = None,
    ) -> None:
        """Raises :class:`PermissionDeniedError` naming the reason unless the
        grant allows an upload with this context (every entry of the grant's
        context present with the same value), size and kind; None: not known
        yet. Does not use up a single-use grant (``Uploads.consume_grant``)."""
        keep: List[Any] = []
        g = self._native(keep)
        pairs = _Pairs(context, "context")
        if size is not None and size < 0:
            raise InvalidArgumentError(_native.MS_E_INVALID_ARGUMENT, f"size must be >= 0, got {size}")
        kind = -1 if media_kind is None else _kind(media_kind)
        _check(
            _lib().ms_upload_grant_check(
                byref(g), pairs.names, pairs.values, pairs.count, -1 if size is None else int(size), kind
            )
        )


def issue_upload_grant(
    secret: Union[str, bytes],
    *,
    context: Optional[Mapping[str, Any]] = None,
    max_bytes: int = 0,
    kinds: Iterable[str] = (),
    expires_in: Union[int, float, _dt.timedelta] = DEFAULT_GRANT_LIFETIME,
    single_use: bool = False,
    nonce: Optional[str] = None,
) -> str:
    """Signs a grant with secret (MEDIA_UPLOAD_GRANT_SECRET) and returns the token.

    context: entries the upload must carry ("keep_id", "circle_id"); values
    are turned into text. expires_in: seconds or a timedelta, at most 7 days
    (default 15 minutes). nonce: 32 lower-case hex digits (default random).
    Raises InvalidArgumentError for an empty secret, a lifetime out of range,
    an unknown kind or a bad nonce.
    """
    seconds = expires_in.total_seconds() if isinstance(expires_in, _dt.timedelta) else float(expires_in)
    if seconds <= 0:
        raise InvalidArgumentError(_native.MS_E_INVALID_ARGUMENT, f"expires_in must be positive, got {expires_in!r}")
    if max_bytes < 0:
        raise InvalidArgumentError(_native.MS_E_INVALID_ARGUMENT, f"max_bytes must be >= 0, got {max_bytes}")
    lib = _lib()
    c = _native.GrantClaims()
    _check(lib.ms_grant_claims_init(byref(c), _native.MS_GRANT_CLAIMS_VERSION))
    pairs = _Pairs(context, "context")
    if pairs.count:
        c.context_names, c.context_values, c.context_count = pairs.names, pairs.values, pairs.count
    c.max_bytes = int(max_bytes)
    c.kinds = _kinds_mask(kinds)
    now = _dt.datetime.now(tz=_dt.timezone.utc)
    c.expires_at_ms = int((now.timestamp() + seconds) * 1000)
    c.single_use = 1 if single_use else 0
    if nonce is not None:
        c.nonce = _text(nonce, "nonce")
    out = c_void_p()
    _check(lib.ms_upload_grant_issue(byref(out), _text(secret, "secret"), byref(c)))
    return _native.take_string(out)


def verify_upload_grant(secret: Union[str, bytes], token: Optional[str]) -> UploadGrant:
    """Checks a token's format, signature and expiry and returns its claims.

    token: as the client sent it (the part after "Bearer "); None or "" is a
    missing grant. Raises AuthFailedError naming the reason.
    """
    lib = _lib()
    out = POINTER(_native.UploadGrant)()
    _check(lib.ms_upload_grant_verify(byref(out), _text(secret, "secret"), _text(token or "", "token")))
    try:
        g = out.contents
        names = {v: k for k, v in _KINDS.items()}
        return UploadGrant(
            context={_s(g.context_names[i]): _s(g.context_values[i]) for i in range(g.context_count)},
            max_bytes=int(g.max_bytes),
            kinds=tuple(names[b] for b in sorted(names) if g.kinds & (1 << b)),
            expires_at=_time_ms(g.expires_at_ms),
            single_use=bool(g.single_use),
            nonce=_s(g.nonce),
        )
    finally:
        lib.ms_upload_grant_free(out)


def _consume(uploads_handle: Any, grant: UploadGrant) -> None:
    """``Uploads.consume_grant``'s call (the service's record store)."""
    keep: List[Any] = []
    g = grant._native(keep)
    _check(_lib().ms_upload_grant_consume(uploads_handle, byref(g)))
