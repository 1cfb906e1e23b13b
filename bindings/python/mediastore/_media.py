"""Media: type detection, validation against a policy, thumbnails,
processing (validation and thumbnails from one decode) and JPEG metadata
stripping."""

from __future__ import annotations

import ctypes
import enum as _enum
import os
from ctypes import POINTER, byref, c_int, c_size_t, c_void_p
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Tuple, Union

from . import _native
from ._common import Bytes, _buffer, _s, _text, _u64
from ._errors import InvalidArgumentError, _check, _error
from ._log import _lib


class MediaType(_enum.IntEnum):
    """What content really is (mirrors ms_media_type)."""

    UNKNOWN = 0
    JPEG = 1
    PNG = 2
    GIF = 3
    WEBP = 4
    BMP = 5
    HEIC = 6
    HEIF = 7
    AVIF = 8
    MP4 = 9
    QUICKTIME = 10
    WEBM = 11
    MATROSKA = 12
    HTML = 13
    SVG = 14
    PHP = 15
    ZIP = 16
    PDF = 17
    ELF = 18
    PE = 19

    @property
    def mime(self) -> str:
        """The type's MIME type ("image/jpeg")."""
        return str(_native.load().ms_media_type_mime(int(self)).decode())

    @property
    def extension(self) -> str:
        """The usual file extension without the dot ("jpg")."""
        return str(_native.load().ms_media_type_extension(int(self)).decode())


_KINDS = {"photo": 0, "video": 1}


def _kind(kind: str) -> int:
    if kind not in _KINDS:
        raise InvalidArgumentError(_native.MS_E_INVALID_ARGUMENT, f"media kind must be 'photo' or 'video', got {kind!r}")
    return _KINDS[kind]


@dataclass(frozen=True)
class MediaInfo:
    """What validation learned about an accepted file."""

    type: MediaType
    mime: str
    kind: str
    byte_size: int
    sha256: str
    width: int
    height: int
    orientation: int
    display_width: int
    display_height: int
    capture_time: str
    has_gps: bool
    relabelled: bool
    filename: str
    note: str
    # With thumbnails (process()): the ThumbHash placeholder (base64) and the
    # 64-bit perceptual hash (16 hex digits, see hamming_distance); "" otherwise.
    thumbhash: str = ""
    phash: str = ""


@dataclass(frozen=True)
class ThumbnailSpec:
    """One thumbnail to make: a box, how to fill it, JPEG quality."""

    name: str
    width: int
    height: int
    fit: str = "inside"  # or "cover"
    quality: int = 85
    progressive: bool = False


@dataclass(frozen=True)
class Thumbnail:
    """A thumbnail made by make_thumbnails/process: its spec name, size and JPEG bytes."""
    name: str
    width: int
    height: int
    jpeg: bytes  # the encoded image, in `format` (JPEG from make_thumbnails and process)
    format: str = "jpeg"  # "jpeg", "webp", "avif"
    extension: str = "jpg"
    content_type: str = "image/jpeg"


def sniff(head: Bytes) -> MediaType:
    """The media type of content, from its first bytes (4096 are plenty)."""
    ptr, n = _buffer(head)
    rc = _lib().ms_media_sniff(ptr, n)
    if rc < 0:
        raise _error(rc)
    return MediaType(rc)


def _validation_options(
    max_upload_size: Optional[int],
    max_pixels: Optional[int],
    relabel_mismatched_extension: bool,
    decode_images: bool,
    photo_mime_types: Optional[List[str]],
    video_mime_types: Optional[List[str]],
    keep: List[Any],
) -> _native.ValidationOptions:
    o = _native.ValidationOptions()
    _check(_lib().ms_validation_options_init(byref(o), _native.MS_VALIDATION_OPTIONS_VERSION))
    if max_upload_size is not None:
        o.max_upload_size = _u64(max_upload_size, "max_upload_size")
    if max_pixels is not None:
        o.max_pixels = _u64(max_pixels, "max_pixels")
    o.relabel_mismatched_extension = 1 if relabel_mismatched_extension else 0
    o.decode_images = 1 if decode_images else 0
    for attr, values in (("photo_mime_types", photo_mime_types), ("video_mime_types", video_mime_types)):
        if values:
            arr = (ctypes.c_char_p * len(values))(*[_text(v, attr) for v in values])
            keep.append(arr)
            setattr(o, attr, ctypes.cast(arr, POINTER(ctypes.c_char_p)))
            setattr(o, attr[:-1] + "_count", len(values))
    return o


def _media_info(m: _native.MediaInfo) -> MediaInfo:
    return MediaInfo(
        type=MediaType(m.type),
        mime=_s(m.mime),
        kind="video" if m.kind == 1 else "photo",
        byte_size=int(m.byte_size),
        sha256=_s(m.sha256),
        width=m.width,
        height=m.height,
        orientation=m.orientation,
        display_width=m.display_width,
        display_height=m.display_height,
        capture_time=_s(m.capture_time),
        has_gps=bool(m.has_gps),
        relabelled=bool(m.relabelled),
        filename=_s(m.filename),
        note=_s(m.note),
        thumbhash=_s(m.thumbhash),
        phash=_s(m.phash),
    )


def _thumbnail_list(lst: _native.ThumbnailList) -> List[Thumbnail]:
    return [
        Thumbnail(
            name=_s(lst.items[i].name),
            width=lst.items[i].width,
            height=lst.items[i].height,
            jpeg=ctypes.string_at(lst.items[i].jpeg, lst.items[i].jpeg_len),
            format=_s(lst.encodings[i].format),
            extension=_s(lst.encodings[i].extension),
            content_type=_s(lst.encodings[i].content_type),
        )
        for i in range(lst.count)
    ]


def _media_call(
    function: str,
    outs: Tuple[Any, ...],
    source: Union[Bytes, str, "os.PathLike[str]"],
    filename: str,
    kind: str,
    policy: Tuple[Any, ...],
    *extra: Any,
) -> None:
    """Calls ``ms_media_<function>`` (bytes) or ``ms_media_<function>_file``
    (a path) with the out pointers, the reason, the source, filename, kind, the
    options of ``policy`` (_validation_options' arguments) and ``extra``;
    raises the refusal's error with ``.reason`` set to the reason's name."""
    keep: List[Any] = []
    build: Callable[..., _native.ValidationOptions] = _validation_options  # policy's length is not typed
    opts = build(*policy, keep)
    reason = c_int(0)
    lib = _lib()
    head = [byref(o) for o in outs] + [byref(reason)]
    tail = [_text(filename, "filename"), _kind(kind), byref(opts), *extra]
    if isinstance(source, (bytes, bytearray, memoryview)):
        ptr, n = _buffer(source)
        rc = getattr(lib, "ms_media_" + function)(*head, ptr, n, *tail)
    else:
        rc = getattr(lib, f"ms_media_{function}_file")(*head, _text(source, "path"), *tail)
    if rc != 0:
        err = _error(rc)
        err.reason = lib.ms_refusal_reason_name(reason.value).decode()
        raise err


def validate(
    source: Union[Bytes, str, "os.PathLike[str]"],
    filename: str,
    kind: str = "photo",
    *,
    max_upload_size: Optional[int] = None,
    max_pixels: Optional[int] = None,
    relabel_mismatched_extension: bool = True,
    decode_images: bool = True,
    photo_mime_types: Optional[List[str]] = None,
    video_mime_types: Optional[List[str]] = None,
) -> MediaInfo:
    """Validates content (bytes) or a file (str/PathLike path) against a policy.

    Raises the refusal's error (TooLargeError, UnsupportedMediaError,
    CorruptMediaError, InvalidArgumentError, ...) with ``.reason`` set to the
    refusal reason's name ("dangerous_content", "file_too_large", ...).
    """
    policy = (
        max_upload_size, max_pixels, relabel_mismatched_extension, decode_images, photo_mime_types, video_mime_types
    )
    out = POINTER(_native.MediaInfo)()
    _media_call("validate", (out,), source, filename, kind, policy)
    return _native.take_struct(out, _media_info, "ms_media_info_free")


def _specs(specs: Optional[List[ThumbnailSpec]]) -> Tuple[Any, int]:
    if not specs:
        return None, 0
    arr = (_native.ThumbnailSpec * len(specs))()
    for i, sp in enumerate(specs):
        if sp.fit not in ("inside", "cover"):
            raise InvalidArgumentError(_native.MS_E_INVALID_ARGUMENT, f"fit must be 'inside' or 'cover', got {sp.fit!r}")
        for attr in ("width", "height", "quality"):
            v = getattr(sp, attr)
            if not isinstance(v, int) or not -(2**31) <= v < 2**31:
                raise InvalidArgumentError(_native.MS_E_INVALID_ARGUMENT, f"thumbnail {attr} {v!r} is out of range")
        arr[i] = _native.ThumbnailSpec(
            _text(sp.name, "thumbnail name"), sp.width, sp.height, 1 if sp.fit == "cover" else 0, sp.quality, int(sp.progressive)
        )
    return arr, len(specs)


def make_thumbnails(
    source: Union[Bytes, str, "os.PathLike[str]"],
    specs: Optional[List[ThumbnailSpec]] = None,
    max_pixels: int = 0,
) -> List[Thumbnail]:
    """JPEG thumbnails of an image (bytes or a file path); default specs: small
    150x150, medium 300x300, large 800x600."""
    arr, n = _specs(specs)
    out = POINTER(_native.ThumbnailList)()
    lib = _lib()
    if isinstance(source, (bytes, bytearray, memoryview)):
        ptr, length = _buffer(source)
        rc = lib.ms_thumbnails_make(byref(out), ptr, length, arr, n, _u64(max_pixels, "max_pixels"))
    else:
        rc = lib.ms_thumbnails_make_file(byref(out), _text(source, "path"), arr, n, _u64(max_pixels, "max_pixels"))
    _check(rc)
    return _native.take_struct(out, _thumbnail_list, "ms_thumbnail_list_free")


@dataclass(frozen=True)
class ProcessedMedia:
    """An accepted upload's verdict and its thumbnails (in spec order; none for videos)."""

    info: MediaInfo
    thumbnails: List[Thumbnail]


def process(
    source: Union[Bytes, str, "os.PathLike[str]"],
    filename: str,
    kind: str = "photo",
    specs: Optional[List[ThumbnailSpec]] = None,
    *,
    max_upload_size: Optional[int] = None,
    max_pixels: Optional[int] = None,
    relabel_mismatched_extension: bool = True,
    decode_images: bool = True,
    photo_mime_types: Optional[List[str]] = None,
    video_mime_types: Optional[List[str]] = None,
) -> ProcessedMedia:
    """:func:`validate` and :func:`make_thumbnails` from one decode: a photo
    is decoded once (strictly, as validation does) and its thumbnails are made
    from that decode. Videos are validated and get no thumbnails.

    specs: default (None or []) small 150x150, medium 300x300, large 800x600;
    for validation alone use :func:`validate`. The keywords are validate()'s
    policy; refusals raise exactly what validate() raises (same class,
    message and ``.reason``). InvalidArgumentError for bad specs.
    """
    policy = (
        max_upload_size, max_pixels, relabel_mismatched_extension, decode_images, photo_mime_types, video_mime_types
    )
    arr, n = _specs(specs)
    info = POINTER(_native.MediaInfo)()
    thumbs = POINTER(_native.ThumbnailList)()
    _media_call("process", (info, thumbs), source, filename, kind, policy, arr, n)
    lib = _native.load()
    try:
        return ProcessedMedia(_media_info(info.contents), _thumbnail_list(thumbs.contents))
    finally:
        lib.ms_media_info_free(info)
        lib.ms_thumbnail_list_free(thumbs)


def hamming_distance(a: Union[str, int], b: Union[str, int]) -> int:
    """Bits (0..64) in which two perceptual hashes differ: MediaInfo.phash or
    the "phash" metadata of an upload (16 hex digits), or their integers.
    Photos at most 10 apart are the same picture (re-encoded, rescaled, stripped)."""
    lib = _lib()

    def value(h: Union[str, int]) -> int:
        if isinstance(h, int):
            if not 0 <= h < 1 << 64:
                raise InvalidArgumentError(_native.MS_E_INVALID_ARGUMENT, f"a perceptual hash is 64 bits, got {h}")
            return h
        out = ctypes.c_uint64()
        _check(lib.ms_perceptual_hash_parse(byref(out), _text(h, "phash")))
        return out.value

    return int(lib.ms_hamming_distance(value(a), value(b)))


def strip_jpeg_metadata(jpeg: Bytes, mode: str = "all") -> bytes:
    """Removes metadata ("gps" or "all") from a JPEG without re-encoding."""
    if mode not in ("gps", "all"):
        raise InvalidArgumentError(_native.MS_E_INVALID_ARGUMENT, f"mode must be 'gps' or 'all', got {mode!r}")
    ptr, n = _buffer(jpeg)
    out = c_void_p()
    size = c_size_t()
    _check(_lib().ms_jpeg_strip_metadata(byref(out), byref(size), ptr, n, 1 if mode == "all" else 0))
    return _native.take_bytes(out, size.value)
