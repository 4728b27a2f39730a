"""/gpt/chart-url snaps targets to labelled key levels by priority inside the style window (TC's
chart-url: gap_fill 10, pdh/pdl 9, pdc/orh/orl 8, vah/val/poc 7, vwap/avwap 6, swing 5, session 4;
window ATR × 0.15 scalp, 0.20 intraday, 0.25 swing, 0.30 leaps)."""

from __future__ import annotations

import pytest

from core.scanner.levels import PRIORITY, Level, snap_targets
from core.scanner.targets import SNAP_WINDOW
from tests.api.conftest import Api


def test_the_highest_priority_level_in_the_window_wins_over_a_nearer_one() -> None:
    levels = [Level("session_high", 101.02), Level("pdh", 101.15), Level("vwap", 103.0)]
    moves = snap_targets(100.0, 1, [101.0, 102.0], levels, window=0.2, floor=0.3)
    assert moves[0].after == 101.15 and moves[0].level is not None and moves[0].level.label == "pdh"
    assert moves[1].after == 102.0 and moves[1].level is None          # nothing within ±0.2 of 102
    # Ties on priority: the nearer one.
    moves = snap_targets(100.0, 1, [101.0], [Level("pdh", 101.15), Level("pdl", 100.9)], 0.2, 0.3)
    assert moves[0].after == 100.9
    # A level closer to entry than the floor is never taken; outside the window neither.
    moves = snap_targets(100.0, 1, [100.5], [Level("gap_fill", 100.25), Level("pdh", 100.75)], 0.2, 0.3)
    assert moves[0].after == 100.5 and moves[0].level is None
    # Shorts mirror; a level used by TP1 is not reused, and TP2 stays beyond TP1.
    moves = snap_targets(100.0, -1, [99.0, 98.9], [Level("pdl", 98.95), Level("swing_low", 98.8)], 0.2, 0.3)
    assert [m.after for m in moves] == [98.95, 98.8]
    assert [m.level.label for m in moves if m.level] == ["pdl", "swing_low"]


async def _chart(c, **body):  # type: ignore[no-untyped-def]
    r = await c.post("/gpt/chart-url", json=body)
    assert r.status_code == 200, r.text
    return r.json()


async def test_chart_url_snaps_tp1_to_a_key_level_of_the_symbol(api: Api) -> None:
    ctx = await api.kernel.context.context("SPY", "5m", 50, False)
    levels = {k: float(v) for k, v in ctx["key_levels"].items()}
    price = float(ctx["snapshot"]["price"])
    async with api.client() as c:
        probe = await _chart(c, symbol="SPY", direction="long", entry=price, stop=price - 1, targets=[price + 2],
                             snap=False)
        atr = probe["atr"]
        assert atr and probe["snapped"] == [] and probe["targets"] == [price + 2]
        window = SNAP_WINDOW["intraday"] * atr
        # The best-priority level; TP1 placed a quarter-window beyond it, entry 2 ATR below it.
        label, level = max(levels.items(), key=lambda kv: (PRIORITY.get(kv[0], 0), kv[0]))
        rivals = [k for k, v in levels.items() if k != label and PRIORITY.get(k, 0) >= PRIORITY.get(label, 0)
                  and abs(v - (level + window / 4)) <= window]
        entry = level - 2 * atr
        stop = entry - 0.5 * atr
        out = await _chart(c, symbol="SPY", direction="long", entry=entry, stop=stop,
                           targets=[level + window / 4, level + 6 * atr])
        tp1 = out["targets"][0]
        assert tp1 != pytest.approx(level + window / 4)          # it moved
        assert out["snapped"][0]["target"] == "tp1" and out["snapped"][0]["to"] == tp1
        if not rivals:
            assert tp1 == pytest.approx(level) and out["snapped"][0]["label"] == label
        assert out["snapped"][0]["priority"] >= PRIORITY.get(label, 0)
        assert f"tp={tp1:.6g}" in out["interactive"].replace("%2C", ",")
        # snap=false keeps the trader's targets.
        same = await _chart(c, symbol="SPY", direction="long", entry=entry, stop=stop,
                            targets=[level + window / 4, level + 6 * atr], snap=False)
        assert same["targets"][0] == pytest.approx(level + window / 4) and same["snapped"] == []
