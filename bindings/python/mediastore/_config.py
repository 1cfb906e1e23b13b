"""The configuration: the service's environment variables as a native
``ms_config``."""

from __future__ import annotations

from ctypes import byref, c_uint64, c_void_p
from typing import Callable, Mapping, Optional, Union

from . import _native
from ._common import _Handle, _text
from ._errors import _check
from ._log import _lib


def _with_config(
    config: Union["Config", Mapping[str, Optional[str]], None], use: Callable[[Optional[c_void_p]], None]
) -> None:
    """Calls ``use`` with the handle of ``config``: a Config, a mapping of
    variables (a temporary Config, closed afterwards) or None (the environment)."""
    if config is None:
        use(None)
    elif isinstance(config, Config):
        use(config._h())
    else:
        with Config(config) as cfg:
            use(cfg._h())


class Config(_Handle):
    """A libmediastore configuration: the service's environment variables.

    ``Config({"MEDIA_ROOT": "/srv/media"})`` starts from the defaults and ignores
    the environment; ``Config.from_env(MEDIA_ROOT=...)`` reads the process
    environment, with the given variables overriding it. Not thread-safe while
    being modified.
    """

    _what = "config"
    _free = "ms_config_free"

    def __init__(self, variables: Optional[Mapping[str, Optional[str]]] = None, *, _from_env: bool = False) -> None:
        lib = _lib()
        handle = c_void_p()
        _check(lib.ms_config_from_env(byref(handle)) if _from_env else lib.ms_config_new(byref(handle)))
        self._handle: Optional[c_void_p] = handle
        for name, value in (variables or {}).items():
            self.set(name, value)

    @classmethod
    def from_env(cls, **overrides: Optional[str]) -> "Config":
        """Reads the process environment; keyword arguments override variables."""
        return cls(overrides, _from_env=True)

    def set(self, name: str, value: Optional[str]) -> None:
        """Sets a variable (None unsets it, hiding the environment's value)."""
        raw = None if value is None else _text(str(value), name)
        _check(_lib().ms_config_set(self._h(), _text(name, "variable name"), raw))

    def check(self) -> None:
        """Raises InvalidArgumentError naming the variable if the configuration is inconsistent."""
        _check(_lib().ms_config_check(self._h()))

    def describe(self) -> str:
        """Effective configuration, "NAME=value" per line, secrets masked."""
        out = c_void_p()
        _check(_lib().ms_config_describe(byref(out), self._h()))
        return _native.take_string(out)

    @property
    def max_upload_size(self) -> int:
        """The largest upload this configuration accepts, in bytes (MAX_UPLOAD_SIZE)."""
        out = c_uint64()
        _check(_lib().ms_config_max_upload_size(byref(out), self._h()))
        return int(out.value)
