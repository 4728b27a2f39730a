"""Plan follower transitions, target engine, evaluator and the eval-scanner CLI on real data."""

from __future__ import annotations

import asyncio
import io
import itertools
import json
import math
from contextlib import redirect_stdout
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.bus import Bus
from core.market.bars import Bar
from core.market.intervals import M5
from core.scanner.cli import main
from core.scanner.evaluate import evaluate, fit_calibration, reliability, resolve
from core.scanner.events import FollowerEvent, PlanIssued
from core.scanner.features import SeriesInput, build_features
from core.scanner.follower import FollowState, PlanFollower
from core.scanner.levels import Level, snap
from core.scanner.plan import Plan
from core.scanner.targets import TargetStats, round_to_tick, space_targets, statistical_targets, tick_size
from tests.test_scanner import data_dir, spy5, walked


def _long_plan() -> Plan:
    _, plans = walked("SPY")
    return next(p for p in plans if p.direction == "long")


def _bar(ts: int, o: float, h: float, lo: float, c: float) -> Bar:
    return Bar(ts, o, h, lo, c, 1000.0)


def test_follower_walks_planned_entered_scaled_trailing_exited() -> None:
    p = _long_plan()
    t1, t2, t3 = p.targets
    fol = PlanFollower(p, atr_trail=1.0)
    ts = p.bar_ts + M5.ns
    assert fol.state == FollowState.PLANNED
    ev = fol.on_bar(_bar(ts, p.entry + 0.02, p.entry + 0.03, p.entry - 0.01, p.entry + 0.01))
    assert [e.kind for e in ev] == ["entered"] and fol.state == FollowState.ENTERED
    near_stop = p.stop + 0.1 * p.risk
    ev = fol.on_bar(_bar(ts + M5.ns, p.entry, p.entry, near_stop, p.entry - 0.2 * p.risk))
    assert [e.kind for e in ev] == ["stop_warning"]
    ev = fol.on_bar(_bar(ts + 2 * M5.ns, p.entry, t1 + 0.01, p.entry - 0.01, t1))
    assert [e.kind for e in ev] == ["tp_hit", "trail_adjusted"] and ev[0].target == 1
    assert fol.state == FollowState.SCALED and fol.stop == p.entry  # breakeven at TP1
    ev = fol.on_bar(_bar(ts + 3 * M5.ns, t1, t2 + 0.01, t1 - 0.01, t2))
    assert fol.state == FollowState.TRAILING and ev[0].kind == "tp_hit" and ev[0].target == 2
    trail = [e for e in ev if e.kind == "trail_adjusted"]
    assert trail and trail[0].price == pytest.approx(t2 - p.atr)
    ev = fol.on_bar(_bar(ts + 4 * M5.ns, t2, t3 + 0.01, t2 - 0.01, t3))
    assert [e.kind for e in ev] == ["tp_hit", "exited"] and fol.exit_reason == "target"
    assert fol.on_bar(_bar(ts + 5 * M5.ns, t3, t3, t3, t3)) == []


def test_follower_stop_invalidation_and_replan_on_the_bus() -> None:
    p = _long_plan()
    ts = p.bar_ts + M5.ns
    # Stop: entered, then a bar through the stop; a bar touching stop and TP1 counts as the stop.
    fol = PlanFollower(p)
    fol.on_bar(_bar(ts, p.entry, p.entry, p.entry, p.entry))
    ev = fol.on_bar(_bar(ts + M5.ns, p.entry, p.targets[0] + 1, p.stop - 0.01, p.entry))
    assert [e.kind for e in ev] == ["stop", "exited"] and fol.exit_reason == "stop"
    # Invalidation before entry (a gap away closing beyond the invalidation level).
    below = min(p.invalidation, p.stop) - 1.0
    fol = PlanFollower(p)
    ev = fol.on_bar(_bar(ts, below, below + 0.05, below - 0.05, below))
    assert [e.kind for e in ev] == ["invalidated", "exited"] and fol.state == FollowState.EXITED

    async def run() -> list[object]:
        bus = Bus()
        bus.bind()
        got: list[object] = []
        bus.subscribe(FollowerEvent, got.append)
        bus.subscribe(PlanIssued, got.append)
        new = replace(p, stop=p.stop - 0.1)
        fol = PlanFollower(p, bus=bus, replan=lambda old, why: new)
        fol.on_bar(_bar(ts, p.entry, p.entry, p.entry, p.entry))
        fol.on_bar(_bar(ts + M5.ns, p.entry, p.entry, p.stop - 0.01, p.stop))
        assert fol.state == FollowState.PLANNED and fol.plan.version == p.version + 1
        await asyncio.sleep(0.05)
        await bus.close()
        return got

    got = asyncio.run(run())
    kinds = [g.kind if isinstance(g, FollowerEvent) else "plan_issued" for g in got]
    assert kinds[:3] == ["entered", "stop", "exited"] and "plan_issued" in kinds


def test_target_engine_ticks_spacing_statistics_and_snapping() -> None:
    assert tick_size("ES") == 0.25 and tick_size("NQZ25") == 0.25 and tick_size("YM1!") == 1.0
    assert tick_size("RTY") == 0.10 and tick_size("CL") == 0.01 and tick_size("SPY") == 0.01
    assert round_to_tick(5012.37, 0.25) == 5012.25 and round_to_tick(5012.37, 0.25, "up") == 5012.5
    assert round_to_tick(101.125, 0.01, "down") == 101.12
    assert space_targets(100.0, 1, [100.1, 100.2, 103.0], 0.5) == [100.5, 101.0, 103.0]
    assert space_targets(100.0, -1, [99.9, 99.0], 0.5) == [99.5, 99.0]
    # Statistical targets on real MFEs from the SPY evaluation.
    _, plans = walked("SPY")
    f = build_features([SeriesInput("SPY", spy5())], M5)
    mfe = []
    for p in plans[:400]:
        t = resolve(f, p, int(np.searchsorted(f.ts, p.bar_ts)))
        if t is not None:
            mfe.append(t.mfe_atr)
    stats = TargetStats(np.array(mfe))
    out = statistical_targets(100.0, 1, 2.0, stats, (0.6, 0.3))
    assert out[0][0] < out[1][0]
    for (price, prob), want in zip(out, (0.6, 0.3), strict=True):
        assert prob == pytest.approx(float(np.mean(np.array(mfe) >= (price - 100.0) / 2.0)))
        assert abs(prob - want) < 0.05
    levels = [Level("session_high", 101.05), Level("pdh", 100.9), Level("vwap", 101.0)]
    assert snap(101.0, 100.0, 1, levels, 0.2, 0.1)[1].label == "pdh"       # priority beats distance
    assert snap(101.0, 100.0, 1, levels, 0.05, 0.1)[1].label == "vwap"     # pdh outside the window
    assert snap(101.0, 100.0, 1, [Level("pdh", 99.9)], 2.0, 0.1)[1] is None  # wrong side of entry


def test_calibration_fit_and_reliability() -> None:
    rng = np.random.default_rng(3)
    raw = rng.uniform(0.25, 0.85, 4000)
    books = rng.choice(["a", "b"], 4000)
    p_true = np.where(books == "a", 0.2, 0.45) + 0.3 * (raw - 0.55)
    hit = rng.uniform(size=4000) < p_true
    cal = fit_calibration(list(books[:3000]), raw[:3000], hit[:3000])
    pred = np.array([cal.apply(b, r) for b, r in zip(books[3000:], raw[3000:], strict=True)])
    ece, bins = reliability(pred, hit[3000:])
    assert ece < 0.05 and sum(b["count"] for b in bins) == 1000
    assert cal.apply("a", 0.55) < cal.apply("b", 0.55) and cal.weight > 0
    naive = np.full(1000, 0.9)
    assert reliability(naive, hit[3000:])[0] > 0.4


def test_evaluate_resolves_plans_against_the_real_path() -> None:
    bars = spy5()[: 78 * 120]
    rep = evaluate(bars, "SPY", M5)
    f = build_features([SeriesInput("SPY", bars)], M5)
    assert rep.sessions == len(np.unique(f.row[f.row >= 0]))
    assert rep.trades
    for t in rep.trades[:200]:
        last = int(f.sessions.last[t.session_row])
        assert t.bar < t.exit_bar <= last
        s = t.direction
        path_lo, path_hi = f.low[t.bar + 1:t.exit_bar + 1], f.high[t.bar + 1:t.exit_bar + 1]
        adv, fav = (path_lo, path_hi) if s > 0 else (path_hi, path_lo)
        if t.exit_reason == "tp1":
            assert t.hit and t.r == pytest.approx(t.rr_t1)
            assert (fav[-1] - t.tp1) * s >= 0 and ((adv - t.stop) * s > 0).all()
        elif t.exit_reason == "stop":
            assert not t.hit and t.r <= -1 + 1e-9 and (adv[-1] - t.stop) * s <= 0
            assert ((adv[:-1] - t.stop) * s > 0).all() and ((fav[:-1] - t.tp1) * s < 0).all()
        else:
            assert t.exit_bar == last and ((adv - t.stop) * s > 0).all() and ((fav - t.tp1) * s < 0).all()
            assert t.r == pytest.approx((f.close[last] - t.entry) * s / abs(t.entry - t.stop))
    # One open plan per playbook at a time.
    for name in rep.playbooks:
        ts = [t for t in rep.trades if t.playbook == name]
        assert all(b.bar > a.exit_bar for a, b in itertools.pairwise(ts))
        st = rep.playbooks[name]
        if ts:
            assert st.signals == len(ts)
            assert st.hit_rate == pytest.approx(np.mean([t.hit for t in ts]))
            assert st.mean_r == pytest.approx(np.mean([t.r for t in ts]))


def test_cli_json_and_table_on_a_real_csv(tmp_path: Path) -> None:
    src = data_dir() / "intraday" / "SPY_5min_2018-2020_ib.csv"
    df = pd.read_csv(src, nrows=78 * 90)
    path = tmp_path / "spy_sample.csv"
    df.to_csv(path, index=False)
    buf = io.StringIO()
    with redirect_stdout(buf):
        assert main(["--bars", str(path), "--symbol", "SPY", "--json"]) == 0
    out = json.loads(buf.getvalue())
    assert set(out) >= {"playbooks", "calibration", "sessions", "symbol"}
    assert out["symbol"] == "SPY" and out["sessions"] >= 85
    assert set(out["calibration"]) >= {"ece", "bins"}
    for st in out["playbooks"].values():
        assert set(st) >= {"signals", "hit_rate", "mean_r", "expectancy_r", "mfe", "mae"}
    assert sum(st["signals"] for st in out["playbooks"].values()) > 20
    buf = io.StringIO()
    with redirect_stdout(buf):
        assert main(["--bars", str(path)]) == 0
    text = buf.getvalue()
    assert "orb_retest" in text and "ECE" in text
    assert main(["--bars", str(tmp_path / "missing.csv")]) == 2
    assert not math.isnan(out["calibration"]["ece"] or 0.0)
