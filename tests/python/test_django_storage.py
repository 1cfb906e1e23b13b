"""mediastore.django.MediaStoreStorage against Django 3.2's Storage API,
on the local backend and (marker rgw) on Ceph RGW."""

from __future__ import annotations

import datetime as dt
import os
import urllib.request

import django
import pytest
from django.conf import settings

if not settings.configured:
    settings.configure(
        USE_TZ=True,
        TIME_ZONE="UTC",
        INSTALLED_APPS=[],
        DATABASES={},
        MEDIASTORE_URL_EXPIRY=600,
    )
    django.setup()

from django.core.exceptions import SuspiciousFileOperation  # noqa: E402
from django.core.files.base import ContentFile  # noqa: E402
from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.utils.module_loading import import_string  # noqa: E402

import mediastore  # noqa: E402
from mediastore.django import MediaStoreStorage  # noqa: E402
from conftest import rgw_variables  # noqa: E402


def exercise(storage: MediaStoreStorage) -> None:
    name = storage.save("docs/hello.txt", ContentFile(b"hello django"))
    assert name == "docs/hello.txt"
    assert storage.exists(name) and storage.size(name) == 12
    with storage.open(name) as f:
        assert f.read() == b"hello django"
    # A second save under the same name gets another name.
    other = storage.save("docs/hello.txt", ContentFile(b"second"))
    assert other != name and other.startswith("docs/hello") and storage.exists(other)
    up = SimpleUploadedFile("photo.jpg", b"\xff\xd8 not really a jpeg", content_type="image/jpeg")
    pname = storage.save("photos/2024/photo.jpg", up)
    assert storage.store.stat(pname).content_type == "image/jpeg"
    dirs, files = storage.listdir("")
    assert set(dirs) >= {"docs", "photos"}
    dirs, files = storage.listdir("docs")
    assert dirs == [] and set(files) == {"hello.txt", other.split("/", 1)[1]}
    assert storage.listdir("photos") == (["2024"], [])
    modified = storage.get_modified_time(name)
    assert modified.tzinfo is not None
    assert abs(modified - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(hours=1)
    assert storage.get_created_time(name) == modified
    with pytest.raises(NotImplementedError):
        storage.get_accessed_time(name)
    with pytest.raises(NotImplementedError):
        storage.path(name)
    with pytest.raises(FileNotFoundError):
        storage.size("docs/missing.txt")
    with pytest.raises(FileNotFoundError):
        storage.open("docs/missing.txt")
    with pytest.raises(ValueError):
        storage.open(name, "wb")
    # Big content streams through.
    big = os.urandom(2 * 1024 * 1024 + 3)
    bname = storage.save("big/blob.bin", ContentFile(big))
    with storage.open(bname) as f:
        assert f.read() == big
    storage.delete(name)
    assert not storage.exists(name)
    storage.delete(name)  # deleting twice is fine
    with pytest.raises(ValueError):
        storage.delete("")


def test_local_storage(tmp_path) -> None:
    storage = MediaStoreStorage({"MEDIA_ROOT": str(tmp_path), "MEDIA_URL": "/m/"})
    exercise(storage)
    storage.save("u/x.txt", ContentFile(b"x"))
    assert storage.url("u/x.txt") == "/m/u/x.txt"


def test_local_signed_urls(tmp_path) -> None:
    storage = MediaStoreStorage(
        {"MEDIA_ROOT": str(tmp_path), "MEDIA_URL": "/m/", "MEDIA_URL_SIGNING_KEY": "k3y-for-tests"}, url_expiry=60
    )
    storage.save("u/x.txt", ContentFile(b"x"))
    url = storage.url("u/x.txt")
    assert url.startswith("/m/u/x.txt?") and "sig=" in url


def test_the_backends_own_files_are_not_served(tmp_path) -> None:
    # Django serves files through storage.url()/open(): neither reaches the
    # metadata sidecars or temp files under MEDIA_ROOT, signed or not.
    for cfg in ({}, {"MEDIA_URL_SIGNING_KEY": "k3y-for-tests"}):
        storage = MediaStoreStorage({"MEDIA_ROOT": str(tmp_path / "media"), "MEDIA_URL": "/m/", **cfg})
        storage.save("u/x.txt", ContentFile(b"x"))
        assert (tmp_path / "media" / ".mediastore" / "meta" / "u" / "x.txt").is_file()
        for own in (".mediastore/meta/u/x.txt", ".mediastore", "u/.mediastore-tmp.0123456789abcdef"):
            with pytest.raises(mediastore.InvalidArgumentError, match="reserved"):
                storage.url(own)
            with pytest.raises(mediastore.InvalidArgumentError, match="reserved"):
                storage.open(own)


def test_deconstructible_and_default_file_storage(tmp_path, monkeypatch) -> None:
    storage = MediaStoreStorage(config={"MEDIA_ROOT": str(tmp_path)}, url_expiry=30)
    path, args, kwargs = storage.deconstruct()
    assert path == "mediastore.django.storage.MediaStoreStorage"
    assert kwargs == {"config": {"MEDIA_ROOT": str(tmp_path)}, "url_expiry": 30}
    # Usable as DEFAULT_FILE_STORAGE, configured by MEDIASTORE_CONFIG.
    monkeypatch.setattr(settings, "MEDIASTORE_CONFIG", {"MEDIA_ROOT": str(tmp_path / "default")}, raising=False)
    cls = import_string("mediastore.django.MediaStoreStorage")
    default = cls()
    default.save("a.txt", ContentFile(b"a"))
    assert (tmp_path / "default" / "a.txt").read_bytes() == b"a"
    assert default.url_expiry == 600


def test_storage_errors_are_mediastore_errors(tmp_path) -> None:
    storage = MediaStoreStorage({"MEDIA_ROOT": str(tmp_path)})
    with pytest.raises((SuspiciousFileOperation, mediastore.InvalidArgumentError)):
        storage.save("../escape.txt", ContentFile(b"x"))
    with pytest.raises(mediastore.InvalidArgumentError):
        storage._save("a/../../escape.txt", ContentFile(b"x"))
    with pytest.raises(mediastore.InvalidArgumentError):
        storage.exists("a/../../b")


@pytest.mark.rgw
def test_rgw_storage_presigned_urls() -> None:
    storage = MediaStoreStorage(rgw_variables("ms-django-storage"), url_expiry=300)
    # The bucket belongs to this test: start from empty.
    storage.store.remove_many([o.key for o in storage.store.list("")])
    exercise(storage)
    name = storage.save("presigned/public.txt", ContentFile(b"via presigned url"))
    url = storage.url(name)
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=300" in url
    with urllib.request.urlopen(url, timeout=30) as r:
        assert r.read() == b"via presigned url"
    storage.store.remove_many([o.key for o in storage.store.list("")])
    assert list(storage.store.list("")) == []
