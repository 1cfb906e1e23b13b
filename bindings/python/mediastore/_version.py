"""Versions: the binding's own (``__version__``, the one place it is written;
pyproject.toml reads it) and the loaded library's (:func:`version`). A test
keeps the two equal for a build of the whole project."""

from __future__ import annotations

from . import _native

__version__ = "0.1.0"


def version() -> str:
    """Version of the loaded library ("0.1.0")."""
    return str(_native.load().ms_version().decode())
