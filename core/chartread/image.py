"""Loading a screenshot into an RGB array; unreadable input is an InputError naming `image`."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from core.errors import InputError

MIN_SIDE = 80          # smaller than this cannot hold a price axis and candles
MAX_PIXELS = 40_000_000


def load_rgb(image: bytes | Path | str | Image.Image) -> np.ndarray:
    """The image as an (H, W, 3) uint8 array; alpha is composited onto white."""
    if isinstance(image, Image.Image):
        pil = image
    else:
        try:
            if isinstance(image, bytes | bytearray):
                pil = Image.open(io.BytesIO(image))
            else:
                path = Path(image)
                if not path.is_file():
                    raise InputError("image", f"{path} is not a file")
                pil = Image.open(path)
            pil.load()
        except (UnidentifiedImageError, OSError) as exc:
            raise InputError("image", f"not a readable image ({exc})") from exc
    w, h = pil.size
    if min(w, h) < MIN_SIDE:
        raise InputError("image", f"{w}x{h} is too small to hold a chart (need at least {MIN_SIDE} px a side)")
    if w * h > MAX_PIXELS:
        raise InputError("image", f"{w}x{h} is too large (more than {MAX_PIXELS:,} pixels)")
    if pil.mode in ("RGBA", "LA", "P"):
        pil = pil.convert("RGBA")
        white = Image.new("RGBA", pil.size, (255, 255, 255, 255))
        pil = Image.alpha_composite(white, pil)
    return np.asarray(pil.convert("RGB"), dtype=np.uint8)
