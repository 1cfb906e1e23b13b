"""The keeps API with Django's test client, a real worker and the backend the
environment selects (local, or RGW under the ctest fixture)."""

from __future__ import annotations

import datetime
import io
import os
import struct
import tempfile
import time
import urllib.request
import uuid
from unittest import mock

from django.conf import settings
from django.contrib.auth.models import User
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import TestCase, TransactionTestCase

import mediastore

from . import services
from .models import ApiToken, Circle, CircleMembership, Keep, KeepMedia, MediaUpload


def make_jpeg(width: int = 640, height: int = 480) -> bytes:
    """A real JPEG, from a hand-made BMP through the library's encoder."""
    row = (width * 3 + 3) & ~3
    pixels = bytearray()
    for y in range(height):
        line = bytearray()
        for x in range(width):
            line += bytes(((x * 3) & 0xFF, (y * 3) & 0xFF, 90))
        pixels += line + b"\0" * (row - width * 3)
    bmp = (
        struct.pack("<2sIHHI", b"BM", 54 + len(pixels), 0, 0, 54)
        + struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
        + bytes(pixels)
    )
    return mediastore.make_thumbnails(bmp, [mediastore.ThumbnailSpec("img", width, height, quality=90)])[0].jpeg


HOSTILE = b"<!DOCTYPE html><html><body><script>document.location='http://evil'</script></body></html>"


class UploadApiTests(TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        # Run as the README says, with nothing set, the local backend's files
        # go to a temporary folder rather than ./media beside the project.
        cls.media_tmp = None
        if not os.environ.get("MEDIA_ROOT") and os.environ.get("MEDIA_STORAGE_BACKEND", "local") == "local":
            cls.media_tmp = tempfile.TemporaryDirectory(prefix="keeps-test-")
            cls.env = mock.patch.dict(os.environ, {"MEDIA_ROOT": os.path.join(cls.media_tmp.name, "media")})
            cls.env.start()
        # These tests read the database through the status endpoint (sync);
        # the end hook's own writes are EndHookTests'.
        cls.worker = services.start_worker(threads=2, end_hook=False)
        cls.jpeg = make_jpeg()

    @classmethod
    def tearDownClass(cls) -> None:
        services.stop_worker()
        if cls.media_tmp is not None:
            cls.env.stop()
            cls.media_tmp.cleanup()
        super().tearDownClass()

    def setUp(self) -> None:
        self.alice = User.objects.create_user("alice")
        self.mallory = User.objects.create_user("mallory")
        self.circle = Circle.objects.create(name="Family")
        CircleMembership.objects.create(circle=self.circle, user=self.alice)
        self.keep = Keep.objects.create(circle=self.circle, title="Summer", created_by=self.alice)
        self.alice_token = ApiToken.objects.create(user=self.alice).key
        self.mallory_token = ApiToken.objects.create(user=self.mallory).key

    def post(self, token: str, data: bytes, name: str = "IMG_1.jpg", **extra) -> dict:
        form = {
            "keep_id": str(self.keep.pk),
            "media_type": "photo",
            "caption": "At the beach",
            "file": SimpleUploadedFile(name, data, content_type="image/jpeg"),
        }
        form.update(extra)
        return self.client.post("/api/keeps/upload/", form, HTTP_AUTHORIZATION=f"Bearer {token}")

    def status(self, upload_id: str, token: str = None):
        return self.client.get(
            f"/api/keeps/upload/{upload_id}/status/", HTTP_AUTHORIZATION=f"Bearer {token or self.alice_token}"
        )

    def wait_final(self, upload_id: str) -> dict:
        for _ in range(600):  # the test's own limit (60 s), not a timing threshold
            r = self.status(upload_id)
            self.assertEqual(r.status_code, 200, r.content)
            body = r.json()
            if body["status"] in ("completed", "failed"):
                return body
            self.assertIn(body["status"], ("pending", "processing"))
            time.sleep(0.1)
        self.fail(f"upload {upload_id} did not finish")

    def test_member_upload_completes_with_three_thumbnails(self) -> None:
        r = self.post(self.alice_token, self.jpeg)
        self.assertEqual(r.status_code, 202, r.content)
        body = r.json()
        self.assertEqual(body["status"], "pending")
        uuid.UUID(body["id"])
        final = self.wait_final(body["id"])
        self.assertEqual(final["status"], "completed", final)
        self.assertEqual(final["progress_percentage"], 100)
        self.assertIsNone(final["error"])
        self.assertTrue(final["media_file_url"])
        thumbs = final["thumbnail_urls"]
        self.assertEqual(set(thumbs), {"small", "medium", "large"})
        self.assertTrue(all(thumbs.values()), thumbs)
        # Every configured format of every size, each a URL of an object of that type.
        formats = os.environ.get("MEDIA_THUMBNAIL_FORMATS", "jpeg").split(",")
        by_format = final["thumbnails"]
        self.assertEqual(set(by_format), {"small", "medium", "large"})
        types = {"jpeg": "image/jpeg", "webp": "image/webp", "avif": "image/avif"}
        st = services.uploads().status(body["id"])
        self.assertEqual(len(st.result.thumbnails), 3 * len(formats))
        for t in st.result.thumbnails:
            self.assertEqual(list(by_format[t.name]), formats)
            self.assertTrue(by_format[t.name][t.format])
            self.assertEqual(t.content_type, types[t.format])
            self.assertTrue(t.key.endswith("." + {"jpeg": "jpg"}.get(t.format, t.format)), t.key)
            self.assertEqual(default_storage.size(t.key), t.bytes)
        self.assertEqual(by_format["small"]["jpeg"], thumbs["small"])
        self.assertTrue(final["thumbhash"])
        self.assertEqual(len(final["phash"]), 16)
        media = KeepMedia.objects.get(upload_id=body["id"])
        self.assertEqual((media.keep, media.caption, media.width, media.height), (self.keep, "At the beach", 640, 480))
        self.assertEqual(media.size, len(self.jpeg))
        for f in (media.file, media.thumbnail_small, media.thumbnail_medium, media.thumbnail_large):
            self.assertTrue(default_storage.exists(f.name), f.name)
        with default_storage.open(media.file.name) as f:
            self.assertEqual(f.read(), self.jpeg)
        with default_storage.open(media.thumbnail_small.name) as f:
            small = f.read()
        self.assertEqual(mediastore.validate(small, "s.jpg").width, 150)
        if os.environ.get("MEDIA_STORAGE_BACKEND") in ("minio", "s3"):
            # Private bucket: presigned URLs that work.
            self.assertIn("X-Amz-Signature=", final["media_file_url"])
            with urllib.request.urlopen(final["media_file_url"], timeout=30) as resp:
                self.assertEqual(resp.read(), self.jpeg)
        # Asking again does not make a second KeepMedia.
        self.assertEqual(self.status(body["id"]).json()["keep_media_id"], media.pk)
        self.assertEqual(KeepMedia.objects.filter(upload_id=body["id"]).count(), 1)

    def test_non_member_is_refused(self) -> None:
        before = services.uploads().stats()["submitted"]
        r = self.post(self.mallory_token, self.jpeg)
        self.assertEqual(r.status_code, 403, r.content)
        self.assertEqual(MediaUpload.objects.count(), 0)
        self.assertEqual(services.uploads().stats()["submitted"], before)
        # Without or with a bad token: 401.
        self.assertEqual(self.client.post("/api/keeps/upload/", {"keep_id": self.keep.pk}).status_code, 401)
        self.assertEqual(self.post("not-a-token", self.jpeg).status_code, 401)

    def test_file_over_max_upload_size_is_refused_before_processing(self) -> None:
        # A small limit of the test's own (the view reads MAX_UPLOAD_SIZE from
        # the environment on every request), so nothing big is sent.
        self.assertIsNone(getattr(settings, "MEDIASTORE_CONFIG", None), "the project reads the environment")
        limit = 1 << 20
        with mock.patch.dict(os.environ, {"MAX_UPLOAD_SIZE": str(limit)}):
            self.assertEqual(services.max_upload_size(), limit)
            before = services.uploads().stats()["submitted"]
            r = self.post(self.alice_token, b"\xff\xd8" + b"\0" * limit, name="huge.jpg")
        self.assertEqual(r.status_code, 413, r.content)
        self.assertIn("huge.jpg", r.json()["error"])
        self.assertEqual(MediaUpload.objects.count(), 0)
        self.assertEqual(services.uploads().stats()["submitted"], before)

    def test_hostile_file_ends_failed_with_reason(self) -> None:
        r = self.post(self.alice_token, HOSTILE, name="innocent.jpg")
        self.assertEqual(r.status_code, 202, r.content)
        final = self.wait_final(r.json()["id"])
        self.assertEqual(final["status"], "failed")
        self.assertIn("HTML", final["error"])
        self.assertIsNone(final["media_file_url"])
        self.assertFalse(KeepMedia.objects.exists())

    def test_unknown_id_is_404(self) -> None:
        self.assertEqual(self.status(str(uuid.uuid4())).status_code, 404)
        self.assertEqual(self.client.get("/api/keeps/upload/not-a-uuid/status/").status_code, 404)
        # Someone else's upload is not visible either.
        r = self.post(self.alice_token, self.jpeg)
        self.assertEqual(self.status(r.json()["id"], token=self.mallory_token).status_code, 404)

    def test_bad_requests(self) -> None:
        self.assertEqual(self.post(self.alice_token, self.jpeg, keep_id="").status_code, 400)
        self.assertEqual(self.post(self.alice_token, self.jpeg, keep_id="999999").status_code, 404)
        self.assertEqual(self.post(self.alice_token, self.jpeg, media_type="hologram").status_code, 400)
        r = self.client.post(
            "/api/keeps/upload/", {"keep_id": self.keep.pk}, HTTP_AUTHORIZATION=f"Bearer {self.alice_token}"
        )
        self.assertEqual(r.status_code, 400)
        self.assertEqual(self.post(self.alice_token, b"", name="empty.jpg").status_code, 400)


class EndHookTests(TransactionTestCase):
    """The worker writes MediaUpload and KeepMedia itself, through the end
    hook, with no client polling; reconcile catches what a hook missed.
    TransactionTestCase: the worker threads' connections see committed rows."""

    @classmethod
    def setUpClass(cls) -> None:
        super().setUpClass()
        cls.media_tmp = None
        if not os.environ.get("MEDIA_ROOT") and os.environ.get("MEDIA_STORAGE_BACKEND", "local") == "local":
            cls.media_tmp = tempfile.TemporaryDirectory(prefix="keeps-test-")
            cls.env = mock.patch.dict(os.environ, {"MEDIA_ROOT": os.path.join(cls.media_tmp.name, "media")})
            cls.env.start()
        services.start_worker(threads=2)  # with the end hook
        cls.jpeg = make_jpeg()

    @classmethod
    def tearDownClass(cls) -> None:
        services.stop_worker()
        services.uploads().set_end_hook(None)
        if cls.media_tmp is not None:
            cls.env.stop()
            cls.media_tmp.cleanup()
        super().tearDownClass()

    def setUp(self) -> None:
        services.uploads().set_end_hook(services.on_upload_end)
        self.alice = User.objects.create_user("alice")
        self.circle = Circle.objects.create(name="Family")
        CircleMembership.objects.create(circle=self.circle, user=self.alice)
        self.keep = Keep.objects.create(circle=self.circle, title="Summer", created_by=self.alice)
        self.token = ApiToken.objects.create(user=self.alice).key

    def post(self, data: bytes, name: str) -> str:
        form = {"keep_id": str(self.keep.pk), "media_type": "photo", "caption": "Hook",
                "file": SimpleUploadedFile(name, data, content_type="image/jpeg")}
        r = self.client.post("/api/keeps/upload/", form, HTTP_AUTHORIZATION=f"Bearer {self.token}")
        self.assertEqual(r.status_code, 202, r.content)
        self.assertEqual(r.json()["status"], "pending")
        return r.json()["id"]

    def wait_row(self, upload_id: str, status: str) -> MediaUpload:
        """Reads the database only (never the status endpoint)."""
        for _ in range(600):  # the test's own limit (60 s), not a timing threshold
            row = MediaUpload.objects.filter(pk=upload_id).first()
            if row is not None and row.status == status:
                return row
            time.sleep(0.1)
        self.fail(f"upload {upload_id} never became {status} in the database")

    def test_rows_appear_through_the_hook_with_no_status_poll(self) -> None:
        with mock.patch.object(services, "sync", side_effect=AssertionError("no poll in this test")):
            good = self.post(self.jpeg, "IMG_1.jpg")
            bad = self.post(HOSTILE, "innocent.jpg")
            row = self.wait_row(good, "completed")
            failed = self.wait_row(bad, "failed")
        self.assertEqual(row.progress_percentage, 100)
        media = KeepMedia.objects.get(upload_id=good)
        self.assertEqual((media.keep, media.caption, media.width, media.height), (self.keep, "Hook", 640, 480))
        self.assertTrue(media.thumbnail_small.name and media.thumbnail_large.name)
        self.assertTrue(default_storage.exists(media.file.name))
        self.assertEqual(row.size, len(self.jpeg))  # the view's fields are kept, whoever wrote the row first
        self.assertIn("HTML", failed.error)
        self.assertFalse(KeepMedia.objects.filter(upload_id=bad).exists())
        # A poll afterwards changes nothing: still one KeepMedia.
        r = self.client.get(f"/api/keeps/upload/{good}/status/", HTTP_AUTHORIZATION=f"Bearer {self.token}")
        self.assertEqual(r.json()["keep_media_id"], media.pk)
        self.assertEqual(KeepMedia.objects.filter(upload_id=good).count(), 1)

    def test_an_upload_that_ends_before_its_row_is_written_gets_one(self) -> None:
        # Submitted as the view does, but no MediaUpload row yet: the hook
        # makes it from the upload's context.
        upload_id = services.uploads().submit(
            self.jpeg, "early.jpg", context={"keep_id": str(self.keep.pk), "user_id": str(self.alice.pk),
                                             "caption": "Early"})
        row = self.wait_row(upload_id, "completed")
        self.assertEqual((row.keep, row.uploaded_by, row.caption, row.original_filename),
                         (self.keep, self.alice, "Early", "early.jpg"))
        self.assertEqual(KeepMedia.objects.filter(upload_id=upload_id).count(), 1)

    def test_reconcile_applies_what_the_hook_missed(self) -> None:
        since = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)
        services.uploads().set_end_hook(None)  # as if the worker died between record and hook
        upload_id = self.post(self.jpeg, "IMG_2.jpg")
        self.assertEqual(services.uploads().wait(upload_id, 60).state, "completed")
        self.assertEqual(MediaUpload.objects.get(pk=upload_id).status, "pending")
        self.assertFalse(KeepMedia.objects.filter(upload_id=upload_id).exists())
        out = io.StringIO()
        call_command("reconcile_media", minutes=5, stdout=out)
        self.assertIn("reconciled", out.getvalue())
        self.assertEqual(MediaUpload.objects.get(pk=upload_id).status, "completed")
        self.assertEqual(KeepMedia.objects.filter(upload_id=upload_id).count(), 1)
        self.assertGreaterEqual(services.reconcile(since), 1)  # again: idempotent
        self.assertEqual(KeepMedia.objects.filter(upload_id=upload_id).count(), 1)
