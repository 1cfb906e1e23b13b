"""Test images made without extra packages: a BMP built by hand, turned into
JPEG/thumbnails by the library itself."""

from __future__ import annotations

import struct


def bmp(width: int = 64, height: int = 48) -> bytes:
    row = (width * 3 + 3) & ~3
    pixels = bytearray()
    for y in range(height):
        line = bytearray()
        for x in range(width):
            line += bytes(((x * 4) & 0xFF, (y * 4) & 0xFF, 128))
        line += b"\0" * (row - width * 3)
        pixels += line
    header = struct.pack("<2sIHHI", b"BM", 54 + len(pixels), 0, 0, 54)
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    return header + info + bytes(pixels)


def jpeg(width: int = 640, height: int = 480) -> bytes:
    """A real JPEG of exactly width x height (made by the library's encoder)."""
    import mediastore

    thumbs = mediastore.make_thumbnails(
        bmp(width, height), [mediastore.ThumbnailSpec("img", width, height, quality=90)]
    )
    assert (thumbs[0].width, thumbs[0].height) == (width, height)
    return thumbs[0].jpeg
