"""The Pythonic API over the C ABI: errors, configuration, storage, hostile input, threads."""

from __future__ import annotations

import ctypes
import datetime as dt
import hashlib
import io
import logging
import os
import threading

import pytest

import mediastore
from mediastore import _native


def test_version_and_library_is_cdll_releasing_the_gil() -> None:
    assert mediastore.version() == "0.1.0"
    lib = _native.load()
    # CDLL (not PyDLL): ctypes releases the GIL around every foreign call.
    assert isinstance(lib, ctypes.CDLL) and not isinstance(lib, ctypes.PyDLL)
    assert lib._func_flags_ & ctypes._FUNCFLAG_PYTHONAPI == 0


def test_exception_hierarchy_carries_codes(store: mediastore.Store) -> None:
    with pytest.raises(mediastore.NotFoundError) as e:
        store.get("missing/thing.txt")
    assert isinstance(e.value, mediastore.MediaStoreError)
    assert isinstance(e.value, FileNotFoundError)
    assert e.value.code == -2 and "missing/thing.txt" in str(e.value)
    assert not e.value.transient
    with pytest.raises(mediastore.InvalidArgumentError) as e2:
        store.put("../escape", b"x")
    assert isinstance(e2.value, ValueError) and e2.value.code == -1
    for cls in (
        mediastore.NetworkError,
        mediastore.MediaStoreTimeoutError,
        mediastore.TooLargeError,
        mediastore.CancelledError,
        mediastore.InternalError,
        mediastore.NotSupportedError,
    ):
        assert issubclass(cls, mediastore.MediaStoreError)


def test_config_variables_and_masking(tmp_path) -> None:
    with mediastore.Config({"MEDIA_ROOT": str(tmp_path)}) as cfg:
        cfg.check()
        assert cfg.max_upload_size == 104857600
        cfg.set("MAX_UPLOAD_SIZE", "2048")
        assert cfg.max_upload_size == 2048
        cfg.set("MEDIA_URL_SIGNING_KEY", "py-signing-secret-123")
        text = cfg.describe()
        assert str(tmp_path) in text and "py-signing-secret-123" not in text
        cfg.set("MAX_UPLOAD_SIZE", "many")
        with pytest.raises(mediastore.InvalidArgumentError, match="MAX_UPLOAD_SIZE"):
            cfg.check()
        with pytest.raises(mediastore.InvalidArgumentError):
            cfg.set("lower_case", "x")
    with pytest.raises(mediastore.InvalidArgumentError, match="closed"):
        cfg.check()


def test_config_from_env_overrides(monkeypatch, tmp_path) -> None:
    monkeypatch.setenv("MEDIA_ROOT", str(tmp_path / "from-env"))
    monkeypatch.setenv("MAX_UPLOAD_SIZE", "777")
    with mediastore.Config.from_env(MAX_UPLOAD_SIZE="999") as cfg:
        assert cfg.max_upload_size == 999
        assert str(tmp_path / "from-env") in cfg.describe()
    monkeypatch.setenv("MAX_UPLOAD_SIZE", "not-a-number")
    with pytest.raises(mediastore.InvalidArgumentError, match="MAX_UPLOAD_SIZE"):
        mediastore.Config.from_env()


def test_put_get_stat_metadata_and_ranges(store: mediastore.Store) -> None:
    store.put(
        "docs/a.txt",
        b"hello world",
        content_type="text/plain",
        cache_control="max-age=60",
        metadata={"owner": "alice", "caption": "caf\u00e9"},
    )
    assert store.get("docs/a.txt") == b"hello world"
    assert store.get("docs/a.txt", offset=6) == b"world"
    assert store.get("docs/a.txt", offset=0, length=5) == b"hello"
    assert store.get("docs/a.txt", offset=100) == b""
    info = store.stat("docs/a.txt")
    assert info.size == 11 and info.content_type == "text/plain"
    assert info.metadata == {"owner": "alice", "caption": "caf\u00e9"}
    assert info.last_modified.tzinfo is not None
    assert abs(info.last_modified - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(hours=1)
    assert store.exists("docs/a.txt") and not store.exists("docs/b.txt")
    store.put("docs/empty", b"")
    assert store.get("docs/empty") == b""
    store.put("docs/mv", memoryview(bytearray(b"abc")))
    assert store.get("docs/mv") == b"abc"
    with store.open("docs/a.txt") as f:
        assert f.read() == b"hello world"
    # open() reads ranges on demand: a 4-byte buffer makes every read a ranged GET.
    with store.open("docs/a.txt", buffer_size=4) as f:
        f.seek(6)
        assert f.read(3) == b"wor"
        assert f.seek(-2, io.SEEK_END) == 9 and f.read() == b"ld"
        assert f.read(5) == b""
    with pytest.raises(FileNotFoundError):
        store.open("docs/missing")


def test_streaming_file_objects(store: mediastore.Store, tmp_path) -> None:
    payload = os.urandom(3 * 1024 * 1024 + 17)
    seen = []
    store.upload_fileobj("big/blob.bin", io.BytesIO(payload), progress=lambda d, t: seen.append((d, t)))
    assert seen and seen[-1][0] == len(payload)
    out = io.BytesIO()
    store.download_fileobj("big/blob.bin", out)
    assert out.getvalue() == payload
    part = io.BytesIO()
    store.download_fileobj("big/blob.bin", part, offset=10, length=100)
    assert part.getvalue() == payload[10:110]
    # boto3's convention: bytes since the previous call, on uploads and downloads.
    steps: list = []
    store.upload_fileobj("big/cb.bin", io.BytesIO(payload), callback=steps.append)
    assert len(steps) >= 1 and all(s > 0 for s in steps) and sum(steps) == len(payload)
    down: list = []
    store.download_fileobj("big/cb.bin", io.BytesIO(), callback=down.append)
    assert len(down) >= 1 and sum(down) == len(payload)

    # A callback that raises fails the operation with its exception.
    def boom(_n: int) -> None:
        raise RuntimeError("callback boom")

    with pytest.raises(RuntimeError, match="callback boom"):
        store.upload_fileobj("big/boom.bin", io.BytesIO(payload), callback=boom)
    assert not store.exists("big/boom.bin")
    with pytest.raises(RuntimeError, match="callback boom"):
        store.download_fileobj("big/cb.bin", io.BytesIO(), callback=boom)

    # A non-seekable source of unknown size.
    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._b = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def read(self, n: int = -1) -> bytes:
            return self._b.read(n)

    store.upload_fileobj("big/pipe.bin", Pipe(payload[:5000]))
    assert store.get("big/pipe.bin") == payload[:5000]

    src = tmp_path / "in.bin"
    src.write_bytes(payload[:1000])
    store.put_file("files/in.bin", src)
    dst = tmp_path / "out.bin"
    store.get_file("files/in.bin", dst)
    assert dst.read_bytes() == payload[:1000]


def test_put_with_known_sha256(store: mediastore.Store, tmp_path) -> None:
    data = b"hello, mediastore"
    digest = hashlib.sha256(data).hexdigest()
    wrong = hashlib.sha256(b"other content").hexdigest()

    # The right hash: stored.
    store.put("sha/right.txt", data, sha256=digest)
    assert store.get("sha/right.txt") == data

    # A wrong one: InvalidArgumentError naming the key; nothing stored, an
    # existing object left as it was.
    with pytest.raises(mediastore.InvalidArgumentError, match="sha/wrong.txt") as e:
        store.put("sha/wrong.txt", data, sha256=wrong)
    assert e.value.code == _native.MS_E_INVALID_ARGUMENT
    assert not store.exists("sha/wrong.txt")
    with pytest.raises(mediastore.InvalidArgumentError):
        store.put("sha/right.txt", b"changed", sha256=wrong)
    assert store.get("sha/right.txt") == data

    # Not 64 lower-case hex digits: refused before anything is written.
    for bad in ("abc", digest.upper(), digest + "0", "g" * 64, digest[:-1] + " "):
        with pytest.raises(mediastore.InvalidArgumentError, match="64 lower-case hex"):
            store.put("sha/malformed.txt", data, sha256=bad)
    assert not store.exists("sha/malformed.txt")
    with pytest.raises(mediastore.InvalidArgumentError, match="sha256"):
        store.put("sha/malformed.txt", data, sha256=123)  # type: ignore[arg-type]
    assert not store.exists("sha/malformed.txt")

    # "" means unknown, like None.
    store.put("sha/unknown.txt", data, sha256="")
    assert store.get("sha/unknown.txt") == data

    # The other ways to write take it too.
    store.upload_fileobj("sha/stream.bin", io.BytesIO(data), sha256=digest)
    assert store.get("sha/stream.bin") == data
    with pytest.raises(mediastore.InvalidArgumentError):
        store.upload_fileobj("sha/stream-wrong.bin", io.BytesIO(data), sha256=wrong)
    assert not store.exists("sha/stream-wrong.bin")
    src = tmp_path / "sha.txt"
    src.write_bytes(data)
    store.put_file("sha/file.txt", src, sha256=digest)
    assert store.get("sha/file.txt") == data
    with pytest.raises(mediastore.InvalidArgumentError):
        store.put_file("sha/file-wrong.txt", src, sha256=wrong)
    assert not store.exists("sha/file-wrong.txt")
    key = store.save(data, "photo.txt", sha256=digest)
    assert store.get(key) == data
    with pytest.raises(mediastore.InvalidArgumentError):
        store.save(data, "photo.txt", sha256=wrong)


@pytest.mark.rgw
def test_rgw_put_with_known_sha256(rgw_config: dict) -> None:
    # S3 signs the PUT with the given hash: the server stores the right body
    # and refuses a different one; the form is checked before any request.
    data = os.urandom(4096)
    prefix = f"sha/{os.getpid()}"
    with mediastore.Store(rgw_config) as store:
        store.put(f"{prefix}/right.bin", data, sha256=hashlib.sha256(data).hexdigest())
        assert store.get(f"{prefix}/right.bin") == data
        with pytest.raises(mediastore.NetworkError, match="XAmzContentSHA256Mismatch"):
            store.put(f"{prefix}/wrong.bin", data, sha256=hashlib.sha256(data + b"x").hexdigest())
        assert not store.exists(f"{prefix}/wrong.bin")
        with pytest.raises(mediastore.InvalidArgumentError, match="64 lower-case hex"):
            store.put(f"{prefix}/malformed.bin", data, sha256="ABC")
        assert not store.exists(f"{prefix}/malformed.bin")
        store.remove(f"{prefix}/right.bin")


def test_callback_exceptions_come_back_as_themselves(store: mediastore.Store) -> None:
    class Boom(Exception):
        pass

    class Bad(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def read(self, n: int = -1) -> bytes:
            raise Boom("source broke")

    with pytest.raises(Boom):
        store.upload_fileobj("x/bad.bin", Bad())
    assert not store.exists("x/bad.bin")
    store.put("x/ok.bin", b"12345")

    class BadSink(io.RawIOBase):
        def writable(self) -> bool:
            return True

        def write(self, b) -> int:
            raise Boom("sink broke")

    with pytest.raises(Boom):
        store.download_fileobj("x/ok.bin", BadSink())
    with pytest.raises(mediastore.CancelledError):
        store.put("x/cancel.bin", b"abc", progress=lambda d, t: False)


def test_listing_iterates_pages_and_listdir(store: mediastore.Store) -> None:
    for i in range(7):
        store.put(f"photos/2024/{i:02d}.jpg", b"x" * i)
    store.put("photos/top.txt", b"t")
    keys = [o.key for o in store.list("photos/2024/", page_size=3)]
    assert keys == [f"photos/2024/{i:02d}.jpg" for i in range(7)]
    page = store.list_page(prefix="photos/2024/", max_keys=2)
    assert len(page.objects) == 2 and page.next_page_token
    dirs, files = store.listdir("photos")
    assert dirs == ["2024"] and files == ["top.txt"]
    with pytest.raises(mediastore.InvalidArgumentError):
        store.list_page(max_keys=0)
    with pytest.raises(mediastore.InvalidArgumentError):
        store.list_page(max_keys=10**12)


def test_copy_remove_save_url(store: mediastore.Store) -> None:
    store.put("a/one.txt", b"1", content_type="text/plain")
    store.copy("a/one.txt", "a/two.txt")
    assert store.stat("a/two.txt").content_type == "text/plain"
    store.remove("a/one.txt")
    store.remove("a/one.txt")  # missing: still fine
    assert not store.exists("a/one.txt")
    key = store.save(b"abc", "Holiday Photo.jpg")
    assert key.endswith(".jpg") and store.get(key) == b"abc"
    assert store.url("a/two.txt", 60).endswith("a/two.txt")
    assert store.url("a/two.txt", dt.timedelta(minutes=5))
    for bad in (0, -1, 10**9, 2**70):
        with pytest.raises(mediastore.InvalidArgumentError):
            store.url("a/two.txt", bad)


class _ChunksOnly(io.RawIOBase):
    """A non-seekable stream that refuses to be read whole."""

    def __init__(self, data: bytes) -> None:
        self._data = memoryview(data)
        self.reads = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0 or size > 1 << 20:
            raise AssertionError(f"read({size}): asked for the whole stream")
        self.reads += 1
        chunk, self._data = bytes(self._data[:size]), self._data[size:]
        return chunk


def test_save_streams_file_objects(store: mediastore.Store) -> None:
    data = bytes(range(256)) * 4096  # 1 MiB
    src = _ChunksOnly(data)
    key = store.save(src, "Big Clip.bin")
    assert key.endswith("_Big_Clip.bin") and store.get(key) == data
    assert src.reads > 1
    seekable = io.BytesIO(b"xx" + data)
    seekable.seek(2)
    key2 = store.save(seekable, "b.bin", content_type="application/x-test")
    assert store.get(key2) == data and store.stat(key2).content_type == "application/x-test"

    class Broken(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            raise OSError("disk went away")

    with pytest.raises(OSError, match="disk went away"):
        store.save(Broken(), "c.bin")


@pytest.mark.parametrize(
    "key",
    ["", "/abs", "a/../b", "a//b", "\udcff", "nul\0x", "ctl\x01", "a\\b", "x" * 2000, b"\xff\xfe"],
)
def test_hostile_keys_raise_invalid_argument(store: mediastore.Store, key) -> None:
    for call in (
        lambda: store.put(key, b"x"),
        lambda: store.get(key),
        lambda: store.stat(key),
        lambda: store.exists(key),
        lambda: store.remove(key),
        lambda: store.url(key),
        lambda: mediastore.validate_key(key),
    ):
        with pytest.raises(mediastore.InvalidArgumentError):
            call()


def test_hostile_arguments(store: mediastore.Store) -> None:
    with pytest.raises(mediastore.InvalidArgumentError):
        store.put("k", "a str is not bytes")  # type: ignore[arg-type]
    with pytest.raises(mediastore.InvalidArgumentError):
        store.put("k", b"x", content_type="text/plain\r\nX-Evil: 1")
    with pytest.raises(mediastore.InvalidArgumentError):
        store.put("k", b"x", metadata={"n": "\udc80"})
    with pytest.raises(mediastore.InvalidArgumentError):
        store.put(None, b"x")  # type: ignore[arg-type]
    with pytest.raises(mediastore.InvalidArgumentError):
        store.get("k", offset=-1)
    with pytest.raises(TypeError):
        store.put_file("k", "/x", colour="blue")
    with pytest.raises(mediastore.NotFoundError):
        store.put_file("k", "/definitely/not/here")
    store.close()
    store.close()
    with pytest.raises(mediastore.InvalidArgumentError, match="closed"):
        store.get("k")


def test_threads_share_one_store(store: mediastore.Store) -> None:
    errors = []

    def work(n: int) -> None:
        try:
            for i in range(20):
                key = f"t{n}/{i}.bin"
                data = os.urandom(1000 + i)
                store.put(key, data)
                assert store.get(key) == data
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(list(store.list())) == 160


def test_logging_bridge_routes_records(store: mediastore.Store, caplog) -> None:
    caplog.set_level(mediastore.TRACE, logger="mediastore")
    mediastore.enable_logging(mediastore.TRACE)
    try:
        store.put("logged/a.txt", b"x")
    finally:
        mediastore.enable_logging(logging.WARNING)
    records = [r for r in caplog.records if r.name.startswith("mediastore")]
    assert records, "the library logged nothing at trace level"
    assert any("logged/a.txt" in r.getMessage() for r in records)
    r = records[0]
    assert r.name.startswith("mediastore.") and hasattr(r, "mediastore_component")
    caplog.clear()
    store.put("logged/b.txt", b"x")  # below warning: nothing
    assert not [r for r in caplog.records if r.name.startswith("mediastore")]


def test_redact() -> None:
    text = mediastore.redact("https://h/b/k?X-Amz-Credential=AKIA%2F&X-Amz-Signature=0123456789abcdef")
    assert "0123456789abcdef" not in text and "REDACTED" in text


def test_remove_many_migrate_and_signed_urls(tmp_path) -> None:
    a_cfg = {"MEDIA_ROOT": str(tmp_path / "a"), "MEDIA_URL": "/m/", "MEDIA_URL_SIGNING_KEY": "py-key"}
    with mediastore.Store(a_cfg) as a, mediastore.Store({"MEDIA_ROOT": str(tmp_path / "b")}) as b:
        for i in range(5):
            a.put(f"mig/{i}.txt", str(i).encode())
        url = a.url("mig/1.txt", 300)
        mediastore.verify_local_url(url, "py-key")
        with pytest.raises(mediastore.PermissionDeniedError):
            mediastore.verify_local_url(url, "other-key")
        plan = mediastore.migrate(a, b, prefix="mig/", dry_run=True)
        assert plan.planned == [f"mig/{i}.txt" for i in range(5)] and not b.exists("mig/0.txt")
        stopped = mediastore.migrate(a, b, prefix="mig/", concurrency=1, progress=lambda c: False)
        assert stopped.cancelled and not stopped.ok
        seen = []
        report = mediastore.migrate(a, b, prefix="mig/", progress=lambda c: seen.append(c["copied"]))
        assert report.ok and report.counts["copied"] + report.counts["skipped"] == 5 and seen
        assert b.get("mig/4.txt") == b"4"
        with pytest.raises(mediastore.InvalidArgumentError):
            mediastore.migrate(a, b, concurrency=0)
        a.remove_many([f"mig/{i}.txt" for i in range(5)] + ["mig/none.txt"])
        assert list(a.list("mig/")) == []
        with pytest.raises(mediastore.InvalidArgumentError):
            a.remove_many(["ok", "../bad"])


def test_secret_grep_detects_leaks() -> None:
    # The checker the issue 8 tests rely on finds what it must, and only that.
    from conftest import secret_leaks

    secrets = {"secret key": "s3cr3tValue"}
    assert secret_leaks(["PUT a/b status=200 bytes=5"], secrets) == []
    assert secret_leaks(["url ?X-Amz-Signature=REDACTED&X-Amz-Credential=REDACTED"], secrets) == []
    assert secret_leaks(["auth with s3cr3tValue"], secrets)
    assert secret_leaks(["GET /k?X-Amz-Signature=0123456789abcdef0123"], secrets)
    assert secret_leaks(["Authorization: AWS4-HMAC-SHA256 Signature=0123456789abcdef0123"], secrets)
    assert secret_leaks(["x-amz-security-token: FwoGZXIvYXdzEXAMPLE"], secrets)
    # And the library's own redaction passes it.
    assert secret_leaks([mediastore.redact("GET /k?X-Amz-Signature=0123456789abcdef0123&X-Amz-Security-Token=abcdefghijkl")], secrets) == []
