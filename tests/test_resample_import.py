from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.errors import DataError, InputError
from core.market.bars import Bars
from core.market.calendar import calendar_for
from core.market.importer import read_bars_file
from core.market.intervals import D1, H1, H4, M1, M5, M15, M30
from core.market.resample import BarAggregator, resample
from core.market.sessions import in_regular_hours


@pytest.fixture(scope="module")
def spy_minute(shared_data: Path) -> Bars:
    return read_bars_file(shared_data / "intraday" / "lean_equity_1min_samples.csv", "SPY").bars


def test_minute_to_daily_matches_the_vendor_daily_file(spy_minute: Bars, shared_data: Path) -> None:
    """An independent check: Lean's own daily bars for the same days."""
    daily = resample(spy_minute, D1, calendar_for("SPY")).to_pandas("America/New_York")
    ref = pd.read_csv(shared_data / "daily" / "lean_us_equities_daily_raw.csv")
    ref = ref[ref.symbol == "SPY"].set_index("date")
    compared = 0
    for ts, row in daily.iterrows():
        if ts.date().isoformat() not in ref.index:
            continue  # the vendor daily file ends in 2021
        compared += 1
        r = ref.loc[ts.date().isoformat()]
        assert ts.hour == 9 and ts.minute == 30
        assert row.open == pytest.approx(r.open, abs=0.011) and row.close == pytest.approx(r.close, abs=0.011)
        assert row.high == pytest.approx(r.high, abs=0.011) and row.low == pytest.approx(r.low, abs=0.011)
        assert row.volume == r.volume
    assert compared == 6


def test_hourly_buckets_anchor_at_the_open_and_respect_half_days(shared_data: Path) -> None:
    bars = read_bars_file(shared_data / "intraday" / "SPY_5min_2018-2020_ib.csv", "SPY").bars
    cal = calendar_for("SPY")
    h1 = resample(bars, H1, cal).to_pandas("America/New_York")
    assert set(h1.index.minute) == {30}
    assert h1.index.hour.min() == 9 and h1.index.hour.max() == 15
    half = h1[h1.index.date == pd.Timestamp("2019-11-29").date()]   # day after Thanksgiving, 13:00 close
    assert list(half.index.strftime("%H:%M")) == ["09:30", "10:30", "11:30", "12:30"]
    src = bars.to_pandas("America/New_York")
    last = src[(src.index >= "2019-11-29 12:30") & (src.index < "2019-11-29 13:00")]
    assert half.iloc[-1].high == last.high.max() and half.iloc[-1].volume == last.volume.sum()
    h4 = resample(bars, H4, cal).to_pandas("America/New_York")
    assert set(h4.index.strftime("%H:%M")) == {"09:30", "13:30"}


@pytest.mark.parametrize("interval", [M5, M15, M30, H1])
def test_live_aggregator_equals_batch_resample(spy_minute: Bars, interval) -> None:  # type: ignore[no-untyped-def]
    cal = calendar_for("SPY")
    rth = spy_minute[in_regular_hours(spy_minute.ts, cal)][:900]
    agg = BarAggregator(interval, cal, M1)
    closed = []
    for bar in rth:
        # an in-progress update first (half the bar), then the final bar
        half = type(bar)(bar.ts, bar.open, max(bar.open, bar.close), min(bar.open, bar.close), bar.close, 1.0)
        for b, done in agg.update(half, False) + agg.update(bar, True):
            if done:
                closed.append(b)
    batch = resample(rth, interval, cal)
    got = Bars.from_bars(closed)
    n = len(got)
    assert n >= len(batch) - 1
    assert got.equals(batch[:n])


SHARED_FILES = [
    ("intraday/SPY_5min_2018-2020_ib.csv", "SPY", None, M5, 58020),
    ("intraday/lean_equity_1min_samples.csv", "IBM", None, M1, None),
    ("intraday/ES_futures_1min_samples_lean.csv", "ES", None, M1, None),
    ("intraday/SPX_index_1min_samples_lean.csv", "SPX", None, M1, 1812),
    ("intraday/SPX_index_1min_2019-11-05_to_08_mplfinance.csv", "SPX", None, M1, 1563),
    ("intraday/SPY_1hour_1998-2021_lean.csv", "SPY", None, H1, 40832),
    ("intraday/ES1_continuous_5min_2024-12_to_2025-12_tradingview.parquet", "ES1!", None, M5, 70616),
    ("intraday/ES_continuous_1min_2025-07_to_2025-12_tradingview.parquet", "ES1!", "UTC", M1, 105825),
    ("daily/GOOG_daily_2004-2013_backtestingpy.csv", "GOOG", None, D1, 2148),
    ("daily/SP500_index_daily_1999-2018_arch.csv", "SPX", None, D1, 5031),
    # Yahoo's file holds two impossible bars (open below low on 2015-03-05 and 2015-03-30): dropped here.
    ("daily/SPY_daily_2008-2017_yahoo_mplfinance.csv", "SPY", None, D1, 2517),
    ("daily/lean_us_equities_daily_raw.csv", "QQQ", None, D1, None),
    ("daily/ES1_continuous_daily_1997-2025_tradingview.parquet", "ES1!", None, D1, 7168),
]


@pytest.mark.parametrize(("rel", "symbol", "tz", "interval", "rows"), SHARED_FILES)
def test_importer_reads_every_layout(shared_data: Path, rel: str, symbol: str, tz, interval, rows) -> None:  # type: ignore[no-untyped-def]
    drop = "yahoo" in rel
    imp = read_bars_file(shared_data / rel, symbol, tz=tz, drop_invalid=drop)
    assert imp.interval is interval
    assert imp.dropped == (2 if drop else 0)
    if rows is not None:
        assert len(imp.bars) == rows
    imp.bars.validate()
    assert np.all(imp.bars.high >= imp.bars.low)


def test_impossible_vendor_bars_are_refused_with_the_file_line(shared_data: Path) -> None:
    with pytest.raises(DataError, match=r"open: below low, got 209.42 at line 1808 .*--drop-invalid"):
        read_bars_file(shared_data / "daily" / "SPY_daily_2008-2017_yahoo_mplfinance.csv", "SPY")


def test_importer_column_order_and_units(shared_data: Path) -> None:
    # mplfinance's SPX file is Date,Open,Close,High,Low: columns are matched by name, not position.
    spx = read_bars_file(shared_data / "intraday" / "SPX_index_1min_2019-11-05_to_08_mplfinance.csv", "SPX")
    first = spx.bars.bar(0)
    assert (first.open, first.high, first.low, first.close) == (3080.8, 3081.47, 3080.3, 3080.49)
    assert spx.bars.to_pandas("America/New_York").index[0].strftime("%H:%M") == "09:30"
    ib = read_bars_file(shared_data / "intraday" / "SPY_5min_2018-2020_ib.csv", "SPY")
    assert ib.bars.volume[0] == 25179 * 100 and any("volume_lots100" in n for n in ib.notes)
    es = read_bars_file(shared_data / "intraday" / "ES_futures_1min_samples_lean.csv", "ES")
    assert np.all(np.diff(es.bars.ts) > 0)   # one contract per timestamp after front-month choice


def _write(tmp: Path, df: pd.DataFrame) -> Path:
    path = tmp / "bars.csv"
    df.to_csv(path, index=False)
    return path


@pytest.fixture
def real_rows(shared_data: Path) -> pd.DataFrame:
    return pd.read_csv(shared_data / "intraday" / "SPY_5min_2018-2020_ib.csv", nrows=200)


def test_importer_errors_name_field_and_row(tmp_path: Path, real_rows: pd.DataFrame) -> None:
    with pytest.raises(DataError, match="columns: missing close"):
        read_bars_file(_write(tmp_path, real_rows.drop(columns=["close"])), "SPY")
    dup = pd.concat([real_rows.iloc[:10], real_rows.iloc[9:20]])
    # File lines: the header is line 1, so data row i (from 0) is line i + 2.
    with pytest.raises(DataError, match=r"duplicate timestamp .* at line 12 \(same as line 11\)"):
        read_bars_file(_write(tmp_path, dup), "SPY")
    swapped = real_rows.copy()
    swapped.iloc[[5, 6]] = swapped.iloc[[6, 5]].to_numpy()
    with pytest.raises(DataError, match=r"not sorted: line 8 .* is before line 7"):
        read_bars_file(_write(tmp_path, swapped), "SPY")
    nan = real_rows.copy()
    nan.loc[7, "high"] = np.nan
    with pytest.raises(DataError, match=r"high: NaN .* line 9"):
        read_bars_file(_write(tmp_path, nan), "SPY")
    with pytest.raises(InputError, match="tz"):
        read_bars_file(_write(tmp_path, real_rows), "SPY", tz="UTC")     # stamps already carry offsets
    with pytest.raises(InputError, match="symbol"):
        read_bars_file(_write(tmp_path, real_rows), "  ")
    with pytest.raises(InputError, match="file"):
        read_bars_file(tmp_path / "nope.csv", "SPY")


def test_missing_volume_is_an_error_unless_allowed(shared_data: Path) -> None:
    path = shared_data / "intraday" / "ES1_continuous_1hour_2022-2025_tradingview.parquet"
    with pytest.raises(DataError, match="volume: NaN"):
        read_bars_file(path, "ES1!")
    imp = read_bars_file(path, "ES1!", allow_missing_volume=True)
    assert len(imp.bars) == 23208 and any("missing volumes" in n for n in imp.notes)
