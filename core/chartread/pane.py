"""Where things are: background, the price-axis strip, the time-axis strip, grid rows, and the
candle colours (found by clustering, never assumed: any two colours that form candles)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

CHROMA_MIN = 40        # max-min of RGB above this = a colour, below = grey (text, grid, frames)
FAR_FROM_BG = 60       # sum |rgb - bg| above this = foreground


@dataclass(frozen=True)
class Layout:
    """Pixel regions of the chart; x1/y1 exclusive."""

    bg: np.ndarray                 # background RGB
    dark: bool
    axis_side: str                 # "right", "left" or "none"
    axis_x0: int                   # price-axis label strip
    axis_x1: int
    pane_x0: int                   # plot area (candles)
    pane_x1: int
    pane_y0: int
    pane_y1: int                   # top of the time-axis strip
    height: int
    width: int
    grid_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    grid_cols: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def background(rgb: np.ndarray) -> np.ndarray:
    """The most common colour (exact), sampled on a grid for speed."""
    sample = rgb[::3, ::3].reshape(-1, 3).astype(np.int64)
    packed = (sample[:, 0] << 16) | (sample[:, 1] << 8) | sample[:, 2]
    vals, counts = np.unique(packed, return_counts=True)
    v = int(vals[np.argmax(counts)])
    return np.array([(v >> 16) & 255, (v >> 8) & 255, v & 255], dtype=np.int16)


def distance(rgb: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """Sum of absolute channel differences (cheap and good enough for flat chart colours)."""
    return np.abs(rgb.astype(np.int16) - colour.astype(np.int16)).sum(axis=-1)


def chroma(rgb: np.ndarray) -> np.ndarray:
    return rgb.max(axis=-1).astype(np.int16) - rgb.min(axis=-1).astype(np.int16)


def _bands(profile: np.ndarray, min_value: float, max_gap: int) -> list[tuple[int, int]]:
    """Runs of indices where profile >= min_value, bridging gaps up to max_gap."""
    idx = np.flatnonzero(profile >= min_value)
    if idx.size == 0:
        return []
    bands: list[tuple[int, int]] = []
    start = prev = int(idx[0])
    for i in idx[1:]:
        i = int(i)
        if i - prev > max_gap + 1:
            bands.append((start, prev + 1))
            start = i
        prev = i
    bands.append((start, prev + 1))
    return bands


def find_layout(rgb: np.ndarray) -> Layout:
    """Locate the price-axis strip (a column band of grey text spread over the height), the
    time-axis strip below the plot, and the plot between them."""
    h, w, _ = rgb.shape
    bg = background(rgb)
    dark = int(bg.sum()) < 3 * 128
    dist = distance(rgb, bg)
    ch = chroma(rgb)
    text = (dist > 3 * 45) & (ch < CHROMA_MIN)
    colour = (dist > FAR_FROM_BG) & (ch >= CHROMA_MIN)
    rows = slice(int(0.04 * h), int(0.88 * h))
    # a label column is one where text shows up in several separate row bands (stacked labels)
    # a border or crosshair line is not text: drop columns inked over most of the height
    col_text = text[rows].sum(axis=0)
    col_text[col_text > 0.6 * (rows.stop - rows.start)] = 0
    best: tuple[float, str, int, int] | None = None
    for side in ("right", "left"):
        lo, hi = (int(0.70 * w), w) if side == "right" else (0, int(0.30 * w))
        bands = [(a + lo, b + lo) for a, b in _bands(col_text[lo:hi], 2, 3)]
        for a, b in bands:
            if b - a < 6:
                continue
            # the axis lies beside the candles: a strip with colour on many rows is inside the
            # plot (grey wicks and grid lines look like text); price tags colour only a few rows
            if colour[rows, a:b].any(axis=1).mean() > 0.25:
                continue
            keep = col_text[a:b] > 0
            row_profile = text[rows, a:b][:, keep].any(axis=1)
            # a label is a few rows tall: one- or two-row bands are grid or frame lines crossing
            # the strip (a light theme's grid is as far from the background as text)
            n_labels = sum(1 for r0, r1 in _bands(row_profile.astype(float), 1, 2) if r1 - r0 >= 4)
            # prefer strips hugging the edge (axes sit at the chart's edge)
            edge_gap = (w - b) if side == "right" else a
            score = n_labels - edge_gap / max(40.0, 0.05 * w)
            if n_labels >= 3 and (best is None or score > best[0]):
                best = (score, side, a, b)
    if best is None:
        side, ax0, ax1 = "none", w, w
        pane_x0, pane_x1 = 0, w
    else:
        _, side, ax0, ax1 = best
        if side == "right":
            pane_x0, pane_x1 = 0, max(0, ax0 - 3)
        else:
            pane_x0, pane_x1 = min(w, ax1 + 3), w
    # time axis: the lowest band of text rows under the plot
    row_text = text[:, pane_x0:pane_x1].sum(axis=1)
    row_text[row_text > 0.6 * max(1, pane_x1 - pane_x0)] = 0   # a frame line, not labels
    pane_y1 = h
    bottom = [(a, b) for a, b in _bands(row_text, 2, 2) if a > 0.75 * h and b - a <= 30]
    if bottom:
        pane_y1 = max(0, bottom[-1][0] - 2)
    grid = grid_rows(rgb, bg, pane_x0, pane_x1, 0, pane_y1)
    pane_x1 = _grid_right_edge(rgb, bg, grid, pane_x0, pane_x1, side)
    vgrid = grid_cols(rgb, bg, pane_x0, pane_x1, 0, pane_y1)
    return Layout(bg, dark, side, ax0, ax1, pane_x0, pane_x1, 0, pane_y1, h, w, grid, vgrid)


def grid_rows(rgb: np.ndarray, bg: np.ndarray, x0: int, x1: int, y0: int, y1: int) -> np.ndarray:
    """Rows holding a horizontal grid line: most of the row differs slightly from the background."""
    if x1 - x0 < 20:
        return np.zeros(0, dtype=np.int64)
    d = distance(rgb[y0:y1, x0:x1:2], bg)
    faint = (d >= 4) & (d <= 140)
    frac = faint.mean(axis=1)
    return np.flatnonzero(frac > 0.5) + y0


def grid_cols(rgb: np.ndarray, bg: np.ndarray, x0: int, x1: int, y0: int, y1: int) -> np.ndarray:
    """Columns holding a vertical grid line (some renderers draw these over the candles)."""
    if y1 - y0 < 20:
        return np.zeros(0, dtype=np.int64)
    d = distance(rgb[y0:y1:2, x0:x1], bg)
    faint = (d >= 4) & (d <= 140)
    return np.flatnonzero(faint.mean(axis=0) > 0.5) + x0


def _grid_right_edge(rgb: np.ndarray, bg: np.ndarray, grid: np.ndarray, x0: int, x1: int, side: str) -> int:
    """Grid lines stop where the price scale begins: trim the plot's right edge to them."""
    if side != "right" or grid.size == 0:
        return x1
    d = distance(rgb[grid, x0:x1], bg)
    on = ((d >= 4) & (d <= 140)).mean(axis=0)
    cols = np.flatnonzero(on > 0.5)
    if cols.size == 0:
        return x1
    return min(x1, x0 + int(cols[-1]) + 1)


# -- candle colours -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Colour:
    rgb: np.ndarray
    pixels: int


def colour_clusters(rgb: np.ndarray, bg: np.ndarray, max_clusters: int = 8) -> list[Colour]:
    """Frequent chromatic colours, merged when close; most frequent first."""
    px = rgb.reshape(-1, 3)
    keep = (distance(px, bg) >= FAR_FROM_BG) & (chroma(px) >= CHROMA_MIN)
    px = px[keep].astype(np.int64)
    if px.shape[0] == 0:
        return []
    q = px >> 4
    packed = (q[:, 0] << 8) | (q[:, 1] << 4) | q[:, 2]
    vals, inverse, counts = np.unique(packed, return_inverse=True, return_counts=True)
    sums = np.zeros((vals.size, 3), dtype=np.float64)
    np.add.at(sums, inverse, px)
    means = sums / counts[:, None]
    order = np.argsort(-counts)
    min_count = max(20, int(0.0003 * rgb.shape[0] * rgb.shape[1]))
    clusters: list[list[float]] = []   # [r, g, b, count]
    for i in order:
        if counts[i] < min_count // 4:
            break
        m = means[i]
        for c in clusters:
            if np.abs(np.array(c[:3]) - m).sum() < 60:
                n = c[3] + counts[i]
                c[:3] = list((np.array(c[:3]) * c[3] + m * counts[i]) / n)
                c[3] = n
                break
        else:
            clusters.append([*m, counts[i]])
    out = [Colour(np.array(c[:3]).round().astype(np.int16), int(c[3])) for c in clusters if c[3] >= min_count]
    out.sort(key=lambda c: -c.pixels)
    return out[:max_clusters]


def label_pixels(rgb: np.ndarray, bg: np.ndarray, colours: list[Colour]) -> np.ndarray:
    """Per pixel the index of the nearest colour (-1 when the background or grey is nearer).
    A pixel counts when it is at least half-way from the background to its colour, so the
    anti-aliased edge of a candle rounds to the nearest pixel."""
    out = np.full(rgb.shape[:2], -1, dtype=np.int8)
    if not colours:
        return out
    # only pixels with some colour can qualify (candles cover a few % of a chart): work on those
    bg_chroma = int(chroma(bg))
    cand = np.flatnonzero(((chroma(rgb) - bg_chroma) >= 10).reshape(-1))
    if cand.size == 0:
        return out
    px = rgb.reshape(-1, 3)[cand].astype(np.int16)
    d = np.stack([distance(px, c.rgb) for c in colours], axis=-1)
    best = d.argmin(axis=-1)
    dbest = d[np.arange(d.shape[0]), best]
    reach = np.array([int(distance(c.rgb, bg)) for c in colours])[best]
    # grey text and frames are never a colour: a half-blended candle edge keeps half its chroma
    need = (np.array([int(chroma(c.rgb)) for c in colours]) - bg_chroma)[best] // 2
    ok = (dbest < distance(px, bg)) & (dbest * 2 <= reach) & (chroma(px) - bg_chroma >= need)
    flat = out.reshape(-1)
    flat[cand[ok]] = best[ok].astype(np.int8)
    return out


def low_text_band(rgb: np.ndarray, bg: np.ndarray, x0: int, x1: int, max_height: int = 110) -> tuple[int, int] | None:
    """The lowest band of grey text rows in the bottom quarter, up to `max_height` tall (slanted
    time labels are taller than a straight label row); frame lines left out."""
    h = rgb.shape[0]
    y0 = int(0.75 * h)
    sub = rgb[y0:, x0:x1]
    text = (distance(sub, bg) > 3 * 45) & (chroma(sub) < CHROMA_MIN)
    rows = text.sum(axis=1).astype(float)
    rows[rows > 0.6 * max(1, x1 - x0)] = 0
    bands = [(a + y0, b + y0) for a, b in _bands(rows, 2, 3) if b - a <= max_height]
    return bands[-1] if bands else None
