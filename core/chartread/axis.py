"""The price axis: tick labels read by OCR → a robust pixel→price map (linear or log).

Labels are fitted by trying every pair of labels as a candidate line (RANSAC made exhaustive,
cheap for a dozen labels), keeping the one most labels agree with, then least squares on those.
Decimal commas and thousands separators are resolved by which reading fits best.
"""

from __future__ import annotations

import itertools
import math
import re
from dataclasses import dataclass

import numpy as np

from core.chartread.ocr import Word

_NUM = re.compile(r"^-?[0-9][0-9.,]*[0-9]$|^[0-9]$")


@dataclass(frozen=True, slots=True)
class Label:
    y: float
    text: str
    value: float


@dataclass(frozen=True)
class AxisFit:
    scale: str                  # "linear" or "log"
    a: float                    # value (or log value) = a + b * y
    b: float
    labels: list[Label]         # the labels the fit uses
    rejected: list[Label]       # read but off the line (indicator tags, stray tokens)
    residual_pct: float         # RMS of (fitted - label)/label over the used labels, in %
    decimal: str                # "." or ","
    decimals: int               # digits after the decimal separator on the labels

    def price(self, y: float) -> float:
        v = self.a + self.b * y
        return math.exp(v) if self.scale == "log" else v

    def y_of(self, price: float) -> float:
        v = math.log(price) if self.scale == "log" else price
        return (v - self.a) / self.b


def parse_number(text: str, decimal: str) -> float | None:
    """A label in the given convention: decimal "." (1,234.50) or "," (1.234,50 / 1 234,50)."""
    t = text.strip().replace(" ", "").replace("\u2212", "-")
    thousands = "," if decimal == "." else "."
    if not _NUM.match(t):
        return None
    if t.count(decimal) > 1 or thousands in t.partition(decimal)[2]:
        return None
    if thousands in t:
        head = t.split(decimal)[0]
        groups = head.lstrip("-").split(thousands)
        if any(len(g) != 3 for g in groups[1:]) or not groups[0] or len(groups[0]) > 3:
            return None
        t = t.replace(thousands, "")
    t = t.replace(decimal, ".")
    try:
        return float(t)
    except ValueError:
        return None


def _labels(words: list[Word], decimal: str) -> list[Label]:
    out = []
    for w in words:
        v = parse_number(w.text, decimal)
        if v is not None:
            out.append(Label(round(w.yc, 2), w.text, v))
    return out


def _fit_once(labels: list[Label], scale: str, tol_px: float) -> tuple[list[int], float, float] | None:
    if scale == "log" and any(lb.value <= 0 for lb in labels):
        return None
    ys = np.array([lb.y for lb in labels])
    vs = np.array([lb.value for lb in labels])
    if scale == "log":
        vs = np.log(vs)
    best: tuple[int, float, list[int]] | None = None
    for i, j in itertools.combinations(range(len(labels)), 2):
        if abs(ys[i] - ys[j]) < 5 or vs[i] == vs[j]:
            continue
        b = (vs[j] - vs[i]) / (ys[j] - ys[i])
        if b >= 0:          # prices grow upwards, y grows downwards
            continue
        a = vs[i] - b * ys[i]
        err_px = np.abs((vs - a) / b - ys)
        inl = np.flatnonzero(err_px <= tol_px)
        spread = float(err_px[inl].sum())
        if best is None or len(inl) > best[0] or (len(inl) == best[0] and spread < best[1]):
            best = (len(inl), spread, inl.tolist())
    if best is None or best[0] < 3:
        return None
    inl = best[2]
    b, a = np.polyfit(ys[inl], vs[inl], 1)
    if b >= 0:
        return None
    return inl, float(a), float(b)


def fit_axis(words: list[Word], tol_px: float = 2.5) -> AxisFit | None:
    """The best pixel→price map the words support, or None when fewer than 3 labels agree."""
    best: AxisFit | None = None
    for decimal in (".", ","):
        labels = _labels(words, decimal)
        if len(labels) < 3:
            continue
        for scale in ("linear", "log"):
            r = _fit_once(labels, scale, tol_px)
            if r is None:
                continue
            inl, a, b = r
            used = [labels[i] for i in inl]
            rej = [lb for i, lb in enumerate(labels) if i not in set(inl)]
            pred = np.array([a + b * lb.y for lb in used])
            if scale == "log":
                pred = np.exp(pred)
            vals = np.array([lb.value for lb in used])
            resid = float(np.sqrt(np.mean(((pred - vals) / np.abs(vals).clip(1e-12)) ** 2)) * 100)
            decs = [len(lb.text.replace(" ", "").split(decimal)[1]) if decimal in lb.text else 0 for lb in used]
            fit = AxisFit(scale, a, b, sorted(used, key=lambda lb: lb.y), rej, resid, decimal,
                          int(np.median(decs)) if decs else 0)
            if best is None or _better(fit, best):
                best = fit
    return best


def _better(new: AxisFit, old: AxisFit) -> bool:
    """More labels on the line wins; on a tie the smaller residual (log must beat linear clearly,
    since on a narrow range the two are indistinguishable and linear is the common case)."""
    if len(new.labels) != len(old.labels):
        return len(new.labels) > len(old.labels)
    margin = 0.5 if new.scale == "log" and old.scale == "linear" else 1.0
    if old.scale == "log" and new.scale == "linear":
        return new.residual_pct <= old.residual_pct * 2.0
    return new.residual_pct < old.residual_pct * margin


def snap_to_grid(fit_words: list[Word], grid: np.ndarray, max_px: float = 4.0) -> list[Word]:
    """Labels sit centred on their grid line: move each label's y to its grid row when one is near."""
    if grid.size == 0:
        return fit_words
    # grid rows may be 1-2 px thick: use the centres of consecutive row groups
    groups = np.split(grid, np.flatnonzero(np.diff(grid) > 1) + 1)
    centres = np.array([g.mean() + 0.5 for g in groups])
    out = []
    for w in fit_words:
        d = np.abs(centres - w.yc)
        i = int(d.argmin())
        if d[i] <= max_px:
            dy = centres[i] - w.yc
            out.append(Word(w.text, w.x0, w.y0 + dy, w.x1, w.y1 + dy, w.conf, w.line))
        else:
            out.append(w)
    return out
