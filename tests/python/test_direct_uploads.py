"""Direct uploads through the binding: Uploads.create_direct and
Uploads.complete_direct. On the local backend: refusals (NotSupportedError
naming the alternatives, TooLargeError before any plan). On RGW: the test
plays the client with urllib, PUTting a single-PUT plan and a multipart
plan, and completes them (the worker side runs in tests/direct)."""

from __future__ import annotations

import hashlib
import os
import pathlib
import urllib.error
import urllib.request

import pytest

import mediastore
from conftest import rgw_variables


def test_direct_on_local_is_not_supported_and_over_size_gets_no_plan(tmp_path: pathlib.Path) -> None:
    cfg = {"MEDIA_ROOT": str(tmp_path / "media"), "MAX_UPLOAD_SIZE": "1000"}
    with mediastore.Uploads(cfg) as u:
        with pytest.raises(mediastore.TooLargeError, match="MAX_UPLOAD_SIZE"):
            u.create_direct("IMG_1.jpg", 1001)
        with pytest.raises(mediastore.NotSupportedError, match="tus") as e:
            u.create_direct("IMG_1.jpg", 100)
        assert isinstance(e.value, mediastore.MediaStoreError)
        with pytest.raises(mediastore.InvalidArgumentError):
            u.create_direct("IMG_1.jpg", 0)
        with pytest.raises(mediastore.NotFoundError):
            u.complete_direct("00000000-0000-4000-8000-000000000000")
        assert mediastore.UploadState.AWAITING_UPLOAD == "awaiting_upload"


def send(req: mediastore.DirectRequest, body: bytes) -> str:
    """The client's PUT; returns the ETag of the answer."""
    headers = {k: v for k, v in req.headers.items() if k != "Content-Length"}
    r = urllib.request.Request(req.url, data=body, method=req.method, headers=headers)
    with urllib.request.urlopen(r, timeout=30) as answer:
        assert answer.status == 200
        return str(answer.headers["ETag"])


@pytest.mark.rgw
def test_direct_plans_on_rgw_single_and_multipart(tmp_path: pathlib.Path) -> None:
    cfg = rgw_variables("ms-python-direct")
    cfg.update(
        {
            "MEDIA_ROOT": str(tmp_path / "media"),
            "MEDIA_STAGING_PREFIX": "staging-py-" + os.urandom(4).hex() + "/",
            "MEDIA_S3_MULTIPART_THRESHOLD": str(5 << 20),
            "MEDIA_S3_PART_SIZE": str(5 << 20),
        }
    )
    small = os.urandom(3000)
    with mediastore.Uploads(cfg) as u:
        d = u.create_direct(
            "IMG_1.jpg", len(small), content_type="image/jpeg", context={"keep_id": "9"},
            sha256=hashlib.sha256(small).hexdigest(),
        )
        assert not d.multipart and len(d.requests) == 1 and d.key.endswith(d.id)
        assert d.requests[0].headers["Content-Length"] == str(len(small))
        assert u.status(d.id).state == mediastore.UploadState.AWAITING_UPLOAD
        # Another length is refused by the store.
        with pytest.raises(urllib.error.HTTPError) as refused:
            send(d.requests[0], small + b"x")
        assert refused.value.code == 403
        send(d.requests[0], small)
        st = u.complete_direct(d.id)
        assert st.state == mediastore.UploadState.PENDING and st.context["keep_id"] == "9"
        assert u.complete_direct(d.id).state == mediastore.UploadState.PENDING  # idempotent

        big = os.urandom((5 << 20) + 1234)
        m = u.create_direct("VID_1.mp4", len(big), media_kind="video")
        assert m.multipart and [r.size for r in m.requests] == [5 << 20, 1234]
        etags = {r.part_number: send(r, big[r.offset : r.offset + r.size]) for r in m.requests}
        with pytest.raises(mediastore.InvalidArgumentError, match="part 2 of 2 is missing"):
            u.complete_direct(m.id, {1: etags[1]})
        with pytest.raises(mediastore.ConflictError, match="part 2 of 2"):
            u.complete_direct(m.id, {1: etags[1], 2: etags[1]})
        assert u.complete_direct(m.id, etags).state == mediastore.UploadState.PENDING
