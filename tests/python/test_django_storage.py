"""mediastore.django.MediaStoreStorage against Django 3.2's Storage API,
on the local backend and (marker rgw) on Ceph RGW."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import subprocess
import threading
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

from django.core.exceptions import ImproperlyConfigured, SuspiciousFileOperation  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import override_settings  # noqa: E402
from django.core.files.base import ContentFile  # noqa: E402
from django.core.files.uploadedfile import SimpleUploadedFile  # noqa: E402
from django.utils.module_loading import import_string  # noqa: E402

import mediastore  # noqa: E402
from mediastore.django import MediaStoreStaticStorage, MediaStoreStorage  # noqa: E402
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
        storage.open(name, "a")
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


# -- settings, options and django-storages parity --------------------------


def local_options(tmp_path, **extra):
    return {"MEDIA_STORAGE_BACKEND": "local", "MEDIA_ROOT": str(tmp_path / "media"), **extra}


def test_storages_spelling_options_layer_over_the_environment(tmp_path, monkeypatch) -> None:
    # Django 4.2+ makes the storage as StorageHandler does: BACKEND(**OPTIONS).
    monkeypatch.setenv("MEDIA_URL", "/from-env/")
    storages = {"default": {"BACKEND": "mediastore.django.MediaStoreStorage", "OPTIONS": local_options(tmp_path)}}
    entry = storages["default"]
    storage = import_string(entry["BACKEND"])(**entry["OPTIONS"])
    storage.save("a.txt", ContentFile(b"a"))
    assert (tmp_path / "media" / "a.txt").read_bytes() == b"a"
    assert storage.url("a.txt") == "/from-env/a.txt"  # MEDIA_URL from the environment
    # An option wins over the environment; None unsets the environment's value.
    assert MediaStoreStorage(**local_options(tmp_path, MEDIA_URL="/opt/")).url("a.txt") == "/opt/a.txt"
    assert MediaStoreStorage(**local_options(tmp_path, MEDIA_URL=None)).url("a.txt") == "/media/a.txt"


def test_default_file_storage_spelling(tmp_path) -> None:
    from django.core.files.storage import get_storage_class

    with override_settings(
        DEFAULT_FILE_STORAGE="mediastore.django.MediaStoreStorage",
        MEDIASTORE_OPTIONS=local_options(tmp_path, location="uploads", MEDIA_URL="/m/"),
    ):
        storage = get_storage_class()()
        assert isinstance(storage, MediaStoreStorage)
        assert storage.save("b.txt", ContentFile(b"b")) == "b.txt"
        assert (tmp_path / "media" / "uploads" / "b.txt").read_bytes() == b"b"
        assert storage.url("b.txt") == "/m/uploads/b.txt"
        # Arguments win over the settings.
        assert MediaStoreStorage(location="other").location == "other"


def test_unknown_option_names_are_refused_with_their_name(tmp_path) -> None:
    with pytest.raises(ImproperlyConfigured, match="'file_overwrites'"):
        MediaStoreStorage(**local_options(tmp_path, file_overwrites=True))
    with pytest.raises(ImproperlyConfigured, match="CacheControll"):
        MediaStoreStorage(object_parameters={"CacheControll": "max-age=1"})
    with override_settings(MEDIASTORE_OPTIONS={"locaton": "x"}):
        with pytest.raises(ImproperlyConfigured, match="MEDIASTORE_OPTIONS.*'locaton'"):
            MediaStoreStorage().store
    storage = MediaStoreStorage(**local_options(tmp_path, MEDIA_ROOTT="/nowhere"))
    with pytest.raises(ImproperlyConfigured, match="MEDIA_ROOTT"):
        storage.store
    # The library refuses a misspelt variable too (not ignored).
    with pytest.raises(mediastore.InvalidArgumentError, match="unknown variable name 'MINIO_ENDPONT'"):
        mediastore.Config({"MINIO_ENDPONT": "x"})


def test_location_overwrite_and_object_parameters(tmp_path) -> None:
    class Named(MediaStoreStorage):
        def get_object_parameters(self, name):
            params = super().get_object_parameters(name)
            params["ContentDisposition"] = f'attachment; filename="{os.path.basename(name)}"'
            return params

    storage = Named(
        **local_options(tmp_path, location="/pre/fix/"),
        file_overwrite=True,
        object_parameters={"CacheControl": "max-age=60", "Metadata": {"origin": "test"}},
    )
    assert storage.save("x/y.txt", ContentFile(b"one")) == "x/y.txt"
    assert storage.save("x/y.txt", ContentFile(b"two")) == "x/y.txt"  # kept, replaced
    assert (tmp_path / "media" / "pre" / "fix" / "x" / "y.txt").read_bytes() == b"two"
    info = storage.store.stat("pre/fix/x/y.txt")
    assert info.cache_control == "max-age=60"
    assert info.content_disposition == 'attachment; filename="y.txt"'
    assert info.metadata == {"origin": "test"}
    assert storage.listdir("x") == ([], ["y.txt"])
    assert storage.exists("x/y.txt") and not storage.exists("pre/fix/x/y.txt")
    # Default: another free name.
    plain = MediaStoreStorage(**local_options(tmp_path, location="pre/fix"))
    other = plain.save("x/y.txt", ContentFile(b"three"))
    assert other != "x/y.txt" and plain.open(other).read() == b"three"
    assert plain.open("x/y.txt").read() == b"two"


def test_str_content_is_saved_as_utf8(tmp_path) -> None:
    storage = MediaStoreStorage(**local_options(tmp_path))
    text = "h\u00e9llo \u2603 " * 1000
    name = storage.save("t/text.txt", ContentFile(text))
    assert (tmp_path / "media" / "t" / "text.txt").read_bytes() == text.encode("utf-8")
    assert storage.size(name) == len(text.encode("utf-8"))


def test_urls_custom_domain_and_plain(tmp_path) -> None:
    opts = local_options(tmp_path, MEDIA_URL="/m/", MEDIA_URL_SIGNING_KEY="k3y-for-tests", location="loc")
    storage = MediaStoreStorage(**opts)
    storage.save("u/a b.txt", ContentFile(b"x"))
    assert "sig=" in storage.url("u/a b.txt")
    assert "sig=" not in MediaStoreStorage(**opts, querystring_auth=False).url("u/a b.txt")
    cdn = MediaStoreStorage(**opts, custom_domain="cdn.example.org/")
    assert cdn.url("u/a b.txt") == "https://cdn.example.org/loc/u/a%20b.txt"
    # Response-header overrides need S3's signed URLs: the local backend refuses them.
    with pytest.raises(mediastore.InvalidArgumentError):
        storage.url("u/a b.txt", parameters={"ResponseContentDisposition": "attachment"})
    with pytest.raises(ValueError, match="ResponseContentDispositon"):
        storage.url("u/a b.txt", parameters={"ResponseContentDispositon": "attachment"})


def rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def pattern(i: int) -> bytes:
    # 1 MiB of chunk i, different for every i, made on the fly.
    return hashlib.sha256(i.to_bytes(8, "big")).digest() * (1 << 15)


def streaming_round_trip(storage: MediaStoreStorage, mib: int) -> None:
    """Writes mib MiB through open("wb"), reads it back through open("rb") in
    1 MiB reads, and checks that neither way holds the object in memory."""
    base = rss_bytes()
    peak = base
    expected = hashlib.sha256()
    with storage.open("stream/big.bin", "wb") as f:
        for i in range(mib):
            chunk = pattern(i)
            expected.update(chunk)
            f.write(chunk)
            peak = max(peak, rss_bytes())
    assert storage.size("stream/big.bin") == mib << 20
    got = hashlib.sha256()
    with storage.open("stream/big.bin") as f:
        # Ranged reads: the middle of the object without reading what precedes it.
        f.seek((mib // 2) << 20)
        assert f.read(32) == pattern(mib // 2)[:32]
        f.seek(0)
        while True:
            chunk = f.read(1 << 20)
            if not chunk:
                break
            got.update(chunk)
            peak = max(peak, rss_bytes())
    assert got.hexdigest() == expected.hexdigest()
    # The object is mib MiB; a few buffers of a MiB or so are allowed.
    assert peak - base < 64 << 20, f"RSS grew by {(peak - base) >> 20} MiB streaming {mib} MiB"


def test_streaming_open_local_200_mib(tmp_path) -> None:
    streaming_round_trip(MediaStoreStorage(**local_options(tmp_path)), 200)


def test_a_failed_write_raises_and_stores_nothing(tmp_path) -> None:
    storage = MediaStoreStorage(**local_options(tmp_path))
    f = storage.open("w/.mediastore-tmp.0123456789abcdef", "wb")  # a name the backend refuses
    with pytest.raises(mediastore.InvalidArgumentError, match="reserved"):
        for _ in range(100):
            f.write(b"x" * 100000)
        f.close()
    assert storage.listdir("w") == ([], [])


def collectstatic(tmp_path, options) -> MediaStoreStaticStorage:
    src = tmp_path / "static-src"
    (src / "css").mkdir(parents=True)
    (src / "css" / "site.css").write_text("body { color: red }")
    (src / "app.js").write_text("console.log(1)")
    with override_settings(
        INSTALLED_APPS=["django.contrib.staticfiles"],
        STATIC_URL="/static/",
        STATICFILES_DIRS=[str(src)],
        STATICFILES_STORAGE="mediastore.django.MediaStoreStaticStorage",
        MEDIASTORE_STATIC_OPTIONS=options,
    ):
        call_command("collectstatic", interactive=False, verbosity=0)
        (src / "app.js").write_text("console.log(2)")
        later = dt.datetime.now().timestamp() + 120  # newer than the stored copy, whatever the clock's resolution
        os.utime(src / "app.js", (later, later))
        call_command("collectstatic", interactive=False, verbosity=0)  # replaces, same names
        storage = MediaStoreStaticStorage()
        assert storage.file_overwrite
        assert sorted(storage.listdir("")[1]) == ["app.js"]
        assert storage.open("css/site.css").read() == b"body { color: red }"
        assert storage.open("app.js").read() == b"console.log(2)"
        assert storage.store.stat("static/css/site.css").content_type == "text/css"
        return storage


def test_collectstatic_local(tmp_path) -> None:
    collectstatic(tmp_path, local_options(tmp_path, location="static"))
    assert (tmp_path / "media" / "static" / "css" / "site.css").is_file()


@pytest.mark.rgw
def test_rgw_collectstatic(tmp_path) -> None:
    storage = collectstatic(tmp_path, {**rgw_variables("ms-django-static"), "location": "static"})
    url = storage.url("css/site.css")
    with urllib.request.urlopen(url, timeout=30) as r:
        assert r.read() == b"body { color: red }"
    storage.store.remove_many([o.key for o in storage.store.list("")])


@pytest.mark.rgw
def test_rgw_streaming_and_plain_urls() -> None:
    variables = rgw_variables("ms-django-stream")
    storage = MediaStoreStorage(**variables, location="s")
    streaming_round_trip(storage, 48)
    name = storage.save("u/plain.txt", ContentFile("plain"))
    plain = MediaStoreStorage(**variables, location="s", querystring_auth=False).url(name)
    assert "?" not in plain and plain.endswith("/ms-django-stream/s/u/plain.txt")
    signed = storage.url(name, expire=120)
    assert "X-Amz-Expires=120" in signed
    out = subprocess.run(["curl", "-sf", signed], check=True, capture_output=True, timeout=60).stdout
    assert out == b"plain"
    # "Download original": the asked Content-Disposition, through curl.
    disposition = 'attachment; filename="original name.txt"'
    asked = storage.url(name, parameters={"ResponseContentDisposition": disposition})
    head = subprocess.run(["curl", "-sfi", asked], check=True, capture_output=True, timeout=60).stdout
    headers = {
        k.strip().lower(): v.strip() for k, _, v in (line.decode().partition(":") for line in head.split(b"\r\n")[1:] if b":" in line)
    }
    assert headers.get("content-disposition") == disposition, head[:600]
    assert head.endswith(b"plain")
    cdn = MediaStoreStorage(**variables, location="s", custom_domain="media.example.org", url_protocol="http:")
    assert cdn.url(name) == "http://media.example.org/s/u/plain.txt"
    storage.store.remove_many([o.key for o in storage.store.list("")])


def concurrent_same_name(storage: MediaStoreStorage, rounds: int = 8) -> None:
    """Two writers save the same name at once (file_overwrite=False): two
    distinct names each round, each holding its writer's content."""
    for r in range(rounds):
        barrier = threading.Barrier(2)
        names: dict = {}

        def write(who: str) -> None:
            barrier.wait()
            names[who] = storage.save(f"race/{r}/same.txt", ContentFile(f"{who} {r}".encode()))

        threads = [threading.Thread(target=write, args=(w,)) for w in ("a", "b")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert names["a"] != names["b"], names
        for who, name in names.items():
            with storage.open(name) as f:
                assert f.read() == f"{who} {r}".encode()


def test_concurrent_writers_of_one_name_local(tmp_path) -> None:
    concurrent_same_name(MediaStoreStorage(**local_options(tmp_path)))


@pytest.mark.rgw
def test_concurrent_writers_of_one_name_rgw() -> None:
    storage = MediaStoreStorage(**rgw_variables("ms-django-race"))
    concurrent_same_name(storage)
    storage.store.remove_many([o.key for o in storage.store.list("")])
