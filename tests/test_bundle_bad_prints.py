"""Issue 17: obvious bad prints in the bundled minute bars (SPY 2013-10-08 high 167.51 at 15:03 and
15:36 with the market at 166) are clipped in the bundle build by a documented robust rule."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.market import bundle
from core.market.bundle import BAD_PRINT_K, BarLibrary, clip_bad_prints
from core.market.importer import read_bars_file
from core.paths import bundled_data_dir


def _spy_raw(shared_data: Path):  # type: ignore[no-untyped-def]
    return read_bars_file(shared_data / "intraday" / "lean_equity_1min_samples.csv", "SPY").bars


def _at(bars, stamp: str) -> int:  # type: ignore[no-untyped-def]
    return int(np.searchsorted(bars.ts, pd.Timestamp(stamp, tz="America/New_York").value))


def test_the_shipped_spy_minutes_have_no_167_51_spike() -> None:
    spy = BarLibrary(bundled_data_dir()).minute("SPY")
    for stamp in ("2013-10-08 15:03", "2013-10-08 15:36"):
        i = _at(spy, stamp)
        assert spy.high[i] < 166.3 and spy.high[i] >= max(spy.open[i], spy.close[i])


def test_the_rule_clips_lone_wicks_and_nothing_else(shared_data: Path) -> None:
    raw = _spy_raw(shared_data)
    clean, changed = clip_bad_prints(raw)
    i = _at(raw, "2013-10-08 15:03")
    assert raw.high[i] == pytest.approx(167.51) and changed[i]
    assert clean.high[i] == pytest.approx(166.03)   # the neighbours' highest high, above the body
    # Only wicks move: opens, closes, volumes, stamps are the real ones; unflagged bars are untouched.
    assert np.array_equal(clean.open, raw.open) and np.array_equal(clean.close, raw.close)
    assert np.array_equal(clean.volume, raw.volume) and np.array_equal(clean.ts, raw.ts)
    assert np.array_equal(clean.high[~changed], raw.high[~changed])
    assert np.array_equal(clean.low[~changed], raw.low[~changed])
    assert np.all(clean.high >= np.maximum(clean.open, clean.close))
    assert np.all(clean.low <= np.minimum(clean.open, clean.close))
    assert 0 < changed.sum() < 0.005 * len(raw)       # a handful, not a smoothing of the data
    # A wick just under the threshold stays: the 8×-range rule is not a tight filter.
    big_but_real = raw.high - np.maximum(raw.open, raw.close)
    assert (big_but_real[~changed] > 0.3).any()


def test_the_build_logs_each_clip(shared_data: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger=bundle.__name__):
        bundle.build_bundle(shared_data, tmp_path)
    spy = [r.getMessage() for r in caplog.records if "SPY: clipped" in r.getMessage()]
    assert spy and "2013-10-08 15:03" in spy[0] and "2013-10-08 15:36" in spy[0]
    assert BAD_PRINT_K == 8.0
