"""One safe loader for user images (chart screenshots): used by the predictor and the API upload.

The size is read from the header and checked BEFORE any pixel is decoded, so a 20000×20000 PNG is
refused in milliseconds instead of raising PIL's DecompressionBombError or eating gigabytes. Large
but allowed images are shrunk cheaply while decoding (JPEG draft) or right after (Image.reduce).
EXIF orientation is applied. A blank or single-colour image is flagged (`blank`), so the caller can
warn that no chart was seen instead of forecasting from nothing.
"""

from __future__ import annotations

import io
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import InputError

if TYPE_CHECKING:
    from PIL import Image as PILImage

MAX_PIXELS = 50_000_000        # 50 MP: a 4K screen is 8.3 MP, a 6K one 20 MP
MAX_BYTES = 50 * 1024 * 1024
MIN_SIDE = 16
# Magic numbers of the formats a screenshot arrives in.
_SIGNATURES = (b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"GIF87a", b"GIF89a", b"BM", b"RIFF", b"II*\x00", b"MM\x00*")


@dataclass(frozen=True, slots=True)
class LoadedImage:
    image: PILImage.Image       # RGB, orientation applied, at most `target` × 2 when a target was given
    width: int                  # original size (after orientation)
    height: int
    format: str
    blank: bool                 # almost no distinct colours or edges: no chart to read


def load_image(source: str | Path | bytes, *, max_pixels: int = MAX_PIXELS, max_bytes: int = MAX_BYTES,
               target: tuple[int, int] | None = None) -> LoadedImage:
    """Decode a user image safely. Raises InputError("image", reason) for: empty, not an image,
    truncated, too many bytes, too many pixels (checked from the header, before decoding)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    data = _read(source, max_bytes)
    if not data:
        raise InputError("image", "empty (0 bytes)")
    if not data.startswith(_SIGNATURES):
        raise InputError("image", "not an image (expected PNG, JPEG, GIF, BMP, WebP or TIFF bytes)")
    declared = header_size(data)
    if declared is not None and declared[0] * declared[1] > max_pixels:
        raise InputError("image", f"too large ({declared[0]}×{declared[1]}, limit {max_pixels:,} pixels)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))          # reads the header only
            w, h = im.size
            fmt = str(im.format or "")
            if w * h > max_pixels:
                raise InputError("image", f"too large ({w}×{h}, limit {max_pixels:,} pixels)")
            if w < MIN_SIDE or h < MIN_SIDE:
                raise InputError("image", f"too small ({w}×{h}); need a chart screenshot")
            if target is not None:
                im.draft("RGB", (target[0] * 2, target[1] * 2))   # JPEG: decode at 1/2…1/8 scale
            if im.getexif().get(0x0112, 1) in (5, 6, 7, 8):   # EXIF: rotated a quarter turn
                w, h = h, w
            im = ImageOps.exif_transpose(im) or im
            im = im.convert("RGB")
    except InputError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise InputError("image", f"too large to decode safely: {exc}") from exc
    except UnidentifiedImageError as exc:
        raise InputError("image", "not an image PIL can read") from exc
    except (OSError, SyntaxError, ValueError) as exc:   # truncated or corrupt data
        raise InputError("image", f"truncated or corrupt: {exc}") from exc
    if target is not None:
        factor = min(im.width // (target[0] * 2), im.height // (target[1] * 2))
        if factor >= 2:
            im = im.reduce(factor)
    return LoadedImage(im, w, h, fmt, is_blank(im))


def header_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) as the PNG/GIF/BMP/JPEG header declares it, without PIL; None if unknown."""
    if data.startswith(b"\x89PNG") and len(data) >= 24:
        return struct.unpack(">II", data[16:24])
    if data.startswith(b"GIF") and len(data) >= 10:
        return struct.unpack("<HH", data[6:10])
    if data.startswith(b"BM") and len(data) >= 26:
        w, h = struct.unpack("<ii", data[18:26])
        return abs(w), abs(h)
    if data.startswith(b"\xff\xd8"):
        i = 2
        while i + 9 < len(data) and data[i] == 0xFF:
            marker, length = data[i + 1], struct.unpack(">H", data[i + 2:i + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                h, w = struct.unpack(">HH", data[i + 5:i + 9])
                return w, h
            i += 2 + length
    return None


def _read(source: str | Path | bytes, max_bytes: int) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        if len(data) > max_bytes:
            raise InputError("image", f"too large ({len(data):,} bytes, limit {max_bytes:,})")
        return data
    path = Path(source)
    if not path.is_file():
        raise InputError("image", f"{path} does not exist")
    size = path.stat().st_size
    if size > max_bytes:
        raise InputError("image", f"too large ({size:,} bytes, limit {max_bytes:,})")
    return path.read_bytes()


def is_blank(im: PILImage.Image) -> bool:
    """True when the image shows no chart: (almost) one colour and no edges."""
    from PIL import ImageFilter, ImageStat

    small = im.copy()
    small.thumbnail((256, 256))
    colours = small.getcolors(maxcolors=small.width * small.height)
    if colours and max(n for n, _ in colours) >= 0.995 * small.width * small.height:
        return True   # one colour covers (almost) everything: a solid fill, maybe a logo or a cursor
    edges = small.convert("L").filter(ImageFilter.FIND_EDGES)
    strong = sum(edges.point(lambda v: 255 if v > 40 else 0).histogram()[255:])
    return strong < 0.002 * small.width * small.height and ImageStat.Stat(small).stddev[0] < 8
