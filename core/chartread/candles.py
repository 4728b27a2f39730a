"""Candles from the colour-labelled plot: column runs → bodies and wicks, in pixel rows.

Colour-agnostic: a colour is a candle colour when it forms several separate vertical objects
whose bottoms do not share one baseline (that is a volume histogram).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

EDGE = 0.5   # a body or wick end is the centre of its last pixel row (calibrated on renders)


@dataclass(frozen=True, slots=True)
class PixelCandle:
    x0: int          # columns [x0, x1)
    x1: int
    high: float      # y of the wick top (pixel coordinates, y grows downwards)
    body_top: float
    body_bottom: float
    low: float
    cls: int         # colour cluster index
    hollow: bool

    @property
    def x(self) -> float:
        return (self.x0 + self.x1) / 2


@dataclass(frozen=True)
class CandleScan:
    candles: list[PixelCandle]
    candle_colours: list[int]
    volume_colours: list[int]
    spacing: float
    body_width: float
    warnings: list[str]
    dropped_boxes: int
    labels: np.ndarray | None = None    # the label map without volume bars (for finding tags)


def _runs(occupied: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of consecutive True values."""
    if not occupied.any():
        return []
    d = np.diff(np.concatenate([[0], occupied.astype(np.int8), [0]]))
    starts = np.flatnonzero(d == 1)
    ends = np.flatnonzero(d == -1)
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def remove_thin_lines(mask: np.ndarray) -> np.ndarray:
    """Drop horizontal lines 1-2 px thick spanning much of the plot (price lines, dotted or not)
    without eating candles that cross them (those pixels have vertical neighbours)."""
    h, w = mask.shape
    if h < 5 or w < 10:
        return mask
    # spread: count the 1/16ths of the width the row touches, so dotted lines count too
    blocks = np.add.reduceat(mask, np.arange(0, w, max(1, w // 16)), axis=1) > 0
    rows = np.flatnonzero(blocks.mean(axis=1) >= 0.6)
    if rows.size == 0:
        return mask
    out = mask.copy()
    pad = np.zeros((h + 4, w), dtype=bool)
    pad[2:-2] = mask
    for y in rows:
        yp = y + 2
        up1, up2, dn1, dn2 = pad[yp - 1], pad[yp - 2], pad[yp + 1], pad[yp + 2]
        run_len_le2 = (~up1 & ~dn1) | (up1 & ~up2 & ~dn1) | (dn1 & ~dn2 & ~up1)
        out[y] &= ~run_len_le2
    return out


def _objects(mask: np.ndarray) -> list[tuple[int, int, int, int]]:
    """(x0, x1, top, bottom) of every column run in mask; bottom inclusive."""
    occupied = mask.any(axis=0)
    objs = []
    for a, b in _runs(occupied):
        rows = np.flatnonzero(mask[:, a:b].any(axis=1))
        objs.append((a, b, int(rows[0]), int(rows[-1])))
    return objs


def classify_colours(labels: np.ndarray, n: int) -> tuple[list[int], list[int]]:
    """Candle colours and volume colours among the n clusters."""
    candle, volume = [], []
    for k in range(n):
        mask = remove_thin_lines(labels == k)
        objs = [o for o in _objects(mask) if o[3] - o[2] >= 2]
        # 1-px slivers are usually the anti-aliased edges of another colour's bars
        wide = [o for o in objs if o[1] - o[0] >= 2]
        if len(wide) >= 0.3 * len(objs):
            objs = wide
        if len(objs) < 3:
            continue
        bottoms = np.array([o[3] for o in objs])
        mode = np.bincount(bottoms).argmax()
        aligned = np.mean(np.abs(bottoms - mode) <= 1)
        widths = np.array([o[1] - o[0] for o in objs])
        if aligned >= 0.6 and len(objs) >= 5:
            volume.append(k)
        elif np.median(widths) <= 0.1 * labels.shape[1]:
            candle.append(k)
    return candle, volume


def bridge_grid(labels: np.ndarray, cols: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Grid lines drawn over candles cut them: give a grid column (row) the label its two
    neighbours share."""
    out = labels.copy()
    h, w = labels.shape
    for x in cols:
        if 0 < x < w - 1:
            same = (labels[:, x - 1] == labels[:, x + 1]) & (labels[:, x - 1] >= 0) & (labels[:, x] < 0)
            out[same, x] = labels[same, x - 1]
    for y in rows:
        if 0 < y < h - 1:
            same = (out[y - 1] == out[y + 1]) & (out[y - 1] >= 0) & (out[y] < 0)
            out[y, same] = out[y - 1, same]
    return out


def scan_candles(labels: np.ndarray, n_colours: int, y_offset: int = 0, x_offset: int = 0,
                 rgbs: list[np.ndarray] | None = None) -> CandleScan:
    """Segment candles in a label map cropped to the plot (grid already bridged)."""
    warnings: list[str] = []
    # a volume pane of its own (below the price pane, any colours) goes first, so its colours
    # cannot pass for candle colours or the other way round
    vol_bands = _volume_bands(remove_thin_lines(labels >= 0))
    if vol_bands:
        labels = labels.copy()
        for a, b in vol_bands:
            # within the band, only the colours standing on its baseline: candles may dip into an
            # overlaid volume histogram (lightweight-charts, TradingView)
            band = labels[a:b]
            for k in range(n_colours):
                objs = [o for o in _objects(band == k) if o[3] - o[2] >= 1]
                if len(objs) >= 3 and np.mean([o[3] >= b - a - 2 for o in objs]) >= 0.6:
                    band[band == k] = -1
        warnings.append("a volume pane ignored")
    labels, erased, baseline = _erase_baseline_bars(labels)
    if erased:
        warnings.append(f"volume bars standing on a common baseline ignored ({erased} columns)")
    candle_cols, volume_cols = classify_colours(labels, n_colours)
    if not candle_cols:
        return CandleScan([], [], volume_cols, 0.0, 0.0, ["no colour forms candles"], 0)
    if rgbs is not None and len(candle_cols) > 2:
        labels, candle_cols = _merge_edge_colours(labels, candle_cols, rgbs)
    # the two largest candle colours; a third colour is usually a highlighted bar or a tag
    counts = {k: int((labels == k).sum()) for k in candle_cols}
    candle_cols = sorted(candle_cols, key=lambda k: -counts[k])[:2]
    mask = np.zeros(labels.shape, dtype=bool)
    for k in candle_cols:
        mask |= labels == k
    mask = remove_thin_lines(mask)
    cls_map = np.where(mask, labels, -1)
    occupied = mask.any(axis=0)
    runs = _runs(occupied)
    # split runs where the colour changes (adjacent up and down candles with no gap)
    pieces: list[tuple[int, int]] = []
    for a, b in runs:
        dom = [_dominant(cls_map[:, x]) for x in range(a, b)]
        start = a
        for i in range(1, b - a):
            if dom[i] != dom[i - 1] and dom[i] >= 0 and dom[i - 1] >= 0:
                pieces.append((start, a + i))
                start = a + i
        pieces.append((start, b))
    # anti-aliased fringes of other shapes (a volume bar's edge blends into a candle colour): specks
    pieces = [(a, b) for a, b in pieces if int(mask[:, a:b].sum()) >= 3]
    if not pieces:
        return CandleScan([], candle_cols, volume_cols, 0.0, 0.0, ["no candles"], 0)
    widths = np.array([b - a for a, b in pieces], dtype=float)
    body_w = float(np.median(widths))
    centres = np.array([(a + b) / 2 for a, b in pieces])
    typical = widths <= 1.5 * body_w
    gaps = np.diff(centres[typical]) if typical.sum() > 2 else np.diff(centres)
    spacing = float(np.median(gaps)) if gaps.size else body_w + 1
    regular = centres[typical & (widths >= 0.6 * body_w)]
    out: list[PixelCandle] = []
    boxes = cut = narrow = 0
    for a, b in pieces:
        width = b - a
        if (a == 0 or b == labels.shape[1]) and width < 0.6 * body_w:
            cut += 1      # a sliver at the plot's edge: a candle cut off, or the start of an axis tag
            continue
        if body_w >= 4 and width < 0.4 * body_w and not _on_slot((a + b) / 2, regular, spacing):
            # every body of a chart is drawn the same width: a 1-2 px column among 8 px candles
            # that is not where a candle belongs (half a spacing off, between two candles) is the
            # edge of something else — a volume bar beside one of another colour; a doji whose
            # 1-px body was taken for a line keeps its wick, on its slot
            narrow += 1
            continue
        sub = mask[:, a:b]
        tops = np.array([np.argmax(sub[:, i]) if sub[:, i].any() else -1 for i in range(width)])
        bots = np.array([len(sub) - 1 - np.argmax(sub[::-1, i]) if sub[:, i].any() else -1 for i in range(width)])
        valid = tops >= 0
        if width >= 1.8 * body_w and width > 1.5 * spacing:
            ext = (bots - tops)[valid]
            if width > 2.5 * body_w + 2 and ext.size and np.ptp(ext) <= 1 and \
                    (width > 4 * spacing or ext.max() < 3 * width):
                boxes += 1        # a filled rectangle: a price tag or a marker, not a candle
                continue
            # touching candles of one colour (no gap, or a grid line bridged between them)
            k = max(1, round(width / spacing))
            edges = np.linspace(a, b, k + 1).round().astype(int)
            for s, e in itertools.pairwise(edges):
                c = _candle(mask[:, s:e], cls_map[:, s:e], s, baseline)
                if c:
                    out.append(c)
            continue
        c = _candle(sub, cls_map[:, a:b], a, baseline)
        if c:
            out.append(c)
    if boxes:
        warnings.append(f"{boxes} filled box(es) in the plot ignored (price tags or markers)")
    if narrow:
        warnings.append(f"{narrow} sliver(s) much narrower than the candles ignored")
    if cut:
        warnings.append(f"{cut} cut-off sliver(s) at the plot edge ignored")
    if body_w <= 2:
        warnings.append(f"candles are about {body_w:.0f} px wide: bodies and wicks cannot be told apart, "
                        "open and close are approximate")
    if y_offset or x_offset:
        out = [PixelCandle(c.x0 + x_offset, c.x1 + x_offset, c.high + y_offset, c.body_top + y_offset,
                           c.body_bottom + y_offset, c.low + y_offset, c.cls, c.hollow) for c in out]
    return CandleScan(out, candle_cols, volume_cols, spacing, body_w, warnings, boxes, labels)


def _on_slot(x: float, centres: np.ndarray, spacing: float) -> bool:
    """Whether x lies a whole number of bar spacings from its nearest regular candles, with a free
    slot there (not squeezed between two neighbouring candles)."""
    if centres.size == 0 or spacing <= 0:
        return True
    left, right = centres[centres < x], centres[centres > x]
    for ref in ([left.max()] if left.size else []) + ([right.min()] if right.size else []):
        steps = abs(x - ref) / spacing
        if round(steps) < 1 or abs(steps - round(steps)) > 0.3:
            return False
    return True


def _merge_edge_colours(labels: np.ndarray, cols: list[int],
                        rgbs: list[np.ndarray]) -> tuple[np.ndarray, list[int]]:
    """Bodies drawn with an outline of another shade (mplfinance 'charles') give two colours per
    candle kind: merge colours of a similar hue that touch along much of their pixels."""
    counts = {k: int((labels == k).sum()) for k in cols}
    parent = {k: k for k in cols}

    def root(k: int) -> int:
        while parent[k] != k:
            k = parent[k]
        return k

    pairs: dict[tuple[int, int], int] = {}
    for a, b in ((labels[:, :-1], labels[:, 1:]), (labels[:-1], labels[1:])):
        touch = (a != b) & (a >= 0) & (b >= 0)
        for i, j in zip(a[touch].tolist(), b[touch].tolist(), strict=True):
            if i in counts and j in counts:
                key = (min(i, j), max(i, j))
                pairs[key] = pairs.get(key, 0) + 1
    for (i, j), n in sorted(pairs.items(), key=lambda kv: -kv[1]):
        similar = int(np.abs(rgbs[i].astype(np.int16) - rgbs[j]).sum()) < 160
        if similar and n >= 0.3 * min(counts[i], counts[j]):
            ri, rj = root(i), root(j)
            if ri != rj:
                big, small = (ri, rj) if counts[ri] >= counts[rj] else (rj, ri)
                parent[small] = big
    groups = {k: root(k) for k in cols}
    if all(g == k for k, g in groups.items()):
        return labels, cols
    out = labels.copy()
    for k, g in groups.items():
        if g != k:
            out[labels == k] = g
    return out, sorted(set(groups.values()))


def _erase_baseline_bars(labels: np.ndarray) -> tuple[np.ndarray, int, int | None]:
    """Volume histograms stand on one baseline row: find the row where the most columns' runs end
    and erase, column by column, the run of the baseline pixel's colour ending there."""
    mask = remove_thin_lines(labels >= 0)
    h, w = mask.shape
    if h < 10:
        return labels, 0, None
    ends = mask & ~np.vstack([mask[1:], np.zeros((1, w), dtype=bool)])   # the plot's last row ends runs too
    counts = ends.sum(axis=1)
    base = int(counts.argmax())
    occupied = int(mask.any(axis=0).sum())
    if counts[base] < max(8, 0.2 * occupied):
        return labels, 0, None
    out = labels.copy()
    erased = 0
    for x in np.flatnonzero(ends[max(0, base - 1):base + 2].any(axis=0)):
        y = base + 1 if base + 1 < h and mask[base + 1, x] else base
        if not mask[y, x]:
            y = base - 1
        if y < 0 or not mask[y, x]:
            continue
        colour = labels[y, x]
        while y >= 0 and labels[y, x] == colour:
            out[y, x] = -1
            y -= 1
        erased += 1
    return out, erased, base


def _volume_bands(mask: np.ndarray) -> list[tuple[int, int]]:
    """Split the plot into horizontal bands separated by empty rows (stacked panes); a band whose
    objects mostly stand on one baseline is a volume histogram. Rows [a, b) of each such band."""
    bands = _runs(mask.any(axis=1))
    merged: list[list[int]] = []
    for a, b in bands:
        if merged and a - merged[-1][1] < 3:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    if len(merged) < 2:
        return []
    out = []
    # only the lowest band can be a volume pane, and it is the smaller part of the plot
    a, b = merged[-1]
    if b - a < 0.5 * (merged[-1][1] - merged[0][0]):
        objs = [o for o in _objects(mask[a:b]) if o[3] - o[2] >= 1]
        bottoms = np.array([o[3] for o in objs], dtype=np.int64)
        if len(objs) >= 8 and np.mean(np.abs(bottoms - np.bincount(bottoms).argmax()) <= 1) >= 0.6:
            out.append((a, b))
    return out


def _dominant(col: np.ndarray) -> int:
    v = col[col >= 0]
    if v.size == 0:
        return -1
    return int(np.bincount(v).argmax())


def _one_segment(sub: np.ndarray, baseline: int | None) -> np.ndarray:
    """Keep one vertical segment of a column run: rows split by 3+ empty rows are different
    objects (a candle above a volume bar of its colour). Segments standing on the volume
    baseline go first; of the rest, the one with most pixels."""
    rows = sub.any(axis=1)
    segs = _runs(rows)
    merged: list[list[int]] = []
    for a, b in segs:
        if merged and a - merged[-1][1] < 3:
            merged[-1][1] = b
        else:
            merged.append([a, b])
    if len(merged) < 2:
        return sub
    keep = [m for m in merged if baseline is None or m[1] - 1 < baseline - 1] or merged
    a, b = max(keep, key=lambda m: int(sub[m[0]:m[1]].sum()))
    out = np.zeros_like(sub)
    out[a:b] = sub[a:b]
    return out


def _candle(sub: np.ndarray, cls: np.ndarray, x0: int, baseline: int | None = None) -> PixelCandle | None:
    sub = _one_segment(sub, baseline)
    cols = np.flatnonzero(sub.any(axis=0))
    if cols.size == 0:
        return None
    tops = np.array([np.argmax(sub[:, i]) for i in cols])
    bots = np.array([sub.shape[0] - 1 - np.argmax(sub[::-1, i]) for i in cols])
    high, low = int(tops.min()), int(bots.max())
    body_top, body_bot = float(np.median(tops)), float(np.median(bots))
    if cols.size >= 3:
        # the wick column(s) reach beyond the body; the body is what the other columns share
        ext = bots - tops
        body_cols = ext <= np.median(ext) + 1
        if body_cols.sum() >= 1:
            body_top, body_bot = float(np.median(tops[body_cols])), float(np.median(bots[body_cols]))
    hollow = False
    if cols.size >= 4 and body_bot - body_top >= 4:
        inner = sub[int(body_top) + 2:int(body_bot) - 1, cols[1]:cols[-1]]
        if inner.size:
            hollow = bool(inner.mean() < 0.45)
    v = cls[sub]
    k = int(np.bincount(v[v >= 0]).argmax()) if (v >= 0).any() else -1
    return PixelCandle(x0 + int(cols[0]), x0 + int(cols[-1]) + 1, high + EDGE, body_top + EDGE,
                       body_bot + EDGE, low + EDGE, k, hollow)


def extend_grey_wicks(candles: list[PixelCandle], rgb: np.ndarray, bg: np.ndarray, y0: int,
                      y1: int) -> tuple[list[PixelCandle], int]:
    """Some styles draw wicks in a grey or black pen (mplfinance 'yahoo'): follow the body's
    centre column up and down through dark-or-light neutral pixels far from the background."""
    out, extended = [], 0
    d_bg = np.abs(rgb.astype(np.int16) - bg.astype(np.int16)).sum(axis=2)
    chrom = rgb.max(axis=2).astype(np.int16) - rgb.min(axis=2)
    wick_px = (d_bg > 120) & (chrom < 40)
    grey_cols: dict[int, np.ndarray] = {}

    def column(x: int) -> np.ndarray:
        """Wick pixels of column x, minus a vertical grid line's colour when one runs there
        (mplfinance puts grid lines on bar centres)."""
        if x not in grey_cols:
            col = wick_px[:, x].copy()
            seg = rgb[y0:y1, x].astype(np.int64)
            packed = (seg[:, 0] << 16) | (seg[:, 1] << 8) | seg[:, 2]
            vals, counts = np.unique(packed, return_counts=True)
            v = int(vals[counts.argmax()])
            mode = np.array([(v >> 16) & 255, (v >> 8) & 255, v & 255], dtype=np.int16)
            if counts.max() > 0.3 * (y1 - y0) and np.abs(mode - bg).sum() > 0:
                col &= np.abs(rgb[:, x].astype(np.int16) - mode).sum(axis=1) > 60
            grey_cols[x] = col
        return grey_cols[x]

    for c in candles:
        best_hi, best_lo = c.high, c.low
        for x in {(c.x0 + c.x1 - 1) // 2, (c.x0 + c.x1) // 2}:
            wick_col = column(x)
            y = int(c.high - EDGE) - 1
            while y >= y0 and wick_col[y]:
                y -= 1
            if int(c.high - EDGE) - 1 - y >= 2:
                best_hi = min(best_hi, y + 1 + EDGE)
            y = int(c.low - EDGE) + 1
            while y < y1 and wick_col[y]:
                y += 1
            if y - (int(c.low - EDGE) + 1) >= 2:
                best_lo = max(best_lo, y - 1 + EDGE)
        if best_hi != c.high or best_lo != c.low:
            extended += 1
            c = PixelCandle(c.x0, c.x1, best_hi, c.body_top, c.body_bottom, best_lo, c.cls, c.hollow)
        out.append(c)
    return out, extended
