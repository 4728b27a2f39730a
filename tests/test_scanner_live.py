"""The live rescan on a bar close (it carries the detections and the plan memo between closes) gives
exactly the report of a full scan from nothing, bar by bar over a replayed session of real bars."""

from __future__ import annotations

import logging
import os
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from core.market.bars import Bars
from core.market.importer import read_bars_file
from core.scanner.incremental import UNSEEN, DetectionRecord, extends
from core.scanner.live_process import _keep_heap
from core.scanner.setups import LiveScanner, ScanReport, scan_setups

REPO = Path(__file__).resolve().parents[1]
# (symbol, New York date replayed): each has earlier sessions in the file (prior-day levels).
DAYS = (("SPY", "2013-10-08"), ("BAC", "2013-10-09"), ("AAPL", "2014-06-09"), ("IBM", "2013-10-08"))


def data_dir() -> Path:
    env = os.environ.get("TRADECOACH_SHARED_DATA")
    path = Path(env) if env else REPO.parent / "shared" / "data"
    if not path.is_dir():
        raise FileNotFoundError(f"shared data not found at {path}; set TRADECOACH_SHARED_DATA")
    return path


@cache
def replay() -> dict[str, tuple[Bars, int]]:
    """Per symbol: its bars up to the end of the replayed day, and the index of that day's 09:30 bar."""
    out: dict[str, tuple[Bars, int]] = {}
    for sym, day in DAYS:
        b = read_bars_file(data_dir() / "intraday" / "lean_equity_1min_samples.csv", sym).bars
        ny = b.index.tz_convert("America/New_York")
        dates = np.asarray(ny.strftime("%Y-%m-%d"))
        minute = np.asarray(ny.hour * 60 + ny.minute)
        on_day = np.flatnonzero((dates == day) & (minute >= 570) & (minute < 960))
        assert len(on_day) > 300, (sym, day)
        out[sym] = (b[: int(on_day[-1]) + 1], int(on_day[0]))
    return out


def _same(a: ScanReport, b: ScanReport) -> None:
    assert a.to_dict() == b.to_dict()
    for x, y in zip(a.candidates, b.candidates, strict=True):
        assert (x.plan.to_dict() if x.plan else None) == (y.plan.to_dict() if y.plan else None)


def _walk(steps: range, check_every: int) -> LiveScanner:
    data = replay()
    live = LiveScanner("1m")
    for k in steps:
        series = {sym: b[: start + k + 1] for sym, (b, start) in data.items() if start + k < len(b)}
        # Odd bars: one symbol's bar is late; it closes with the next bar (two new bars at once).
        closed = [s for s in series if not (k % 2 and s == "BAC")] if k > steps.start else None
        if k % 2 and k > steps.start:
            series["BAC"] = data["BAC"][0][: data["BAC"][1] + k]
        rep, _ = live.update(series, closed)
        if (k - steps.start) % check_every == 0 or k == steps.stop - 1:
            _same(rep, scan_setups(series, "1m"))
    return live


def test_live_rescan_equals_a_full_scan_over_the_opening_hour() -> None:
    live = _walk(range(0, 70), check_every=3)
    assert live.record.dirs and all((d != UNSEEN).any() for d in live.record.dirs.values())


@pytest.mark.slow
def test_live_rescan_equals_a_full_scan_bar_by_bar_over_a_whole_session() -> None:
    _walk(range(0, 390), check_every=1)


def test_changed_history_is_detected_again_not_read_from_the_record() -> None:
    """A corrected bar inside the history (or another day on the same timestamps) drops the record."""
    b, start = replay()["SPY"]
    live = LiveScanner("1m")
    cut = b[: start + 45]
    live.update({"SPY": cut})
    k = 1.02
    other = Bars.from_arrays(cut.ts, cut.open * k, cut.high * k, cut.low * k, cut.close * k, cut.volume)
    assert not extends(cut, other) and extends(cut[:-3], cut)
    nxt = Bars.from_arrays(b.ts[: start + 46], np.append(other.open, b.open[start + 45] * k),
                           np.append(other.high, b.high[start + 45] * k), np.append(other.low, b.low[start + 45] * k),
                           np.append(other.close, b.close[start + 45] * k), b.volume[: start + 46])
    rep, _ = live.update({"SPY": nxt}, ["SPY"])
    _same(rep, scan_setups({"SPY": nxt}, "1m"))


def test_record_forgets_symbols_that_left_the_watchlist() -> None:
    rec = DetectionRecord(("a",))
    b = replay()["SPY"][0]
    rec.keep(["SPY", "X"], [b[:10], b[:5]], np.array([0, 10]), np.array([10, 15]),
             np.zeros((15, 1), dtype=np.int8))
    rec.retain(["SPY"])
    assert set(rec.bars) == {"SPY"} and rec.frame(["SPY"], [b[:12]]).shape == (12, 1)
    assert (rec.frame(["SPY"], [b[:12]])[10:] == UNSEEN).all()


def test_the_live_worker_keeps_its_heap(caplog: pytest.LogCaptureFixture) -> None:
    """The worker's heap setting is accepted by the C library (a refusal is logged as a warning)."""
    with caplog.at_level(logging.WARNING, logger="core.scanner.live_process"):
        _keep_heap()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
