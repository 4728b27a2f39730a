"""The safe image loader (core/images.py) with real generated images: huge headers are refused before
decoding, EXIF orientation is applied, blank images are flagged, broken bytes get clear reasons."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageFile

from core.errors import InputError
from core.images import load_image
from models.render import HEIGHT, WIDTH, load_screenshot, load_screenshot_checked


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG declaring width×height with one tiny compressed row: costs bytes, not pixels."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * (width * 3 + 1)))
            + chunk(b"IEND", b""))


def _chart_like(w: int = 400, h: int = 300) -> Image.Image:
    rng = np.random.default_rng(3)
    arr = np.full((h, w, 3), 255, np.uint8)
    for x in range(10, w - 10, 8):
        lo, hi = sorted(rng.integers(20, h - 20, 2))
        arr[lo:hi, x:x + 5] = (0, 160, 0) if x % 16 else (200, 0, 0)
    return Image.fromarray(arr)


def _encode(im: Image.Image, fmt: str = "PNG", **kw: object) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def test_huge_png_is_refused_from_its_header_without_decoding(monkeypatch: pytest.MonkeyPatch) -> None:
    data = _png_header_only(20000, 20000)
    decoded: list[tuple[int, int]] = []
    original = ImageFile.ImageFile.load

    def spy(self: ImageFile.ImageFile) -> object:
        decoded.append(self.size)
        return original(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    with pytest.raises(InputError, match=r"image: too large \(20000×20000, limit 50,000,000 pixels\)"):
        load_image(data)
    assert decoded == []                                    # no pixel was decoded
    load_image(_encode(_chart_like(64, 48)))
    assert decoded and set(decoded) == {(64, 48)}           # the spy does see a real decode
    with pytest.raises(InputError, match="too large"):
        load_screenshot(data)                               # the predictor's path, no DecompressionBombError


def test_limits_in_pixels_and_bytes() -> None:
    data = _encode(_chart_like(400, 300))
    assert load_image(data, max_pixels=400 * 300).width == 400
    with pytest.raises(InputError, match=r"too large \(400×300, limit 119,999 pixels\)"):
        load_image(data, max_pixels=400 * 300 - 1)
    with pytest.raises(InputError, match=r"too large \(\d[\d,]* bytes, limit 100\)"):
        load_image(data, max_bytes=100)


@pytest.mark.parametrize(("data", "reason"), [
    (b"", "empty"),
    (b"timestamp,open,high\n1,2,3\n", "not an image"),
])
def test_empty_and_non_images_are_refused(data: bytes, reason: str) -> None:
    with pytest.raises(InputError, match=f"image: {reason}"):
        load_image(data)


def test_truncated_image_is_refused() -> None:
    data = _encode(_chart_like(), "JPEG", quality=90)
    with pytest.raises(InputError, match="image: truncated or corrupt"):
        load_image(data[: len(data) // 3])


def test_exif_orientation_is_applied() -> None:
    wide = _chart_like(400, 200)
    exif = Image.Exif()
    exif[0x0112] = 6                                        # "rotate 90° clockwise to display"
    data = _encode(wide, "JPEG", exif=exif.tobytes())
    loaded = load_image(data)
    assert (loaded.width, loaded.height) == (200, 400) and loaded.image.size == (200, 400)


def test_blank_images_are_flagged_and_charts_are_not(tmp_path: Path) -> None:
    solid = _encode(Image.new("RGB", (800, 600), (18, 18, 24)))
    assert load_image(solid).blank
    assert load_screenshot_checked(solid)[1]
    chart = _chart_like()
    assert not load_image(_encode(chart)).blank
    arr, blank = load_screenshot_checked(np.asarray(chart))
    assert not blank and arr.shape == (HEIGHT, WIDTH, 3)


def test_large_jpeg_is_shrunk_while_decoding() -> None:
    big = _chart_like(4000, 3000)
    loaded = load_image(_encode(big, "JPEG", quality=80), target=(WIDTH, HEIGHT))
    assert (loaded.width, loaded.height) == (4000, 3000)
    assert loaded.image.width < 4000 // 2                   # draft/reduce: never the full-size raster
    assert load_screenshot(_encode(big, "JPEG")).shape == (HEIGHT, WIDTH, 3)
