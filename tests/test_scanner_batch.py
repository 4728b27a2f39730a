"""The scan's batched paths (levels, expected moves, would-be plans of every armed setup at once)
give what the one-bar definitions give, whichever other bars share the batch — a live rescan batches
only the symbols whose bar closed, a full scan all of them, and their reports must be identical.
Likewise the arrays shared between playbooks per frame and the columns a live frame reuses."""

from __future__ import annotations

import math

import numpy as np
import pytest

from core.indicators import atr
from core.market.importer import read_bars_file
from core.market.intervals import parse_interval
from core.overlays.liquidity import pivot_indices
from core.scanner.features import SeriesInput, build_features
from core.scanner.levels import PRIORITY, Level, key_levels_at, key_levels_many, last_swings, snap
from core.scanner.plan import (
    MINUTES_PER_YEAR,
    Plan,
    PlanContext,
    Rejected,
    _snap,
    _SnapLevels,
    build_plan,
    build_plans,
    expected_moves,
)
from core.scanner.playbooks import PLAYBOOKS
from core.scanner.playbooks.base import ARMED, _volume_ok, explain, volume_ok
from core.scanner.playbooks.liquidity_sweep import _pools, pools
from core.scanner.playbooks.retest import RetestWindow
from tests.test_scanner_live import data_dir, replay


def _d(x: Plan | Rejected) -> object:
    return x.to_dict() if isinstance(x, Plan) else x     # NaN-safe comparison (NaN → None)


def _frame():  # type: ignore[no-untyped-def]
    data = replay()
    series = [SeriesInput(sym, b[: start + 200]) for sym, (b, start) in data.items()]
    return build_features(series, parse_interval("1m"))


def test_swings_and_expected_moves_match_their_one_bar_definitions_in_any_batch() -> None:
    f = _frame()
    idx = np.concatenate([np.arange(int(a), int(b)) for a, b in zip(f.series_start, f.series_end, strict=True)])
    hi, lo = last_swings(f, idx)
    em = expected_moves(f, idx)
    rng = np.random.default_rng(3)
    part = np.sort(rng.choice(idx, 300, replace=False))
    hi_p, lo_p = last_swings(f, part)
    pos = np.searchsorted(idx, part)
    np.testing.assert_array_equal(hi_p, hi[pos])                 # batch-invariant, bit for bit
    np.testing.assert_array_equal(lo_p, lo[pos])
    np.testing.assert_array_equal(expected_moves(f, part), em[pos])
    found = 0
    for i in part.tolist():
        start = max(int(f.series_start[f.series_of[i]]), i - 60)
        for x, lowest, got in ((f.high, False, hi), (f.low, True, lo)):
            piv = pivot_indices(x[start:i + 1], 3, lowest)
            want = float(x[start + piv[-1]]) if len(piv) else math.nan
            k = int(np.searchsorted(idx, i))
            assert (math.isnan(want) and math.isnan(got[k])) or want == got[k], (i, lowest)
            found += len(piv) > 0
        a = max(int(f.series_start[f.series_of[i]]), i - 78)
        c = f.close[a:i + 1]
        k = int(np.searchsorted(idx, i))
        if len(c) < 10 or not math.isfinite(f.mos[i]):
            assert math.isnan(em[k])
            continue
        sigma = float(np.std(np.diff(np.log(c)), ddof=1)) * math.sqrt(MINUTES_PER_YEAR)
        minutes = max(0.0, (int(f.sessions.close_ns[int(f.row[i])]) - int(f.ts[i])) / 60e9 - 1)
        assert math.isclose(em[k], float(f.close[i]) * sigma * math.sqrt(minutes / MINUTES_PER_YEAR), rel_tol=1e-12)
    assert found > 100          # the data has swings: the comparison was not all-NaN


def test_levels_and_would_be_plans_in_a_batch_equal_those_built_one_by_one() -> None:
    f = _frame()
    last = f.series_end - 1
    f.avwaps(last)
    avw = [{n: v for n, v in f.avwaps_at(int(i)).items() if math.isfinite(v)} for i in last]
    many = key_levels_many(f, last, avw, [None] * len(last))
    assert many == [key_levels_at(f, int(i), a) for i, a in zip(last, avw, strict=True)]
    assert all(len(lv) >= 8 for lv in many)
    armed = 0
    for end in range(150, 200, 7):       # several decision bars: different armed sets
        idx = np.array([int(a) + end - 1 for a in f.series_start], dtype=np.int64)
        for pb in PLAYBOOKS:
            su = pb.setups(f, idx)
            rows = np.flatnonzero(su.state == ARMED)
            if not len(rows):
                continue
            sig = su.signals(rows)
            batch = build_plans(f, sig, PlanContext.with_caches(), pb.spec.conditions, pb.spec.invalidation)
            one = [build_plan(f, sig, k, PlanContext.with_caches(), pb.spec.conditions, pb.spec.invalidation)
                   for k in range(len(sig))]
            assert [_d(x) for x in batch] == [_d(x) for x in one]
            armed += len(rows)
    assert armed >= 10


def test_shared_per_frame_arrays_equal_a_fresh_computation_and_cannot_be_changed() -> None:
    """Detectors and setups of several playbooks share volume tests, liquidity pools, retest windows
    and AVWAPs per frame and bars (`Features.derived`): each equals its computation from nothing."""
    f = _frame()
    last = (f.series_end - 1).astype(np.int64)
    earlier = last - 7
    for idx in (last, earlier, last):                         # the third: answered from the memo
        vo = volume_ok(f, idx)
        np.testing.assert_array_equal(vo, _volume_ok(f, idx, 1.0, 20))
        np.testing.assert_array_equal(volume_ok(f, idx, 1.5), _volume_ok(f, idx, 1.5, 20))
        with pytest.raises(ValueError):
            vo[0] = not vo[0]                                 # shared: read-only
        for x, lowest in ((f.low, True), (f.high, False)):
            np.testing.assert_array_equal(pools(f, idx, x, lowest), _pools(f, idx, x, lowest))
        w, ref = RetestWindow.at(f, idx), RetestWindow._at(f, idx)
        for name in ("close", "tol", "lo3", "hi3", "cmax", "cmin", "prev_hi", "prev_lo"):
            np.testing.assert_array_equal(getattr(w, name), getattr(ref, name))
        av, fresh = f.avwaps(idx), f.avwaps(idx, {})
        assert av.keys() == fresh.keys()
        for name in av:
            np.testing.assert_array_equal(av[name], fresh[name])
    assert any(np.isfinite(v).any() for v in f.avwaps(last).values())     # not an all-NaN comparison
    assert np.isfinite(pools(f, np.arange(len(f), dtype=np.int64), f.low, True)).any()


def test_session_columns_and_reused_clock_columns_equal_their_definitions() -> None:
    """Session highs/lows are the running extremes of each regular session, the daily ATR is Wilder's
    over each series' sessions, and a frame built with the previous frame's clock columns (a live
    rescan) equals one built from nothing — also when one symbol's history changed."""
    data = replay()
    series = [SeriesInput(sym, b[: start + 120]) for sym, (b, start) in data.items()]
    es = read_bars_file(data_dir() / "intraday" / "ES_continuous_1min_2025-07_to_2025-12_tradingview.parquet",
                        "ES", tz="UTC").bars
    series.append(SeriesInput("ES", es[: 30 * 1380]))         # ~30 sessions: a daily ATR of its own
    iv = parse_interval("1m")
    f = build_features(series, iv)
    t = f.sessions
    assert np.isfinite(t.atr_d).sum() > 10
    inside = np.zeros(len(f), dtype=bool)
    for a, b in zip(t.first.tolist(), (t.last + 1).tolist(), strict=True):
        np.testing.assert_array_equal(f.s_high[a:b], np.maximum.accumulate(f.high[a:b]))
        np.testing.assert_array_equal(f.s_low[a:b], np.minimum.accumulate(f.low[a:b]))
        inside[a:b] = True
    assert np.isnan(f.s_high[~inside]).all() and np.isnan(f.s_low[~inside]).all()
    for s in range(len(series)):
        rows = np.flatnonzero(t.series == s)
        want = atr(t.high[rows], t.low[rows], t.close[rows], 14) if len(rows) > 14 else np.full(len(rows), np.nan)
        np.testing.assert_array_equal(t.atr_d[rows], want)
    clock: dict = {}
    build_features([SeriesInput(s.symbol, s.bars[:-3]) for s in series], iv, clock)
    shifted = SeriesInput(series[1].symbol, data[series[1].symbol][0][5: data[series[1].symbol][1] + 125])
    for now in (series, [series[0], shifted, *series[2:]]):
        again, scratch = build_features(now, iv, dict(clock)), build_features(now, iv)
        for name in ("phase", "mos", "row", "vwap", "s_high", "orh", "pdh", "atr_d", "ema50", "adx"):
            np.testing.assert_array_equal(getattr(again, name), getattr(scratch, name), err_msg=name)


def test_target_snap_over_cached_level_triples_equals_snap() -> None:
    """Plans snap targets over each bar's levels sorted by price (cached per bar): the same choice as
    `levels.snap` (highest priority, then nearest, the first level on exact ties)."""
    rng = np.random.default_rng(5)
    labels = list(PRIORITY)
    hits = 0
    for _ in range(2000):
        levels = [Level(str(rng.choice(labels)), float(np.round(100 + rng.normal(0, 2), 1)))
                  for _ in range(int(rng.integers(0, 12)))]
        order = sorted(range(len(levels)), key=lambda k: levels[k].price)
        cached = _SnapLevels([levels[k].price for k in order],
                             [(PRIORITY.get(levels[k].label, 0), k, levels[k]) for k in order])
        target, entry = float(np.round(100 + rng.normal(0, 2), 1)), float(np.round(100 + rng.normal(0, 1), 1))
        d, floor = int(rng.choice([-1, 1])), float(rng.uniform(0, 0.5))
        # Windows that end exactly on a level (0.1 steps) test the bisection's edges.
        window = float(rng.uniform(0, 2)) if rng.random() < 0.5 else float(np.round(rng.uniform(0, 2), 1))
        got, want = _snap(target, entry, d, cached, window, floor), snap(target, entry, d, levels, window, floor)
        assert got[0] == want[0] and got[1] is want[1]
        hits += want[1] is not None
    assert hits > 500


def test_explain_gives_the_message_of_the_first_true_condition() -> None:
    rng = np.random.default_rng(9)
    conds = [rng.random(40) < p for p in (0.2, 0.4, 0.5)]
    msgs = ["first", "second", "third"]
    got = explain("none", *zip(conds, msgs, strict=True))
    want = np.select(conds, msgs, default="none").astype(object)
    assert got.dtype == object and got.tolist() == want.tolist()
    assert set(got.tolist()) == {"first", "second", "third", "none"}
    assert explain("none", (np.zeros(0, dtype=bool), "x")).tolist() == []
