from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from core.errors import InputError
from core.market.calendar import calendar_for, futures_root
from core.market.sessions import SessionPhase, minutes_to_close, phase_at, phases, session_ids


def et_ns(text: str) -> int:
    return int(pd.Timestamp(text, tz="America/New_York").as_unit("ns").value)


def test_holidays_half_days_and_dst_from_the_library() -> None:
    cal = calendar_for("SPY")
    assert not cal.is_session(date(2023, 7, 4))          # Independence Day
    assert not cal.is_session(date(2025, 12, 25))
    assert not cal.is_session(date(2026, 11, 22))         # a Sunday
    assert cal.is_session(date(2026, 11, 27))             # day after Thanksgiving: open...
    assert cal.is_half_day(cal.index_of(date(2026, 11, 27)))   # ...but closes at 13:00
    assert not cal.is_half_day(cal.index_of(date(2026, 11, 24)))
    s = cal.session(cal.index_of(date(2023, 7, 3)))
    assert pd.Timestamp(s.close_ns, tz="UTC").tz_convert("America/New_York").hour == 13
    # 09:30 New York is 13:30 UTC in summer and 14:30 UTC in winter.
    summer = cal.session(cal.index_of(date(2025, 3, 10))).open
    winter = cal.session(cal.index_of(date(2025, 3, 7))).open
    assert (summer.hour, winter.hour) == (13, 14)
    with pytest.raises(InputError, match="date"):
        cal.index_of(date(2023, 7, 4))


def test_futures_symbols_use_the_cme_calendar() -> None:
    assert futures_root("MNQ1!") == "MNQ" and futures_root("ESZ25") == "ES" and futures_root("/NQ") == "NQ"
    assert futures_root("SPY") is None and futures_root("QQQ") is None
    fut = calendar_for("ES1!")
    assert fut.code == "CMES" and fut.is_futures
    i = fut.index_of(date(2025, 11, 24))
    opens_et = pd.Timestamp(int(fut.opens_ns[i]), tz="UTC").tz_convert("America/New_York")
    assert (opens_et.day, opens_et.hour) == (23, 18)      # Globex opens the evening before


@pytest.mark.parametrize(
    ("when", "phase"),
    [("2025-03-10 08:00", SessionPhase.PREMARKET), ("2025-03-10 09:30", SessionPhase.OPEN_DRIVE),
     ("2025-03-10 09:59", SessionPhase.OPEN_DRIVE), ("2025-03-10 10:00", SessionPhase.MORNING),
     ("2025-03-10 11:29", SessionPhase.MORNING), ("2025-03-10 11:30", SessionPhase.MIDDAY),
     ("2025-03-10 13:59", SessionPhase.MIDDAY), ("2025-03-10 14:00", SessionPhase.AFTERNOON),
     ("2025-03-10 15:00", SessionPhase.POWER_HOUR), ("2025-03-10 15:59", SessionPhase.POWER_HOUR),
     ("2025-03-10 16:00", SessionPhase.POSTMARKET), ("2025-03-10 21:00", SessionPhase.CLOSED),
     ("2025-03-09 11:00", SessionPhase.CLOSED),            # Sunday
     ("2023-07-04 11:00", SessionPhase.CLOSED),            # holiday
     ("2023-07-03 12:15", SessionPhase.POWER_HOUR),        # half-day: the last hour is 12:00–13:00
     ("2023-07-03 11:45", SessionPhase.MIDDAY),
     ("2023-07-03 13:30", SessionPhase.POSTMARKET)],
)
def test_session_phases_equities(when: str, phase: SessionPhase) -> None:
    assert phase_at(et_ns(when), calendar_for("SPY")) is phase


def test_phases_vectorised_equals_scalar() -> None:
    cal = calendar_for("SPY")
    ts = np.arange(et_ns("2025-03-07 03:00"), et_ns("2025-03-11 21:00"), 7 * 60_000_000_000, dtype=np.int64)
    vec = phases(ts, cal)
    assert [SessionPhase(v) for v in vec[::97]] == [phase_at(int(t), cal) for t in ts[::97]]


def test_minutes_to_close_and_session_ids() -> None:
    cal = calendar_for("SPY")
    assert minutes_to_close(et_ns("2025-03-10 15:00"), cal) == 60
    assert minutes_to_close(et_ns("2023-07-03 12:00"), cal) == 60
    assert minutes_to_close(et_ns("2025-03-10 17:00"), cal) is None
    ts = np.array([et_ns("2025-03-10 04:00"), et_ns("2025-03-10 15:59"), et_ns("2025-03-10 19:00"),
                   et_ns("2025-03-11 09:30")])
    ids = session_ids(ts, cal)
    assert ids[0] == ids[1] == ids[2] != ids[3]            # extended hours join the day's session
    fut = calendar_for("ES")
    fids = session_ids(np.array([et_ns("2025-03-10 17:30"), et_ns("2025-03-10 18:30"),
                                 et_ns("2025-03-11 09:30")]), fut)
    assert fids[0] != fids[1] == fids[2]                   # futures sessions start at 18:00 ET


def test_new_york_offset_table_matches_pandas_around_every_transition() -> None:
    # The tabulated UTC→New York offsets (a live rescan's fast path) against pandas' tz database:
    # random instants over the table's years plus ±1 ns and ±1 h around each transition.
    from core.market import sessions as S

    starts, _ = S._offset_table()
    assert len(starts) > 2 * 100          # two transitions a year since 1970 (none missed)
    rng = np.random.default_rng(7)
    lo = int(np.datetime64("1970-01-02", "ns").astype(np.int64))
    ts = rng.integers(lo, S._TABLE_END_NS - 1, 200_000)
    near = (starts[1:, None] + np.array([-3_600 * 10**9, -1, 0, 1, 3_600 * 10**9])[None, :]).ravel()
    ts = np.concatenate([ts, near]).astype(np.int64)
    assert (S.et_offset_ns(ts) == S._pandas_offset_ns(ts)).all()
    late = np.array([S._TABLE_END_NS + 200 * 86_400 * 10**9], dtype=np.int64)   # July 2100: pandas path
    assert (S.et_offset_ns(late) == S._pandas_offset_ns(late)).all()
    assert S.et_offset_ns(late)[0] == -4 * 3_600 * 10**9
