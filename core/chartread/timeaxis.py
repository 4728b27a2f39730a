"""The time axis under the plot: HH:MM labels and the bar spacing → interval and bar times.

Times are the chart's own clock (the time zone the chart shows, unknown from pixels alone), so
bar times are reported as time of day "HH:MM"; day labels ("22", "Jan 22") split sessions.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import numpy as np

from core.chartread.ocr import Word

_HHMM = re.compile(r"^([01]?[0-9]|2[0-3]):([0-5][0-9])$")
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
STANDARD = {"1m": 60, "2m": 120, "3m": 180, "5m": 300, "10m": 600, "15m": 900, "30m": 1800, "1h": 3600,
            "2h": 7200, "4h": 14_400, "1D": 86_400}


@dataclass(frozen=True)
class TimeAxis:
    interval: str | None
    confidence: float
    labels: list[tuple[float, str]]           # (x, text) of every label read
    bar_times: list[str | None]


def _minutes(text: str) -> int | None:
    m = _HHMM.match(text.strip())
    return int(m.group(1)) * 60 + int(m.group(2)) if m else None


def _is_day_label(text: str) -> bool:
    t = text.strip().lower()
    return (t.isdigit() and 1 <= int(t) <= 31 and len(t) <= 2) or t[:3] in _MONTHS or bool(re.fullmatch(r"\d{4}", t))


def read_time_axis(words: list[Word], bar_x: np.ndarray, spacing: float) -> TimeAxis:
    labels = sorted(((w.xc, w.text) for w in words), key=lambda p: p[0])
    clock = [(x, m) for x, t in labels if (m := _minutes(t)) is not None]
    days = [x for x, t in labels if _is_day_label(t)]
    n = len(bar_x)
    if n == 0 or spacing <= 0:
        return TimeAxis(None, 0.0, labels, [None] * n)
    estimates = []
    for (x1, m1), (x2, m2) in itertools.pairwise(clock):
        if m2 <= m1 or any(x1 < d < x2 for d in days):
            continue
        bars_between = (x2 - x1) / spacing
        if bars_between >= 1:
            estimates.append((m2 - m1) * 60 / bars_between)
    interval, conf = None, 0.0
    if estimates:
        # each pair snapped on its own, the interval most pairs agree on wins (then the closest):
        # one misread label (11:35 read as 12:35) spoils the pairs it is in, not the median of all
        snapped: dict[str, list[float]] = {}
        for est in estimates:
            name, secs = min(STANDARD.items(), key=lambda kv: abs(np.log(kv[1] / est)))
            snapped.setdefault(name, []).append(abs(est - secs) / secs)
        name, rels = min(snapped.items(), key=lambda kv: (-len(kv[1]), float(np.median(kv[1]))))
        rel = float(np.median(rels))
        if rel < 0.2:
            agree = len(rels) / len(estimates)
            interval, conf = name, round(max(0.3, 0.9 - rel * 2) * min(1.0, len(rels) / 2) * agree, 2)
    elif days and not clock:
        # only day labels: at most ~1 bar per calendar day between two day-of-month labels → daily
        nums = [(x, int(t)) for x, t in labels if t.strip().isdigit() and 1 <= int(t) <= 31]
        per_day = [(x2 - x1) / spacing / (d2 - d1) for (x1, d1), (x2, d2) in itertools.pairwise(nums) if d2 > d1]
        if per_day and float(np.median(per_day)) <= 1.2:
            interval, conf = "1D", 0.5
    times: list[str | None] = [None] * n
    if interval and interval != "1D" and clock:
        step = STANDARD[interval] // 60
        bounds = sorted(days)
        for i, x in enumerate(bar_x):
            seg = np.searchsorted(bounds, x + spacing / 2, side="right")
            same = [(cx, m) for cx, m in clock if np.searchsorted(bounds, cx + spacing / 2, side="right") == seg]
            if not same:
                continue
            cx, m = min(same, key=lambda p: abs(p[0] - x))
            k = round((x - cx) / spacing)
            minute = (m + k * step) % (24 * 60)
            times[i] = f"{minute // 60:02d}:{minute % 60:02d}"
    return TimeAxis(interval, conf, labels, times)


def has_clock(words: list[Word]) -> bool:
    return any(_minutes(w.text) is not None for w in words)


def slanted_labels(words: list[Word], width: int, height: int, angle_deg: float) -> list[Word]:
    """Words read on a crop turned by `angle_deg` (PIL's rotate, expand=True) → words at the x of
    their label's tick in the unturned crop. matplotlib centres a slanted label on its tick, so each
    tesseract line's middle is mapped back and its words all take that x. A date part
    ("Jul 01,") is kept only where it differs from the label before, so it splits sessions at a
    day change rather than at every label of a multi-day chart."""
    t = np.deg2rad(angle_deg)
    c, s = np.cos(t), np.sin(t)
    # the turned crop's size with expand=True, and both centres
    rw, rh = abs(width * c) + abs(height * s), abs(width * s) + abs(height * c)
    lines: dict[int, list[Word]] = {}
    for w in words:
        lines.setdefault(w.line, []).append(w)
    out: list[Word] = []
    prev_date = None
    for ws in sorted(lines.values(), key=lambda ws: max(w.x1 for w in ws)):
        ws = sorted(ws, key=lambda w: w.x0)
        # matplotlib centres a turned label's box on its tick (mplfinance); the line's middle
        mid_u, mid_v = (ws[0].x0 + ws[-1].x1) / 2, (ws[0].yc + ws[-1].yc) / 2
        du, dv = mid_u - rw / 2, mid_v - rh / 2
        # PIL turns counter-clockwise on screen (y down): undo it
        x = width / 2 + du * c - dv * s
        # compared loosely: OCR reads one "Jul" as "jul" or drops a comma
        date = " ".join(w.text.lower().strip(",.") for w in ws if _minutes(w.text) is None)
        for w in ws:
            clock = _minutes(w.text) is not None
            if not clock and (date == prev_date or prev_date is None):
                continue
            # a day word just left of its clock word: the day changes at this label
            out.append(Word(w.text.strip(","), x - (0 if clock else 0.5), 0.0, x + (0 if clock else -0.5), 1.0,
                            w.conf, w.line))
        if any(_minutes(w.text) is not None for w in ws):
            prev_date = date
    return out
