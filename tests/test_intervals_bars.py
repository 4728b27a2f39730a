from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.errors import DataError, InputError
from core.market.bars import Bar, Bars
from core.market.importer import read_bars_file
from core.market.intervals import D1, H1, H4, M1, M5, M15, M30, parse_interval


@pytest.mark.parametrize(
    ("alias", "expected"),
    [("1", M1), ("1min", M1), ("1m", M1), ("5", M5), ("5m", M5), ("15", M15), ("30m", M30),
     ("60", H1), ("60m", H1), ("1hr", H1), ("h", H1), ("1h", H1), ("240", H4), ("4h", H4),
     ("1d", D1), ("1D", D1), ("day", D1), ("daily", D1), ("1440", D1), (" Daily ", D1)],
)
def test_interval_aliases(alias: str, expected: object) -> None:
    assert parse_interval(alias) is expected


@pytest.mark.parametrize("bad", ["2m", "week", "", "0", "1y"])
def test_unknown_interval_names_the_field(bad: str) -> None:
    with pytest.raises(InputError) as err:
        parse_interval(bad, field="interval")
    assert err.value.field == "interval"
    assert "1m" in err.value.reason


@pytest.fixture(scope="module")
def spy5(shared_data) -> Bars:  # type: ignore[no-untyped-def]
    return read_bars_file(shared_data / "intraday" / "SPY_5min_2018-2020_ib.csv", "SPY").bars


def test_bars_round_trip_pandas(spy5: Bars) -> None:
    df = spy5.to_pandas()
    back = Bars.from_pandas(df)
    assert back.equals(spy5)
    assert df.index.tz is not None and str(df.index.tz) == "UTC"
    assert spy5.to_pandas("America/New_York").index[0].hour == 9


def test_bars_validation_rejects_duplicates_unsorted_nan(spy5: Bars) -> None:
    head = spy5[:10]
    with pytest.raises(DataError, match="duplicate"):
        Bars.from_arrays(np.r_[head.ts[:5], head.ts[4:9]], *(np.r_[c[:5], c[4:9]] for c in
                         (head.open, head.high, head.low, head.close, head.volume)))
    with pytest.raises(DataError, match="not sorted"):
        Bars.from_arrays(head.ts[::-1], head.open, head.high, head.low, head.close, head.volume)
    close = head.close.copy()
    close[3] = np.nan
    with pytest.raises(DataError, match="close: NaN"):
        Bars.from_arrays(head.ts, head.open, head.high, head.low, close, head.volume)


def test_upsert_replaces_in_progress_and_appends(spy5: Bars) -> None:
    base = spy5[:100]
    last = base.bar(99)
    changed = Bar(last.ts, last.open, last.high + 1, last.low, last.close + 0.5, last.volume + 10)
    up = base.upsert(changed)
    assert len(up) == 100 and up.bar(99) == changed and up[:99].equals(base[:99])
    nxt = spy5.bar(100)
    assert base.upsert(nxt).equals(spy5[:101])
    with pytest.raises(DataError):
        base.upsert(spy5.bar(50))


def test_concat_overlap_and_between(spy5: Bars) -> None:
    a, b = spy5[:60], spy5[50:120]
    assert a.concat(b).equals(spy5[:120])
    t0, t1 = int(spy5.ts[10]), int(spy5.ts[20])
    assert spy5.between(t0, t1).equals(spy5[10:20])
    assert spy5.tail(5).equals(spy5[-5:])


def test_bar_merge_matches_resampled_ohlcv(spy5: Bars) -> None:
    bars = list(spy5[:6])
    merged = bars[0]
    for b in bars[1:]:
        merged = merged.merged(b)
    assert merged.open == bars[0].open and merged.close == bars[-1].close
    assert merged.high == max(b.high for b in bars) and merged.low == min(b.low for b in bars)
    assert merged.volume == pytest.approx(sum(b.volume for b in bars))
    assert pd.Timestamp(merged.ts, tz="UTC") == spy5.index[0]
