"""Upload grants through the Python binding: issue, verify, check, consume."""

from __future__ import annotations

import datetime as dt
import time

import pytest

import mediastore

SECRET = "grant-test-secret"


def test_issue_verify_and_check() -> None:
    token = mediastore.issue_upload_grant(
        SECRET, context={"keep_id": 42}, max_bytes=1000, kinds=["photo"], expires_in=dt.timedelta(minutes=5)
    )
    assert token.startswith("msg1.")
    g = mediastore.verify_upload_grant(SECRET, token)
    assert g.context == {"keep_id": "42"}
    assert g.max_bytes == 1000 and g.kinds == ("photo",) and not g.single_use
    left = g.expires_at - dt.datetime.now(tz=dt.timezone.utc)
    assert dt.timedelta(minutes=4) < left <= dt.timedelta(minutes=5)
    assert len(g.nonce) == 32
    g.check({"keep_id": "42", "circle_id": "7"}, 999, "photo")
    g.check({"keep_id": 42})  # size and kind not known yet
    refusals = [
        ({"keep_id": "43"}, 10, "photo", "context"),
        ({}, 10, "photo", "context"),
        ({"keep_id": "42"}, 1001, "photo", ""),
        ({"keep_id": "42"}, 10, "video", ""),
    ]
    for context, size, kind, word in refusals:
        with pytest.raises(mediastore.PermissionDeniedError, match="upload grant") as e:
            g.check(context, size, kind)
        assert word in str(e.value)
    with pytest.raises(mediastore.InvalidArgumentError):
        g.check({"keep_id": "42"}, -1)
    with pytest.raises(mediastore.InvalidArgumentError):
        g.check({"keep_id": "42"}, 1, "sound")


def test_bad_tokens_are_auth_failures() -> None:
    token = mediastore.issue_upload_grant(SECRET, expires_in=60)
    for bad_secret, bad_token in [
        ("another secret", token),
        (SECRET, None),
        (SECRET, ""),
        (SECRET, "msg1.not-a-token"),
        (SECRET, token[:-2] + ("AA" if token[-2:] != "AA" else "BB")),
    ]:
        with pytest.raises(mediastore.AuthFailedError, match="upload grant"):
            mediastore.verify_upload_grant(bad_secret, bad_token)
    short = mediastore.issue_upload_grant(SECRET, expires_in=1)
    time.sleep(2.1)
    with pytest.raises(mediastore.AuthFailedError, match="expired"):
        mediastore.verify_upload_grant(SECRET, short)


def test_issue_refuses_bad_claims() -> None:
    for kwargs in [
        {"expires_in": 0},
        {"expires_in": dt.timedelta(days=8)},
        {"kinds": ["sound"]},
        {"nonce": "XYZ"},
        {"max_bytes": -1},
    ]:
        with pytest.raises(mediastore.InvalidArgumentError):
            mediastore.issue_upload_grant(SECRET, **kwargs)
    with pytest.raises(mediastore.InvalidArgumentError):
        mediastore.issue_upload_grant("", expires_in=60)


def test_single_use_grant_is_consumed_once_across_services(tmp_path) -> None:
    cfg = {
        "MEDIA_ROOT": str(tmp_path / "media"),
        "MEDIA_QUEUE_BACKEND": "sqlite",
        "MEDIA_QUEUE_URL": str(tmp_path / "queue.sqlite3"),
    }
    token = mediastore.issue_upload_grant(SECRET, single_use=True, expires_in=60)
    g = mediastore.verify_upload_grant(SECRET, token)
    assert g.single_use
    with mediastore.Uploads(cfg) as a, mediastore.Uploads(cfg) as b:
        a.consume_grant(g)
        with pytest.raises(mediastore.PermissionDeniedError, match="reused"):
            b.consume_grant(g)
        many = mediastore.verify_upload_grant(SECRET, mediastore.issue_upload_grant(SECRET, expires_in=60))
        a.consume_grant(many)
        b.consume_grant(many)  # not single use: nothing recorded
