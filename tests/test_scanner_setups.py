"""Setup states on real data: triggered / armed / forming / none, ranking, the GPT's fields, diffs
between live rescans, idempotent setup keys, look-ahead, the shipped calibration, the replay data."""

from __future__ import annotations

import math
import os
import warnings
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from core.errors import DataError, InputError
from core.market.bars import Bars
from core.market.bundle import BarLibrary
from core.market.calendar import calendar_for
from core.market.importer import read_bars_file
from core.market.intervals import M5
from core.market.resample import resample
from core.scanner.calibration import (
    default_calibration,
    fit_calibration,
    lean_hourly_session_bars,
    load_calibration,
    save_calibration,
)
from core.scanner.features import SeriesInput, build_features
from core.scanner.plan import PlanContext
from core.scanner.playbooks import BY_NAME, PLAYBOOKS
from core.scanner.playbooks.base import ARMED, FORMING, NONE, row_nanmedian
from core.scanner.setups import (
    ACTIONABLE_ATR,
    Candidate,
    LiveScanner,
    ScanReport,
    SetupState,
    diff_reports,
    rescan,
    scan_setups,
)

REPO = Path(__file__).resolve().parents[1]
GPT_FIELDS = {"symbol", "rank", "score", "playbook", "state", "direction", "entry", "stop", "tps", "rr_t1",
              "confidence", "confidence_kind", "reasons", "entry_distance_pct", "entry_distance_atr",
              "bars_to_trigger", "actionable_soon", "plan_id"}
ROW_FIELDS = {"symbol", "price", "session_phase", "trend_stack", "key_levels", "expected_move",
              "no_candidate_reason"}
HISTORY = 78 * 4  # bars of 5-minute history handed to each scan (four sessions)


def data_dir() -> Path:
    env = os.environ.get("TRADECOACH_SHARED_DATA")
    path = Path(env) if env else REPO.parent / "shared" / "data"
    if not path.is_dir():
        raise FileNotFoundError(f"shared data not found at {path}; set TRADECOACH_SHARED_DATA")
    return path


@cache
def spy5() -> Bars:
    return read_bars_file(data_dir() / "intraday" / "SPY_5min_2018-2020_ib.csv", "SPY").bars


@cache
def rth_ends() -> np.ndarray:
    """Bars of the first 200 sessions between 10:00 and 15:50 ET (scan moments)."""
    b = spy5()[: 78 * 200]
    ny = b.index.tz_convert("America/New_York")
    minutes = np.asarray(ny.hour * 60 + ny.minute)
    return np.flatnonzero((minutes >= 600) & (minutes <= 950) & (np.arange(len(b)) >= HISTORY))


def scan_at(e: int, **kw: object) -> ScanReport:
    return scan_setups({"SPY": spy5()[e - HISTORY + 1:e + 1]}, "5m", **kw)  # type: ignore[arg-type]


@cache
def moments() -> dict[str, tuple[int, Candidate]]:
    """First real moment (bar index, candidate) found for each state, walking scan moments."""
    found: dict[str, tuple[int, Candidate]] = {}
    for e in rth_ends()[::7]:
        for c in scan_at(int(e)).candidates:
            found.setdefault(c.state.value, (int(e), c))
            found.setdefault(f"{c.state.value}:{c.playbook}", (int(e), c))
        if {"triggered", "armed", "forming"} <= set(found) and "armed:orb_retest" in found:
            break
    return found


def test_row_nanmedian_equals_numpy_on_real_volume_windows() -> None:
    f = build_features([SeriesInput("SPY", spy5()[:2000])], M5)
    idx = np.arange(0, 2000, 7)
    for w in (1, 2, 5, 20):
        win = f.window(f.volume, idx, w)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)   # all-NaN rows at the series start
            ref = np.nanmedian(win, axis=1)
        np.testing.assert_array_equal(row_nanmedian(win), ref)


def test_every_playbook_declares_how_it_is_armed() -> None:
    for pb in PLAYBOOKS:
        d = pb.spec.to_dict()
        assert d["armed"] and d["armed_entry"] and d["forming"], pb.name


def test_triggered_state_carries_the_plan_and_its_setup_key() -> None:
    e, c = moments()["triggered"]
    assert c.plan is not None and c.plan_id == c.plan.plan_id and c.setup_key == c.plan.setup_key
    assert c.entry == c.plan.entry and c.stop == c.plan.stop and c.tps == c.plan.targets
    assert c.bars_to_trigger == 0 and c.triggered_ts is not None and c.triggered_ts <= int(spy5().ts[e])
    # Idempotent: the same trigger bar gives the same key and plan id on the next bar's scan.
    nxt = scan_at(e + 1).state_of("SPY", c.playbook)
    if nxt is not None and nxt.state is SetupState.TRIGGERED and nxt.triggered_ts == c.triggered_ts:
        assert nxt.setup_key == c.setup_key and nxt.plan_id == c.plan_id


def test_armed_state_gives_the_would_be_plan_and_the_distance_to_the_trigger() -> None:
    e, c = moments()["armed"]
    b = spy5()[e - HISTORY + 1:e + 1]
    f = build_features([SeriesInput("SPY", b)], M5)
    i = len(b) - 1
    assert c.plan is not None and c.plan_id is None and c.setup_key is None
    s = 1 if c.direction == "long" else -1
    assert c.entry is not None and c.stop is not None and (c.entry - c.stop) * s > 0
    assert c.rr_t1 is not None and c.rr_t1 >= 1.5 - 1e-9          # it would pass the SPY gate
    dist = abs(float(b.close[-1]) - c.entry)
    assert c.entry_distance_atr == pytest.approx(dist / f.atr[i])
    assert c.entry_distance_pct == pytest.approx(100 * dist / b.close[-1])
    assert c.actionable_soon == (c.entry_distance_atr <= ACTIONABLE_ATR)
    assert c.bars_to_trigger is not None and c.bars_to_trigger >= 1
    assert c.trigger and c.reasons[0].startswith("armed: ")


def test_orb_retest_armed_on_real_data_matches_its_declared_structure() -> None:
    e, c = moments()["armed:orb_retest"]
    b = spy5()[e - HISTORY + 1:e + 1]
    f = build_features([SeriesInput("SPY", b)], M5)
    i = len(b) - 1
    orh, orl, close = f.orh[i], f.orl[i], f.close[i]
    tol = max(0.25 * f.atr[i], 0.0015 * close)
    first = int(f.sessions.first[f.row[i]])
    if c.direction == "long":
        assert close > orh and f.close[first:i + 1].max() > orh + tol
    else:
        assert close < orl and f.close[first:i + 1].min() < orl - tol
    assert f"{orh if c.direction == 'long' else orl:.2f}" in c.trigger


def test_forming_says_what_is_missing_and_none_says_why() -> None:
    e, c = moments()["forming"]
    assert c.missing and c.entry is None and c.plan_id is None and c.reasons == (f"forming: {c.missing}",)
    rep = scan_at(e)
    row = rep.symbols[0]
    names = {x.playbook for x in rep.candidates if x.symbol == "SPY"}
    assert set(row.none_reasons) == set(BY_NAME) - names          # every playbook is accounted for
    assert all(row.none_reasons.values())
    # Session phase: the gap fill runs only in the first two phases.
    late = next(int(x) for x in rth_ends() if spy5().index[int(x)].tz_convert("America/New_York").hour == 13)
    why = scan_at(late).symbols[0].none_reasons["gap_fill_open"]
    assert why.startswith("session phase midday; runs in open_drive, morning")
    # Not enough bars.
    short = scan_setups({"SPY": spy5()[100:120]}, "5m")
    assert short.candidates == ()
    assert short.symbols[0].no_candidate_reason and "not enough bars" in short.symbols[0].no_candidate_reason


def test_ranking_state_first_then_confidence_and_distance_and_gpt_fields() -> None:
    reps = [scan_at(int(e)) for e in rth_ends()[5:400:40]]
    cands = [c for r in reps for c in r.candidates]
    assert len({c.state for c in cands}) >= 2
    order = {SetupState.TRIGGERED: 3, SetupState.ARMED: 2, SetupState.FORMING: 1}
    for r in reps:
        assert [c.rank for c in r.candidates] == list(range(1, len(r.candidates) + 1))
        scores = [c.score for c in r.candidates]
        assert scores == sorted(scores, reverse=True)
        states = [order[c.state] for c in r.candidates]
        assert states == sorted(states, reverse=True)
        for c in r.candidates:
            d = c.to_dict()
            assert GPT_FIELDS <= set(d)
            assert d["state"] in ("triggered", "armed", "forming")
            assert d["confidence_kind"] == "heuristic" and d["calibration"] == "heuristic"
            assert (d["plan_id"] is not None) == (c.state is SetupState.TRIGGERED)
        doc = r.to_dict()
        assert ROW_FIELDS <= set(doc["symbols"][0]) and doc["interval"] == "5m"


@pytest.mark.slow
def test_diff_reports_armed_triggered_invalidated_on_a_real_sequence() -> None:
    """Walk consecutive bars of real sessions as live rescans; every change is explained by the
    states of the two scans, and the sequence shows armed, triggered and invalidated."""
    kinds: set[str] = set()
    prev: ScanReport | None = None
    memo: dict = {}
    start = int(rth_ends()[0])
    b = spy5()
    for e in range(start, start + 78 * 3):
        rep = rescan(prev, {"SPY": b[e - HISTORY + 1:e + 1]}, ["SPY"], "5m", memo=memo)
        for ch in diff_reports(prev, rep):
            kinds.add(ch.kind)
            before = prev.state_of(ch.symbol, ch.playbook) if prev else None
            after = rep.state_of(ch.symbol, ch.playbook)
            assert ch.before == (before.state if before else SetupState.NONE)
            assert ch.after == (after.state if after else SetupState.NONE)
            if ch.kind == "triggered":
                assert after is not None and after.setup_key == ch.setup_key
                assert after.triggered_ts == int(b.ts[e]) or before is None  # fires on the new bar
            if ch.kind == "invalidated":
                assert before is not None and before.setup_key == ch.setup_key and ch.detail
        prev = rep
    assert {"armed", "triggered", "invalidated"} <= kinds
    assert diff_reports(prev, prev) == []


def test_live_scanner_keeps_one_plan_per_setup_across_bar_closes() -> None:
    b = spy5()
    start = int(rth_ends()[40])
    live = LiveScanner("5m")
    seen: dict[str, tuple[str, float, int]] = {}
    triggered = 0
    for e in range(start, start + 40):
        rep, changes = live.update({"SPY": b[e - HISTORY + 1:e + 1]}, ["SPY"])
        assert live.report is rep
        for c in rep.candidates:
            if c.state is SetupState.TRIGGERED and c.plan is not None:
                key = c.setup_key
                assert key is not None
                ident = (c.plan.plan_id, c.plan.entry, c.plan.version)
                assert seen.setdefault(key, ident) == ident     # same setup → same plan, every bar
        triggered += sum(ch.kind == "triggered" for ch in changes)
    assert seen and triggered == len(seen)
    assert all(k[2] >= int(b.ts[start]) - LiveScanner.MEMO_KEEP_NS - M5.ns for k in live.memo)
    with pytest.raises(InputError):
        LiveScanner("5m", playbooks=["nope"])


def test_plan_memo_never_serves_a_plan_built_from_other_bars() -> None:
    """A replay that maps another real day onto the same timestamps gets plans from its own bars."""
    e, c = moments()["triggered"]
    b = spy5()[e - HISTORY + 1:e + 1]
    memo: dict = {}
    first = scan_setups({"SPY": b}, "5m", memo=memo).state_of("SPY", c.playbook)
    assert first is not None and first.plan is not None and memo
    k = 1.1
    other = Bars.from_arrays(b.ts, b.open * k, b.high * k, b.low * k, b.close * k, b.volume)
    again = scan_setups({"SPY": other}, "5m", memo=memo).state_of("SPY", c.playbook)
    fresh = scan_setups({"SPY": other}, "5m").state_of("SPY", c.playbook)
    assert again is not None and fresh is not None and again.to_dict() == fresh.to_dict()
    if again.entry is not None:
        assert again.entry == pytest.approx(first.plan.entry * k, rel=1e-3)


def test_diff_of_a_first_scan_reports_every_armed_and_triggered_setup() -> None:
    rep = scan_at(int(moments()["armed"][0]))
    changes = diff_reports(None, rep)
    wanted = {(c.symbol, c.playbook) for c in rep.candidates if c.state in (SetupState.ARMED, SetupState.TRIGGERED)}
    assert {(c.symbol, c.playbook) for c in changes} == wanted


@pytest.mark.parametrize("mode", ["truncate", "mutate"])
def test_armed_and_forming_states_do_not_read_the_future(mode: str) -> None:
    b = spy5()[: 78 * 40]
    f = build_features([SeriesInput("SPY", b)], M5)
    idx = np.flatnonzero(f.row >= 0)
    rng = np.random.default_rng(11)
    for pb in PLAYBOOKS:
        st = pb.setups(f, idx).state
        pool = [idx[st == s] for s in (ARMED, FORMING, NONE)]
        picks = [int(rng.choice(p)) for p in pool if len(p)]
        for i in picks:
            if mode == "truncate":
                g = build_features([SeriesInput("SPY", b[: i + 1])], M5)
            else:
                later = slice(i + 1, None)
                k = rng.uniform(0.9, 1.1, size=len(b) - i - 1)
                o, h, lo, c = (x.copy() for x in (b.open, b.high, b.low, b.close))
                o[later], c[later] = o[later] * k, c[later] * k
                h[later], lo[later] = h[later] * k * 1.01, lo[later] * k * 0.99
                g = build_features([SeriesInput("SPY", Bars.from_arrays(b.ts, o, h, lo, c, b.volume * 3))], M5)
            a, z = pb.setups(f, np.array([i])), pb.setups(g, np.array([i]))
            assert a.state[0] == z.state[0] and a.direction[0] == z.direction[0], (pb.name, i)
            assert a.why[0] == z.why[0] and a.describe(0) == z.describe(0)
            np.testing.assert_allclose([a.trigger[0], a.stop[0]], [z.trigger[0], z.stop[0]], equal_nan=True)


def test_scan_at_a_moment_equals_scan_of_the_history_cut_there_with_now() -> None:
    e = int(moments()["armed"][0])
    b = spy5()[e - HISTORY + 1:e + 40]
    cut = scan_setups({"SPY": b[:HISTORY]}, "5m")
    now = int(b.ts[HISTORY - 1]) + M5.ns
    later = scan_setups({"SPY": b}, "5m", now_ns=now)
    assert later.to_dict() == cut.to_dict()


def test_rescan_only_the_closed_symbols_keeps_the_others() -> None:
    ends = rth_ends()
    e1, e2 = int(ends[100]), int(ends[300])
    b = spy5()
    qqq_like = b[e2 - HISTORY + 1:e2 + 1]
    first = scan_setups({"SPY": b[e1 - HISTORY:e1], "ALT": qqq_like}, "5m")
    again = rescan(first, {"SPY": b[e1 - HISTORY + 1:e1 + 1], "ALT": qqq_like}, ["SPY"], "5m")
    full = scan_setups({"SPY": b[e1 - HISTORY + 1:e1 + 1], "ALT": qqq_like}, "5m")
    strip = [{k: v for k, v in c.to_dict().items() if k != "rank"} for c in again.candidates]
    assert sorted(map(repr, strip)) == sorted(repr({k: v for k, v in c.to_dict().items() if k != "rank"})
                                              for c in full.candidates)
    assert [r.symbol for r in again.symbols] == ["SPY", "ALT"]
    assert rescan(first, {"SPY": b}, [], "5m") is first


def test_bad_input_names_the_field() -> None:
    with pytest.raises(InputError) as e:
        scan_setups({"SPY": spy5()[:200]}, "5m", playbooks=["nope"])
    assert e.value.field == "playbooks"
    with pytest.raises(InputError) as e:
        scan_setups({}, "5m")
    assert e.value.field == "series"
    with pytest.raises(InputError) as e:
        scan_setups([SeriesInput("SPY", spy5()[:200]), SeriesInput("SPY", spy5()[:300])], "5m")
    assert e.value.field == "series" and "duplicate symbol SPY" in e.value.reason
    with pytest.raises(InputError) as e:
        scan_setups({"SPY": spy5()[:200]}, "5m", style="yolo")
    assert e.value.field == "style"
    rep = scan_setups({"SPY": spy5()[:200], "EMPTY": Bars.empty()}, "5m")
    assert [r.symbol for r in rep.symbols] == ["SPY", "EMPTY"]
    assert rep.symbols[1].no_candidate_reason == "no bars" and "EMPTY: no bars" in rep.warnings


def test_shipped_calibration_is_used_and_named() -> None:
    cal = default_calibration("1h")
    assert cal is not None and cal.source == "bundled SPY 1h 1998–2021" and cal.fit_count >= 100
    assert default_calibration("5m") is None
    doc = load_calibration(REPO / "resources" / "calibration" / "spy_1h.json")
    assert doc == cal and doc.provenance["licence"].startswith("Apache-2.0")
    e = int(moments()["armed"][0])
    rep = scan_at(e, ctx=PlanContext(calibration=cal))
    for c in rep.candidates:
        assert c.confidence_kind == "calibrated" and c.calibration == "bundled SPY 1h 1998–2021"
        assert 0 < c.confidence < 1


def test_fit_calibration_on_real_hourly_bars_and_refuses_too_little_history(tmp_path: Path) -> None:
    hourly = lean_hourly_session_bars(BarLibrary(REPO / "resources" / "data").hourly("SPY"))
    ny = hourly.index.tz_convert("America/New_York")
    assert ((ny.hour * 60 + ny.minute)[: 7] == [570, 600, 660, 720, 780, 840, 900]).all()
    cal = fit_calibration(hourly[-7 * 700:], "SPY", "1h")
    prov = cal.provenance
    assert cal.source.startswith("SPY 1h ") and prov["plans"] == cal.fit_count >= 30
    assert 0 < prov["hit_rate"] < 1 and math.isfinite(prov["holdout"]["ece"])
    path = save_calibration(cal, tmp_path / "mine.json")
    back = load_calibration(path)
    assert back == cal and back.provenance["plans"] == prov["plans"]
    assert back.apply("ema_pullback", 0.7) == cal.apply("ema_pullback", 0.7)
    with pytest.raises(InputError) as e:
        fit_calibration(hourly[-7 * 20:], "SPY", "1h")
    assert e.value.field == "bars"
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(DataError):
        load_calibration(tmp_path / "bad.json")


def _replay_cut(m: Bars, d: object, off: int) -> Bars | None:
    """Minute bars up to `off` minutes after the open of real session d, resampled to 5 minutes."""
    ny = m.index.tz_convert("America/New_York")
    day = np.asarray(ny.date)
    opens = np.flatnonzero((day == d) & np.asarray(ny.hour * 60 + ny.minute == 570))
    if not len(opens) or int(opens[0]) + off - 1 >= len(m) or day[int(opens[0]) + off - 1] != d:
        return None
    return m[: int(opens[0]) + off]


@pytest.mark.slow
def test_replay_bundle_every_symbol_gets_a_row_and_most_sessions_show_armed_setups() -> None:
    lib = BarLibrary(REPO / "resources" / "data")
    sessions_armed: dict[tuple[str, object], bool] = {}
    last: dict[str, Bars] = {}
    for sym in lib.minute_symbols():
        m = lib.minute(sym)
        days = sorted(set(np.asarray(m.index.tz_convert("America/New_York").date)))
        for d in days[1:]:                      # the first bundled day has no prior session
            for off in (20, 60, 180):
                cut = _replay_cut(m, d, off)
                if cut is None:
                    continue
                bars5 = resample(cut, M5, calendar_for(sym))
                last[sym] = bars5
                rep = scan_setups({sym: bars5}, "5m")
                assert rep.symbols[0].symbol == sym and rep.symbols[0].price is not None
                armed = any(c.state in (SetupState.ARMED, SetupState.TRIGGERED) for c in rep.candidates)
                sessions_armed[(sym, d)] = sessions_armed.get((sym, d), False) or armed
    share = sum(sessions_armed.values()) / len(sessions_armed)
    assert len(sessions_armed) >= 20 and share >= 0.6, share
    # The whole watchlist in one scan: one row per symbol, each with a price and a phase.
    rep = scan_setups(last, "5m")
    assert [r.symbol for r in rep.symbols] == list(last) and len(last) == len(lib.minute_symbols())
    assert all(r.price is not None and r.session_phase != "unknown" for r in rep.symbols)
    assert all(r.candidates or r.no_candidate_reason for r in rep.symbols)
