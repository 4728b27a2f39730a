"""Tesseract OCR (Debian's tesseract-ocr through pytesseract): words with their boxes.

Callers crop label strips, so one call reads a whole axis; images are upscaled here because
tesseract reads 10-12 px chart fonts poorly at their native size.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np
from PIL import Image

from core.paths import bundled_tesseract

log = logging.getLogger(__name__)

DIGITS = "0123456789.,-"

# Tesseract's OpenMP threads cost more than they give on label-sized crops (measured 0.9 s → 0.4 s
# a run on a loaded 2-core machine); pytesseract hands os.environ to its subprocess.
os.environ.setdefault("OMP_THREAD_LIMIT", "1")


@dataclass(frozen=True, slots=True)
class Word:
    text: str
    x0: float   # box in the coordinates of the image handed in (before upscaling)
    y0: float
    x1: float
    y1: float
    conf: float
    line: int   # tesseract's (block, paragraph, line) flattened, to regroup words into lines

    @property
    def yc(self) -> float:
        return (self.y0 + self.y1) / 2

    @property
    def xc(self) -> float:
        return (self.x0 + self.x1) / 2


class OcrUnavailable(RuntimeError):
    """tesseract is not installed (apt package tesseract-ocr)."""


def text_image(rgb: np.ndarray, bg: np.ndarray, scale: int = 3) -> Image.Image:
    """Dark text on white, upscaled: the distance from the background becomes ink."""
    dist = np.abs(rgb.astype(np.int16) - bg.astype(np.int16)).sum(axis=2)
    ink = np.clip(dist * (255.0 / max(60.0, float(np.percentile(dist, 99.5)))), 0, 255)
    grey = (255 - ink).astype(np.uint8)
    img = Image.fromarray(grey)
    return img.resize((img.width * scale, img.height * scale), Image.Resampling.LANCZOS)


def read_words(rgb: np.ndarray, bg: np.ndarray, *, whitelist: str | None = None, psm: int = 6,
               scale: int = 3, turn_deg: float = 0.0) -> list[Word]:
    """One tesseract run over `rgb` (a crop); words with boxes in crop pixel coordinates, or with
    `turn_deg` in the coordinates of the crop turned that much (PIL's rotate, expand=True)."""
    img = text_image(rgb, bg, scale)
    if turn_deg:
        img = img.rotate(turn_deg, expand=True, fillcolor=255, resample=Image.Resampling.BICUBIC)
    return _run(img, whitelist, psm, scale)


def read_stack(parts: list[tuple[np.ndarray, np.ndarray]], *, whitelist: str | None = None, psm: int = 6,
               scale: int = 3) -> list[list[Word]]:
    """One tesseract run over several crops stacked vertically (each (rgb, its background)):
    process start-up dominates a call, so a chart's strips share one. Words per crop."""
    imgs = [text_image(rgb, bg, scale) for rgb, bg in parts if rgb.size]
    if not imgs:
        return [[] for _ in parts]
    gap = 12 * scale
    width = max(i.width for i in imgs)
    total = sum(i.height for i in imgs) + gap * (len(imgs) + 1)
    canvas = Image.new("L", (width + 2 * gap, total), 255)
    offsets = []
    y = gap
    for img in imgs:
        canvas.paste(img, (gap, y))
        offsets.append(y)
        y += img.height + gap
    words = _run(canvas, whitelist, psm, 1)
    out: list[list[Word]] = [[] for _ in parts]
    k = 0
    for idx, (rgb, _) in enumerate(parts):
        if not rgb.size:
            continue
        top, h = offsets[k], imgs[k].height
        k += 1
        for w in words:
            if top - gap / 2 <= (w.y0 + w.y1) / 2 < top + h + gap / 2:
                out[idx].append(Word(w.text, (w.x0 - gap) / scale, (w.y0 - top) / scale, (w.x1 - gap) / scale,
                                     (w.y1 - top) / scale, w.conf, w.line))
    return out


def use_bundled_tesseract() -> bool:
    """Point pytesseract at the tesseract a frozen build ships (program and language data);
    from source, or without one in the bundle, PATH's tesseract stays in use. True when bundled."""
    import pytesseract

    bundled = bundled_tesseract()
    if bundled is None:
        return False
    exe, tessdata = bundled
    pytesseract.pytesseract.tesseract_cmd = str(exe)
    os.environ["TESSDATA_PREFIX"] = str(tessdata)  # read by the tesseract child pytesseract starts
    return True


def _run(img: Image.Image, whitelist: str | None, psm: int, scale: int) -> list[Word]:
    try:
        import pytesseract
    except ImportError as exc:  # pragma: no cover - a dependency of the project
        raise OcrUnavailable("pytesseract is not installed") from exc
    use_bundled_tesseract()
    config = f"--psm {psm}"
    if whitelist:
        config += f" -c tessedit_char_whitelist={whitelist}"
    try:
        data = pytesseract.image_to_data(img, config=config, output_type=pytesseract.Output.DICT)
    except pytesseract.TesseractNotFoundError as exc:
        raise OcrUnavailable(f"tesseract not found ({pytesseract.pytesseract.tesseract_cmd}; Debian package "
                             "tesseract-ocr)") from exc
    words: list[Word] = []
    for i, text in enumerate(data["text"]):
        text = (text or "").strip()
        if not text:
            continue
        x, y, w, h = data["left"][i], data["top"][i], data["width"][i], data["height"][i]
        line = data["block_num"][i] * 10_000 + data["par_num"][i] * 100 + data["line_num"][i]
        words.append(Word(text, x / scale, y / scale, (x + w) / scale, (y + h) / scale,
                          float(data["conf"][i]), line))
    return words
