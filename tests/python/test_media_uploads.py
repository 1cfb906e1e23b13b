"""Media and uploads through the Python binding (local backend, memory queue)."""

from __future__ import annotations

import dataclasses
import io
import json
import threading
import time

import pytest

import mediastore
from images import bmp, jpeg

HTML = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"


def test_sniff_validate_thumbnails() -> None:
    img = jpeg()
    assert mediastore.sniff(img) is mediastore.MediaType.JPEG
    assert mediastore.sniff(HTML) is mediastore.MediaType.HTML
    assert mediastore.MediaType.PNG.extension == "png"
    info = mediastore.validate(img, "photo.jpg")
    assert (info.type, info.width, info.height, info.kind) == (mediastore.MediaType.JPEG, 640, 480, "photo")
    assert len(info.sha256) == 64
    relabelled = mediastore.validate(img, "photo.png")
    assert relabelled.relabelled and relabelled.filename.endswith(".jpg")
    thumbs = mediastore.make_thumbnails(img)
    assert [t.name for t in thumbs] == ["small", "medium", "large"]
    assert (thumbs[0].width, thumbs[0].height) == (150, 113)
    assert all(t.jpeg[:2] == b"\xff\xd8" for t in thumbs)
    cover = mediastore.make_thumbnails(img, [mediastore.ThumbnailSpec("sq", 50, 50, fit="cover")])
    assert (cover[0].width, cover[0].height) == (50, 50)
    assert mediastore.strip_jpeg_metadata(img)[:2] == b"\xff\xd8"


def test_validation_refusals_carry_reason(tmp_path) -> None:
    cases = [
        (HTML, "a.jpg", mediastore.UnsupportedMediaError, "dangerous_content"),
        (b"", "a.jpg", mediastore.InvalidArgumentError, "empty"),
        (bmp(), "a.bmp", mediastore.UnsupportedMediaError, "type_not_allowed"),
        (jpeg()[:300], "cut.jpg", mediastore.CorruptMediaError, "corrupt"),
    ]
    for data, name, cls, reason in cases:
        with pytest.raises(cls) as e:
            mediastore.validate(data, name)
        assert e.value.reason == reason, (name, e.value.reason, str(e.value))
    with pytest.raises(mediastore.TooLargeError) as e:
        mediastore.validate(jpeg(), "a.jpg", max_upload_size=100)
    assert e.value.reason == "file_too_large"
    p = tmp_path / "img.jpg"
    p.write_bytes(jpeg())
    assert mediastore.validate(p, "img.jpg").width == 640
    assert len(mediastore.make_thumbnails(str(p))) == 3


def test_media_hostile_arguments() -> None:
    with pytest.raises(mediastore.InvalidArgumentError):
        mediastore.validate(jpeg(), "a.jpg", kind="hologram")
    with pytest.raises(mediastore.InvalidArgumentError):
        mediastore.validate(jpeg(), "\udcff.jpg")
    with pytest.raises(mediastore.InvalidArgumentError):
        mediastore.make_thumbnails(jpeg(), [mediastore.ThumbnailSpec("x", 0, 10)])
    with pytest.raises(mediastore.InvalidArgumentError):
        mediastore.make_thumbnails(jpeg(), [mediastore.ThumbnailSpec("x", 10, 10, quality=1000)])
    with pytest.raises(mediastore.InvalidArgumentError):
        mediastore.make_thumbnails(jpeg(), [mediastore.ThumbnailSpec("x", 2**40, 10)])
    with pytest.raises(mediastore.InvalidArgumentError):
        mediastore.make_thumbnails(jpeg(), [mediastore.ThumbnailSpec("x", 10, 10, fit="stretch")])
    with pytest.raises(mediastore.UnsupportedMediaError):
        mediastore.make_thumbnails(HTML)
    with pytest.raises(mediastore.InvalidArgumentError):
        mediastore.strip_jpeg_metadata(HTML)


# An MP4 without its index (no moov box): refused as corrupt.
MP4 = b"\0\0\0\x18ftypisom\0\0\0\0isomisom\0\0\0\x10mdat" + b"\x11" * 8


def test_process_is_validate_and_make_thumbnails_from_one_decode(tmp_path) -> None:
    assert "process" in mediastore.__all__ and "ProcessedMedia" in mediastore.__all__
    img = jpeg()
    p = mediastore.process(img, "photo.jpg")
    assert isinstance(p, mediastore.ProcessedMedia)
    # Validation's verdict, plus the placeholder and perceptual hash the thumbnails give.
    assert len(p.info.thumbhash) > 0 and len(p.info.phash) == 16
    assert dataclasses.replace(p.info, thumbhash="", phash="") == mediastore.validate(img, "photo.jpg")
    assert p.thumbnails == mediastore.make_thumbnails(img)  # the same bytes
    assert {(t.format, t.extension, t.content_type) for t in p.thumbnails} == {("jpeg", "jpg", "image/jpeg")}
    assert mediastore.hamming_distance(p.info.phash, p.info.phash) == 0
    assert mediastore.hamming_distance(p.info.phash, int(p.info.phash, 16) ^ 0b101) == 2
    assert mediastore.hamming_distance(0, 2**64 - 1) == 64
    for bad in ("123", "zzzzzzzzzzzzzzzz", -1, 2**64):
        with pytest.raises(mediastore.InvalidArgumentError):
            mediastore.hamming_distance(bad, 0)
    assert [(t.name, t.width) for t in p.thumbnails] == [("small", 150), ("medium", 300), ("large", 640)]
    path = tmp_path / "img.jpg"
    path.write_bytes(img)
    sq = [mediastore.ThumbnailSpec("sq", 50, 50, fit="cover")]
    from_file = mediastore.process(path, "img.jpg", specs=sq, max_pixels=10**6)
    assert from_file.info.width == 640 and from_file.thumbnails == mediastore.make_thumbnails(str(path), sq)
    with pytest.raises(mediastore.CorruptMediaError, match="no 'moov' box"):
        mediastore.process(MP4, "clip.mp4", "video")


def test_process_refusals_are_validates() -> None:
    cases = [
        (jpeg()[:300], "cut.jpg", {}),
        (HTML, "a.jpg", {}),
        (b"", "a.jpg", {}),
        (jpeg(), "a.jpg", {"max_upload_size": 100}),
    ]
    for data, name, policy in cases:
        with pytest.raises(mediastore.MediaStoreError) as v:
            mediastore.validate(data, name, **policy)
        with pytest.raises(mediastore.MediaStoreError) as e:
            mediastore.process(data, name, **policy)
        assert type(e.value) is type(v.value), name
        assert (e.value.reason, e.value.code, str(e.value)) == (v.value.reason, v.value.code, str(v.value))
    with pytest.raises(mediastore.InvalidArgumentError):
        mediastore.process(jpeg(), "a.jpg", specs=[mediastore.ThumbnailSpec("x", 0, 10)])
    with pytest.raises(mediastore.InvalidArgumentError):
        mediastore.process(jpeg(), "a.jpg", kind="hologram")
    with pytest.raises(mediastore.NotFoundError) as missing:
        mediastore.process("/no/such/file.jpg", "a.jpg")
    assert missing.value.reason == "unreadable"


@pytest.fixture
def uploads(tmp_path):
    cfg = {"MEDIA_ROOT": str(tmp_path / "media"), "MAX_UPLOAD_SIZE": "200000"}
    with mediastore.Uploads(cfg, backoff_base=0.01, backoff_max=0.02) as u:
        yield u


def wait_final(u: mediastore.Uploads, upload_id: str) -> mediastore.UploadStatus:
    for _ in range(600):  # the test's own limit (60 s), not a timing threshold
        st = u.status(upload_id)
        if st.state in ("completed", "failed"):
            return st
        time.sleep(0.1)
    raise AssertionError(f"upload {upload_id} did not finish: {st}")


def test_states_and_stages_are_str_enums_with_the_librarys_names() -> None:
    lib = mediastore._native.load()
    for i, member in enumerate(m for m in mediastore.UploadState if m.name != "UNKNOWN"):
        assert member.value == lib.ms_upload_state_name(i).decode()
    for i, member in enumerate(m for m in mediastore.UploadStage if m.name != "UNKNOWN"):
        assert member.value == lib.ms_upload_stage_name(i).decode()
    done = mediastore.UploadState.COMPLETED
    assert done == "completed" and f"{done}" == "completed" and str(done) == "completed"
    assert {"completed": 1}[done] == 1 and json.dumps(done) == '"completed"'
    assert mediastore.UploadState("failed") is mediastore.UploadState.FAILED


def test_upload_lifecycle_with_worker(uploads: mediastore.Uploads, tmp_path) -> None:
    uid = uploads.submit(jpeg(), "IMG_1.jpg", content_type="image/jpeg", context={"keep_id": "7", "caption": "Hi"})
    st = uploads.status(uid)
    assert st.state is mediastore.UploadState.PENDING and st.stage is mediastore.UploadStage.QUEUED
    assert st.state == "pending" and st.progress_percentage == 0 and st.result is None
    assert st.context == {"keep_id": "7", "caption": "Hi"} and st.original_filename == "IMG_1.jpg"
    bad = uploads.submit(HTML, "evil.jpg")
    with uploads.worker(threads=2, poll_wait=0.05) as w:
        assert w.running
        done = wait_final(uploads, uid)
        failed = wait_final(uploads, bad)
    assert done.state == "completed" and done.progress_percentage == 100
    assert done.result is not None and len(done.result.thumbnails) == 3
    assert [t.format for t in done.result.thumbnails] == ["jpeg"] * 3 and done.result.original.format == ""
    assert len(done.result.metadata["phash"]) == 16 and done.result.metadata["thumbhash"]
    assert (done.result.original.width, done.result.original.height) == (640, 480)
    assert uid in done.result.original.key
    assert failed.state == "failed" and failed.error_code == mediastore.UnsupportedMediaError.code
    assert "evil.jpg" in failed.error_message
    with pytest.raises(mediastore.ConflictError):
        uploads.cancel(uid)
    stats = uploads.stats()
    assert stats["submitted"] == 2 and stats["completed"] == 1 and stats["failed"] == 1
    assert "mediastore_" in uploads.metrics_prometheus()
    assert uploads.dead_letters(10) == []
    report = uploads.cleanup(0)
    assert report["staging_objects_removed"] == 0 and report["multipart_uploads_aborted"] == 0
    with mediastore.Store({"MEDIA_ROOT": str(tmp_path / "media")}) as store:
        for t in done.result.thumbnails:
            assert store.get(t.key)[:2] == b"\xff\xd8"


def test_duplicates_refusal_reason_and_similar(uploads: mediastore.Uploads) -> None:
    photo = jpeg()
    first = uploads.submit(photo, "a.jpg", context={"circle_id": "3"})
    assert uploads.process_next(1, wait=1.0) == 1
    again = uploads.submit(photo, "b.jpg", context={"circle_id": "3"})
    other = uploads.submit(photo, "c.jpg", context={"circle_id": "4"})
    bad = uploads.submit(HTML, "evil.jpg", context={"circle_id": "3"})
    assert uploads.process_next(3, wait=1.0) == 3
    s1, s2, s3, sb = (uploads.status(i) for i in (first, again, other, bad))
    assert s1.state == "completed" and s1.duplicate_of == "" and s1.refusal_reason == ""
    assert s2.state == "completed" and s2.duplicate_of == first
    assert s2.result is not None and s1.result is not None
    assert s2.result.original.key == s1.result.original.key and first in s2.result.original.key
    assert [t.key for t in s2.result.thumbnails] == [t.key for t in s1.result.thumbnails]
    assert s3.duplicate_of == "" and other in s3.result.original.key  # another circle: stored again
    assert sb.state == "failed" and sb.refusal_reason in ("unknown_type", "dangerous_content")
    assert sb.error_code == mediastore.UnsupportedMediaError.code
    near = uploads.similar(first)
    assert near == [mediastore.SimilarUpload(again, 0)]
    assert uploads.similar(first, 64) == near  # the other circle is not searched
    with pytest.raises(mediastore.InvalidArgumentError):
        uploads.similar(first, 65)
    with pytest.raises(mediastore.NotFoundError):
        uploads.similar("00000000-0000-0000-0000-000000000000")
    with pytest.raises(mediastore.ConflictError):
        uploads.similar(uploads.submit(photo, "d.jpg", context={"circle_id": "3"}))


def test_upload_refusals_and_cancel(uploads: mediastore.Uploads, tmp_path) -> None:
    with pytest.raises(mediastore.TooLargeError):
        uploads.submit(b"\xff" * 200001, "big.jpg")
    with pytest.raises(mediastore.InvalidArgumentError):
        uploads.submit(b"", "empty.jpg")
    with pytest.raises(mediastore.NotFoundError):
        uploads.submit(tmp_path / "missing.jpg", "missing.jpg")
    with pytest.raises(mediastore.NotFoundError):
        uploads.status("00000000-0000-0000-0000-000000000000")
    with pytest.raises(mediastore.InvalidArgumentError):
        uploads.status("\udcff")
    with pytest.raises(mediastore.InvalidArgumentError):
        uploads.submit(jpeg(), "a.jpg", media_kind="hologram")
    uid = uploads.submit(jpeg(), "a.jpg")
    uploads.cancel(uid)
    st = uploads.status(uid)
    assert st.state == "failed" and st.error_code == mediastore.CancelledError.code
    p = tmp_path / "from-path.jpg"
    p.write_bytes(jpeg())
    uid2 = uploads.submit(p, "from-path.jpg")
    assert uploads.process_next(1, wait=1.0) == 1
    assert uploads.status(uid2).state == "completed"


def test_upload_options_are_checked(tmp_path) -> None:
    cfg = {"MEDIA_ROOT": str(tmp_path / "media")}
    for kwargs in ({"max_attempts": 0}, {"lease": 1.0, "heartbeat": 2.0}, {"url_expiry": 0}, {"backoff_base": -1}):
        with pytest.raises(mediastore.InvalidArgumentError):
            mediastore.Uploads(cfg, **kwargs)
    with mediastore.Uploads(cfg) as u:
        for threads in (-1, 257):
            with pytest.raises(mediastore.InvalidArgumentError):
                u.worker(threads=threads)
        with pytest.raises(mediastore.InvalidArgumentError):
            u.process_next(0)


def test_process_next_releases_the_gil(uploads: mediastore.Uploads) -> None:
    # While one thread waits inside the library for a job, another Python
    # thread keeps running and submits the job it is waiting for.
    result = []

    def waiter() -> None:
        result.append(uploads.process_next(1, wait=30.0))

    t = threading.Thread(target=waiter)
    t.start()
    time.sleep(0.2)
    uploads.submit(jpeg(), "late.jpg")
    t.join(60)
    assert result == [1]


def test_submit_reads_file_objects_in_chunks(uploads: mediastore.Uploads, tmp_path) -> None:
    data = jpeg()

    class Chunked(io.RawIOBase):
        """A stream that fails if asked for everything at once."""

        def __init__(self) -> None:
            self._b = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def read(self, n: int = -1) -> bytes:
            assert 0 < n <= 1 << 20, f"read({n}): the whole file was asked for"
            return self._b.read(n)

    class OnDisk:
        """Django's TemporaryUploadedFile: a file with a path."""

        def __init__(self, path: str) -> None:
            self._path = path

        def temporary_file_path(self) -> str:
            return self._path

        def read(self, n: int = -1) -> bytes:
            raise AssertionError("submitted by its path, not read")

    (tmp_path / "up.jpg").write_bytes(data)
    ids = [uploads.submit(Chunked(), "a.jpg"), uploads.submit(OnDisk(str(tmp_path / "up.jpg")), "b.jpg")]
    assert uploads.process_next(2, wait=5) == 2
    for uid in ids:
        assert wait_final(uploads, uid).state == "completed"
    assert (tmp_path / "up.jpg").read_bytes() == data  # copied, never moved
