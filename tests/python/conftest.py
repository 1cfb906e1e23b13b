"""pytest configuration for the Python binding.

Runs against the build tree: MEDIASTORE_LIBRARY points at libmediastore_c
and PYTHONPATH at bindings/python (tests/python/tests.cmake sets both).
Markers select the ctest entry a test belongs to:
  rgw     needs the RGW test server (ctest fixture `rgw`, MS_RGW_ENV set)
  pip     installs the package into a venv
  django  uses Django (configured here once, in-memory SQLite)
"""

from __future__ import annotations

import logging
import os
import pathlib
import re
from typing import List

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "rgw: needs the RGW test server (ctest fixture rgw)")
    config.addinivalue_line("markers", "pip: installs the package into a virtual environment")


@pytest.fixture
def local_config(tmp_path: pathlib.Path) -> dict:
    return {"MEDIA_ROOT": str(tmp_path / "media"), "MEDIA_URL": "/media/"}


@pytest.fixture
def store(local_config: dict):
    import mediastore

    with mediastore.Store(local_config) as s:
        yield s


def rgw_variables(bucket: str) -> dict:
    """The RGW configuration from the environment ctest sets (MS_RGW_ENV).

    Fails (never skips) when the variables are missing: the rgw tests only run
    under the ctest fixture that starts the server.
    """
    names = ["MEDIA_STORAGE_BACKEND", "MINIO_ENDPOINT", "MINIO_ACCESS_KEY", "MINIO_SECRET_KEY"]
    missing = [n for n in names if not os.environ.get(n)]
    assert not missing, f"RGW variables missing (run through ctest): {missing}"
    v = {n: os.environ[n] for n in names}
    v["MINIO_BUCKET_NAME"] = bucket
    v["MEDIA_AUTO_CREATE_BUCKET"] = "true"
    return v


@pytest.fixture
def rgw_config() -> dict:
    return rgw_variables("ms-python-tests")


class _AllRecords(logging.Handler):
    """Keeps every record of the mediastore logger, formatted with its fields."""

    def __init__(self) -> None:
        super().__init__(level=1)
        self.lines: List[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        fields = getattr(record, "mediastore_fields", {}) or {}
        self.lines.append(record.getMessage() + " " + " ".join(f"{k}={v}" for k, v in fields.items()))


def secret_leaks(lines: List[str], secrets: dict) -> List[str]:
    """Lines holding a secret value, a signature or a token (issue 8)."""
    bad = []
    for line in lines:
        for what, value in secrets.items():
            if value and value in line:
                bad.append(f"{what}: {line}")
        if re.search(r"(?i)signature[\"'=:\s]+(?!REDACTED)[0-9a-f]{16,}", line):
            bad.append(f"signature: {line}")
        if re.search(r"(?i)(x-amz-security-token|x-amz-credential)[=:\s]+(?!REDACTED)[A-Za-z0-9%/]{8,}", line):
            bad.append(f"credential/token: {line}")
    return bad


@pytest.fixture(scope="session", autouse=True)
def secret_grep_whole_run():
    """With MS_SECRET_GREP=1 (the rgw ctest entry): every library record of the
    whole run is captured at trace level and checked for the test secrets."""
    if os.environ.get("MS_SECRET_GREP") != "1":
        yield
        return
    import mediastore

    handler = _AllRecords()
    log = logging.getLogger("mediastore")
    log.addHandler(handler)
    log.setLevel(mediastore.TRACE)
    mediastore.enable_logging(mediastore.TRACE)
    yield
    mediastore.enable_logging(logging.WARNING)
    log.removeHandler(handler)
    secrets = {
        "secret key": os.environ.get("MINIO_SECRET_KEY", ""),
        "whole access key": os.environ.get("MINIO_ACCESS_KEY", ""),
    }
    assert handler.lines, "no library record captured during the run"
    leaks = secret_leaks(handler.lines, secrets)
    assert not leaks, "secrets in log lines:\n" + "\n".join(leaks[:20])
