"""Training samples from captures: features only from bars ended by the capture time, labels from
the session's bars after it. Real bundled SPY minute bars throughout."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.collection.labels import sample_at, samples_from_history, samples_from_snapshots, save_capture_samples
from core.market.bars import Bars
from core.market.bundle import BarLibrary
from core.market.calendar import calendar_for
from core.market.intervals import M5
from core.market.resample import resample
from core.market.sessions import in_regular_hours
from core.paths import bundled_data_dir
from core.store import SnapshotsRepo, TrainingSamplesRepo, open_store, sqlite_url
from core.store.engine import Store
from models.dataset import build_samples

ET = "America/New_York"
MIN_NS = 60_000_000_000


@pytest.fixture(scope="module")
def minute() -> Bars:
    """Six consecutive real SPY sessions (2013-10-04 … 2013-10-11), regular hours."""
    m = BarLibrary(bundled_data_dir()).minute("SPY")
    m = m[in_regular_hours(m.ts, calendar_for("SPY"))]
    return m.between(int(pd.Timestamp("2013-10-04", tz=ET).value), int(pd.Timestamp("2013-10-12", tz=ET).value))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = open_store(sqlite_url(tmp_path / "tc.db"))
    s.migrate()
    yield s
    s.close()


def et(day: str, hhmm: str) -> int:
    return int(pd.Timestamp(f"{day} {hhmm}", tz=ET).value)


def altered_after(bars: Bars, t: int, factor: float = 1.07) -> Bars:
    """Every bar that has not ended by t rewritten (prices scaled, volume changed)."""
    later = bars.ts + MIN_NS > t
    k = np.where(later, factor, 1.0)
    wide = np.where(later, 1.001, 1.0)
    return Bars(bars.ts, bars.open * k, bars.high * k * wide, bars.low * k / wide, bars.close * k,
                np.where(later, bars.volume * 3 + 1, bars.volume))


FEATURES = ("anchor", "sigma", "tau", "n_bars")


def assert_same_features(a, b) -> None:  # type: ignore[no-untyped-def]
    for f in FEATURES:
        assert getattr(a, f) == getattr(b, f), f
    assert np.array_equal(a.window, b.window) and np.array_equal(a.ctx, b.ctx)
    assert np.array_equal(a.new_session, b.new_session) and np.array_equal(a.image, b.image)


@pytest.mark.parametrize("hhmm", ["09:30", "10:15", "13:00", "15:55"])
def test_no_feature_changes_when_every_later_bar_is_rewritten(minute: Bars, hhmm: str) -> None:
    t = et("2013-10-09", hhmm)
    bars5 = resample(minute, M5, calendar_for("SPY"))
    base = sample_at(bars5, "SPY", t)
    assert base is not None
    changed = sample_at(resample(altered_after(minute, t), M5, calendar_for("SPY")), "SPY", t)
    assert changed is not None
    assert_same_features(base, changed)
    # …while the labels did see the rewrite (so the test could fail).
    assert changed.label_close != base.label_close and changed.label_high != base.label_high


def test_labels_come_from_the_rest_of_the_session(minute: Bars) -> None:
    t = et("2013-10-09", "10:15")
    s = sample_at(minute, "SPY", t)
    assert s is not None
    rest = minute.between(t, et("2013-10-09", "16:00"))
    assert s.anchor == minute.between(None, t).close[-1]
    assert (s.label_close, s.label_high, s.label_low) == (rest.close[-1], rest.high.max(), rest.low.min())
    assert s.tau == 345 and s.interval_minutes == 1
    assert s.change == pytest.approx(rest.close[-1] - s.anchor) and s.direction == int(np.sign(s.change))
    up = s.anchor * np.exp(s.sigma * np.sqrt(s.tau))
    assert s.hit_up == bool(rest.high.max() >= up)
    # The open capture: no bar of the day yet; the chart is the previous sessions.
    o = sample_at(minute, "SPY", et("2013-10-09", "09:30"))
    assert o is not None and o.ctx[8] == 0.0 and o.anchor == minute.between(None, et("2013-10-09", "09:30")).close[-1]
    assert sample_at(minute, "SPY", et("2013-10-09", "16:00")) is None      # nothing left to forecast
    assert sample_at(minute, "SPY", et("2013-10-09", "08:00")) is None      # before the open


def test_history_samples_match_the_predictors_dataset(minute: Bars) -> None:
    """On the predictor's own decision times the builder reproduces models.dataset exactly."""
    bars5 = resample(minute, M5, calendar_for("SPY"))
    ds = build_samples(bars5, "SPY", min_history=20)
    pick = np.linspace(0, len(ds) - 1, 12).astype(int)
    mine = samples_from_history(bars5, "SPY", ds.decision_ns[pick])
    assert len(mine) == len(pick)
    for s, i in zip(mine, pick, strict=True):
        assert s.anchor == ds.anchor[i] and s.sigma == ds.sigma[i] and s.tau == ds.tau[i]
        assert np.array_equal(s.window, ds.window[i]) and np.allclose(s.ctx, ds.ctx[i])
        assert (s.label_close, s.label_high, s.label_low) == (ds.label_close[i], ds.label_high[i], ds.label_low[i])


def test_samples_from_collected_captures_and_stored_bars(minute: Bars, store: Store) -> None:
    snaps = SnapshotsRepo(store)
    cal = calendar_for("SPY")
    for d in sorted(set(pd.DatetimeIndex(minute.ts).tz_localize("UTC").tz_convert(ET).date)):
        o, c = cal.rth_bounds_ns(cal.index_of(d))
        snaps.save_session_bars("SPY", d, minute.between(o, c))
    day = date(2013, 10, 9)
    ts = pd.Timestamp(et("2013-10-09", "10:30"), tz="UTC").to_pydatetime()
    before = snaps.add(symbol="SPY", snapshot_type="before", timestamp=pd.Timestamp(et("2013-10-09", "09:30"),
                       tz="UTC").to_pydatetime(), image_path="/x/before.png", session_date=day)
    after = snaps.add(symbol="SPY", snapshot_type="after", timestamp=pd.Timestamp(et("2013-10-09", "16:00"),
                      tz="UTC").to_pydatetime(), image_path="/x/after.png", session_date=day)
    candle = snaps.add(symbol="SPY", snapshot_type="session_candle", timestamp=ts, image_path="/x/c.png",
                       session_date=day, interval_minutes=15,
                       bar_time=pd.Timestamp(et("2013-10-09", "10:15"), tz="UTC").to_pydatetime())
    got = {s.snapshot_id: s for s in samples_from_snapshots(store, "SPY")}
    assert set(got) == {before.id, candle.id}                   # 'after' ends the session: no label
    assert got[before.id].target_snapshot_id == after.id and got[before.id].decision_ns == et("2013-10-09", "09:30")
    assert got[candle.id].decision_ns == et("2013-10-09", "10:30") and got[candle.id].interval_minutes == 15

    # Rewrite every stored bar after the candle's time: its features stay, its labels move.
    t = et("2013-10-09", "10:30")
    o, c = cal.rth_bounds_ns(cal.index_of(day))
    snaps.save_session_bars("SPY", day, altered_after(minute.between(o, c), t))
    again = {s.snapshot_id: s for s in samples_from_snapshots(store, "SPY")}
    assert_same_features(got[candle.id], again[candle.id])
    assert again[candle.id].label_close != got[candle.id].label_close
    assert_same_features(got[before.id], again[before.id])

    n = save_capture_samples(TrainingSamplesRepo(store), list(again.values()))
    assert n == 2
