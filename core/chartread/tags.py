"""Filled price tags on the price axis (the last-price tag, indicator values): found as rows of
the axis strip that are mostly one colour, blanked before the axis OCR and read on their own."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from core.chartread.pane import CHROMA_MIN, distance


@dataclass(frozen=True, slots=True)
class Tag:
    y0: int
    y1: int            # exclusive
    fill: np.ndarray   # RGB of the tag's background

    @property
    def yc(self) -> float:
        return (self.y0 + self.y1) / 2


def find_tags(strip: np.ndarray, bg: np.ndarray) -> list[Tag]:
    """Bands of rows where most of the strip is a non-background fill."""
    h, _w, _ = strip.shape
    far = distance(strip, bg) > 45
    chromatic = (strip.max(axis=2).astype(np.int16) - strip.min(axis=2)) >= CHROMA_MIN
    filled = (far & chromatic).mean(axis=1) > 0.35
    tags: list[Tag] = []
    y = 0
    while y < h:
        if not filled[y]:
            y += 1
            continue
        y0 = y
        while y < h and filled[y]:
            y += 1
        if 8 <= y - y0 <= 40:
            rows = strip[y0:y]
            px = rows.reshape(-1, 3)[(far & chromatic)[y0:y].reshape(-1)]
            fill = np.median(px, axis=0).astype(np.int16)
            tags.append(Tag(y0, y, fill))
    return tags
