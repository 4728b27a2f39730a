"""What ships in resources/data is provably the real Apache-2.0 Lean data, converted."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from core.market.bundle import DAILY_FILE, HOURLY_FILE, MINUTE_FILE, BarLibrary, build_bundle
from core.paths import bundled_data_dir


def test_shipped_bundle_equals_a_fresh_conversion(shared_data: Path, tmp_path: Path) -> None:
    build_bundle(shared_data, tmp_path)
    for name in (MINUTE_FILE, DAILY_FILE, HOURLY_FILE):
        shipped = pd.read_parquet(bundled_data_dir() / name)
        fresh = pd.read_parquet(tmp_path / name)
        pd.testing.assert_frame_equal(shipped, fresh)


def test_split_adjustment_removes_the_aapl_split_gap() -> None:
    lib = BarLibrary(bundled_data_dir())
    aapl = lib.minute("AAPL").to_pandas("America/New_York")
    before = aapl[aapl.index.date == pd.Timestamp("2014-06-06").date()].close.iloc[-1]
    after = aapl[aapl.index.date == pd.Timestamp("2014-06-09").date()].close.iloc[0]
    assert abs(after / before - 1) < 0.03      # raw prices drop 645 → 93 across the 7:1 split



def test_unsplit_symbol_is_untouched(shared_data: Path) -> None:
    spy = BarLibrary(bundled_data_dir()).minute("SPY")
    raw = pd.read_csv(shared_data / "intraday" / "lean_equity_1min_samples.csv")
    raw = raw[raw.symbol == "SPY"]
    assert np.array_equal(spy.close, raw.close.to_numpy()) and np.array_equal(spy.volume, raw.volume.to_numpy())


def test_bundle_licence_is_documented() -> None:
    text = (bundled_data_dir() / "README.md").read_text()
    assert "Apache" in text and "QuantConnect" in text
