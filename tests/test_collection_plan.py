"""The collection plan on the exchange calendar: December 2026 (Christmas, the Christmas Eve
half-day), DST, and the CLI printing the same plan the scheduler follows."""

from __future__ import annotations

import itertools
import json
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path

import pandas as pd
import pytest

from core.clock import ReplayClock
from core.collection import cli
from core.collection.plan import plan_runs
from core.collection.scheduler import CollectionConfig, Scheduler
from core.errors import InputError
from core.store import open_store, sqlite_url

ET = "America/New_York"


def et(ns: int) -> pd.Timestamp:
    return pd.Timestamp(ns, tz="UTC").tz_convert(ET)


def test_december_2026_with_christmas_and_the_half_day() -> None:
    runs = plan_runs(["MNQ1!", "MES1!"], date(2026, 12, 1), date(2026, 12, 31), candle_intervals=[15, 60])
    # Expected sessions written down independently: every weekday except Friday 25 December.
    weekdays = [date(2026, 12, 1) + timedelta(days=i) for i in range(31)]
    expected_days = [d for d in weekdays if d.weekday() < 5 and d != date(2026, 12, 25)]
    assert len(expected_days) == 22
    for sym in ("MNQ1!", "MES1!"):
        mine = [r for r in runs if r.symbol == sym]
        opens = [r for r in mine if r.kind == "open"]
        closes = {r.session_date: et(r.at_ns) for r in mine if r.kind == "close"}
        assert [r.session_date for r in opens] == expected_days
        assert all(et(r.at_ns).strftime("%H:%M") == "09:30" for r in opens)
        assert all(r.at_ns % 86_400_000_000_000 == 14 * 3_600_000_000_000 + 30 * 60_000_000_000 for r in opens)
        assert {d: t.strftime("%H:%M") for d, t in closes.items()} == \
            {d: ("13:00" if d == date(2026, 12, 24) else "16:00") for d in expected_days}
        assert all(et(r.at_ns).weekday() < 5 for r in mine)
        candles: dict[tuple[date, int], list[pd.Timestamp]] = defaultdict(list)
        for r in mine:
            if r.kind == "candle":
                assert r.interval_minutes is not None and r.bar_start_ns is not None
                assert r.at_ns - r.bar_start_ns == r.interval_minutes * 60_000_000_000
                candles[(r.session_date, r.interval_minutes)].append(et(r.at_ns))
        assert [t.strftime("%H:%M") for t in candles[(date(2026, 12, 24), 60)]] == ["10:30", "11:30", "12:30"]
        assert len(candles[(date(2026, 12, 24), 15)]) == 14 and len(candles[(date(2026, 12, 23), 15)]) == 26
        # Hourly candles exactly once an hour, never twice (the seed's defect).
        for (_, n), times in candles.items():
            gaps = {(b - a).total_seconds() for a, b in itertools.pairwise(times)}
            assert gaps == {n * 60.0}
    assert Counter(r.kind for r in runs) == Counter({"open": 44, "close": 44, "candle": 2 * (21 * 32 + 17)})
    assert [r.sort_key() for r in runs] == sorted(r.sort_key() for r in runs)


def test_dst_moves_the_utc_time_not_the_exchange_time() -> None:
    runs = plan_runs(["SPY"], date(2027, 3, 12), date(2027, 3, 15))   # DST starts Sunday 14 March 2027
    opens = [pd.Timestamp(r.at_ns, tz="UTC") for r in runs if r.kind == "open"]
    assert [t.strftime("%m-%d %H:%M") for t in opens] == ["03-12 14:30", "03-15 13:30"]


def test_bad_plans_name_the_field() -> None:
    with pytest.raises(InputError, match="to"):
        plan_runs(["MNQ1!"], date(2026, 12, 2), date(2026, 12, 1))
    with pytest.raises(InputError, match="candles"):
        plan_runs(["MNQ1!"], date(2026, 12, 1), date(2026, 12, 2), candle_intervals=[7])
    with pytest.raises(InputError, match="symbols"):
        plan_runs([" "], date(2026, 12, 1), date(2026, 12, 2))


def test_cli_prints_the_plan_the_scheduler_follows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["schedule", "--from", "2026-12-21", "--to", "2026-12-28", "--candles", "1h", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    store = open_store(sqlite_url(tmp_path / "tc.db"))
    sched = Scheduler(clock=ReplayClock(0), bars=None, store=store, data_dir=tmp_path,  # type: ignore[arg-type]
                      capture=None, config=CollectionConfig(candle_intervals=(60,)))
    planned = sched.plan(date(2026, 12, 21), date(2026, 12, 28))
    store.close()
    assert out["runs"] == [r.to_json() for r in planned] and out["count"] == len(planned)
    first = out["runs"][0]
    assert first == {"symbol": "MES1!", "kind": "open", "session_date": "2026-12-21", "interval_minutes": None,
                     "exchange_time": "2026-12-21T09:30:00-05:00", "utc_time": "2026-12-21T14:30:00+00:00"}
    assert {r["session_date"] for r in out["runs"]} == {"2026-12-21", "2026-12-22", "2026-12-23", "2026-12-24",
                                                         "2026-12-28"}
    assert cli.main(["schedule", "--from", "2026-12-31", "--to", "2026-12-01", "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["field"] == "to"
    assert cli.main(["schedule", "--from", "31/12/2026", "--to", "2026-12-01", "--json"]) == 2
    assert json.loads(capsys.readouterr().out)["field"] == "from"
    assert cli.main(["schedule", "--from", "2026-12-01", "--to", "2026-12-02", "--candles", "7m"]) == 2
    assert cli.main(["launch"]) == 2
