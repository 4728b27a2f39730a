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
    # a coloured fill, or a grey/black one covering most of the row (labels ink far less of a row)
    filled = ((far & chromatic).mean(axis=1) > 0.35) | (far.mean(axis=1) > 0.6)
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
            sel = (far & chromatic)[y0:y]
            if sel.mean() < 0.2:
                sel = far[y0:y]
            fill = np.median(rows.reshape(-1, 3)[sel.reshape(-1)], axis=0).astype(np.int16)
            tags.append(Tag(y0, y, fill))
    return tags


@dataclass(frozen=True, slots=True)
class Box:
    """A filled label box inside the plot (a price tag drawn over the candles)."""

    x0: int
    x1: int
    y0: int
    y1: int            # exclusive
    fill: np.ndarray


def find_plot_boxes(labels: np.ndarray, colours: list[np.ndarray], skip: set[int],
                    x_offset: int, y_offset: int) -> list[Box]:
    """Filled rectangles (8-40 px tall, at least 20 px wide) of the colours that are not candles."""
    from core.chartread.candles import remove_thin_lines

    boxes: list[Box] = []
    for k, rgb in enumerate(colours):
        if k in skip:
            continue
        mask = remove_thin_lines(labels == k)
        cols = mask.sum(axis=0)
        occupied = cols >= 8
        x = 0
        w = mask.shape[1]
        while x < w:
            if not occupied[x]:
                x += 1
                continue
            x0 = x
            while x < w and occupied[x]:
                x += 1
            if x - x0 < 20:
                continue
            rows = np.flatnonzero(mask[:, x0:x].mean(axis=1) > 0.6)
            if rows.size and 8 <= rows[-1] - rows[0] + 1 <= 40:
                y0, y1 = int(rows[0]), int(rows[-1]) + 1
                if mask[y0:y1, x0:x].mean() > 0.6:
                    boxes.append(Box(x0 + x_offset, x + x_offset, y0 + y_offset, y1 + y_offset, rgb))
    return boxes
