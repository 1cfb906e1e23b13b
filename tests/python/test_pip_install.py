"""The package installs offline into a venv (Debian pip + setuptools) and
finds the library through MEDIASTORE_LIBRARY or the dynamic loader."""

from __future__ import annotations

import os
import pathlib
import shutil
import subprocess
import sys

import pytest

pytestmark = pytest.mark.pip

SOURCE = pathlib.Path(__file__).resolve().parents[2] / "bindings" / "python"


def run(cmd, **kw) -> subprocess.CompletedProcess:
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert r.returncode == 0, f"{cmd} failed:\n{r.stdout}\n{r.stderr}"
    return r


def test_pip_install_into_venv() -> None:
    base = pathlib.Path(os.environ.get("MS_PIP_VENV_DIR", "/tmp/ms-pip-test"))
    shutil.rmtree(base, ignore_errors=True)
    base.mkdir(parents=True)
    # Build from a copy: setuptools writes build/ and *.egg-info next to the sources.
    src = base / "src"
    shutil.copytree(SOURCE, src, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    venv = base / "venv"
    run(["/usr/bin/python3", "-m", "venv", "--system-site-packages", str(venv)])
    py = venv / "bin" / "python"
    run([str(py), "-m", "pip", "install", "--no-index", "--no-build-isolation", "--quiet", str(src)])

    lib = os.environ["MEDIASTORE_LIBRARY"]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MEDIASTORE_LIBRARY")}
    probe = (
        "import importlib.metadata, mediastore, mediastore.django, pathlib;"
        "print(mediastore.__file__);"
        "print((pathlib.Path(mediastore.__file__).parent / 'py.typed').exists());"
        "print(mediastore.version());"
        "print(mediastore.__version__);"
        "print(importlib.metadata.version('mediastore'))"
    )
    # Through MEDIASTORE_LIBRARY.
    out = run([str(py), "-c", probe], env=dict(env, MEDIASTORE_LIBRARY=lib), cwd=str(base)).stdout.split()
    assert out[0].startswith(str(venv)), out
    assert out[1] == "True" and out[2] == "0.1.0"
    # The installed distribution's version is the package's __version__ (one place).
    assert out[3] == out[4] == out[2], out
    # Through the dynamic loader (as when installed in a library folder).
    out = run(
        [str(py), "-c", probe], env=dict(env, LD_LIBRARY_PATH=str(pathlib.Path(lib).parent)), cwd=str(base)
    ).stdout.split()
    assert out[2] == "0.1.0"
    # Without either, importing works and the first use names the variable.
    r = subprocess.run(
        [str(py), "-c", "import mediastore\ntry:\n mediastore.version()\nexcept OSError as e: print(e)"],
        env=env,
        capture_output=True,
        text=True,
        cwd=str(base),
    )
    assert r.returncode == 0 and "MEDIASTORE_LIBRARY" in r.stdout, r.stdout + r.stderr
    assert sys.version_info >= (3, 9)
