"""The scan's batched paths (levels, expected moves, would-be plans of every armed setup at once)
give what the one-bar definitions give, whichever other bars share the batch — a live rescan batches
only the symbols whose bar closed, a full scan all of them, and their reports must be identical."""

from __future__ import annotations

import math

import numpy as np

from core.market.intervals import parse_interval
from core.overlays.liquidity import pivot_indices
from core.scanner.features import SeriesInput, build_features
from core.scanner.levels import key_levels_at, key_levels_many, last_swings
from core.scanner.plan import MINUTES_PER_YEAR, Plan, PlanContext, Rejected, build_plan, build_plans, expected_moves
from core.scanner.playbooks import PLAYBOOKS
from core.scanner.playbooks.base import ARMED
from tests.test_scanner_live import replay


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
