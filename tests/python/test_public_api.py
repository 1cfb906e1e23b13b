"""The package's public names and its version.

The package is split into private modules (_errors, _store, _uploads, ...)
re-exported by mediastore/__init__.py; these tests hold the public surface to
the list in public_names.txt, so that moving code between modules cannot add,
drop or rename a public name unnoticed. A deliberate API change edits the
list."""

from __future__ import annotations

import pathlib
import pickle
import re
import types

import mediastore

# mediastore.__all__ as recorded in public_names.txt (one name a line).
PUBLIC = [
    line.strip()
    for line in pathlib.Path(__file__).with_name("public_names.txt").read_text().splitlines()
    if line.strip() and not line.startswith("#")
]
# Public names outside __all__ that callers use: the type aliases of the
# signatures and the logger the library's records go to.
EXTRA = ["Bytes", "Callback", "Progress", "logger"]

# Where names that are only imports come from (typing, ctypes, ...): not API.
_IMPORTED_FROM = ("typing", "ctypes", "_ctypes", "dataclasses", "__future__")


def test_all_is_the_recorded_list() -> None:
    assert len(mediastore.__all__) == len(set(mediastore.__all__)), "a name is listed twice"
    assert sorted(mediastore.__all__) == sorted(PUBLIC)
    for name in PUBLIC + EXTRA:
        assert hasattr(mediastore, name), name


def test_dir_has_no_other_public_names() -> None:
    public = set()
    for name in dir(mediastore):
        obj = getattr(mediastore, name)
        if name.startswith("_") or isinstance(obj, types.ModuleType):
            continue
        if getattr(obj, "__module__", None) in _IMPORTED_FROM:
            continue
        public.add(name)
    assert public == set(PUBLIC) | {"logger"}


def test_public_classes_and_functions_belong_to_the_package() -> None:
    # Tracebacks, reprs and pickles name mediastore.X, not the private module.
    for name in PUBLIC:
        obj = getattr(mediastore, name)
        if callable(obj):
            assert obj.__module__ == "mediastore", name
    spec = mediastore.ThumbnailSpec("small", 150, 150)
    assert pickle.loads(pickle.dumps(spec)) == spec
    assert pickle.loads(pickle.dumps(mediastore.MediaType.JPEG)) is mediastore.MediaType.JPEG
    assert repr(mediastore.NotFoundError) == "<class 'mediastore.NotFoundError'>"


def test_version_is_the_library_version_and_pyproject_reads_it() -> None:
    assert re.fullmatch(r"\d+\.\d+\.\d+", mediastore.__version__)
    # The binding and the C library of one build carry one version.
    assert mediastore.__version__ == mediastore.version()
    # pyproject.toml takes the version from mediastore/_version.py (one place).
    pyproject = (pathlib.Path(mediastore.__file__).parents[1] / "pyproject.toml").read_text()
    assert re.search(r'^dynamic = \["version"\]$', pyproject, re.M), pyproject
    assert 'version = { attr = "mediastore._version.__version__" }' in pyproject
    assert not re.search(r'^version = "', pyproject, re.M), "a second, literal version"
