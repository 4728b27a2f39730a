"""/gpt/scan `filters.min_rvol` and `filters.min_liquidity_rank`: measured per symbol from the feed's
bars (core.scanner.liquidity) and applied — a scan that ignored them would keep the candidates the
assertions below require to be gone."""

from __future__ import annotations

import numpy as np
import pytest

from core.scanner.liquidity import liquidity_rank, median_dollar_volume, relative_volume
from tests.api.conftest import Api

UNIVERSE = "SPY,AAPL,IBM,BAC,AIG,GOOG,ES"


def test_relative_volume_compares_the_same_point_of_earlier_sessions() -> None:
    # Three sessions of 4 bars; today has 2 bars so far. Earlier sessions' first two bars: 30 and 50.
    vol = np.array([10, 20, 99, 99, 20, 30, 99, 99, 60, 20], dtype=float)
    sid = np.array([1, 1, 1, 1, 2, 2, 2, 2, 3, 3])
    assert relative_volume(vol, sid) == pytest.approx(80 / 40)
    # Only the counted bars (regular hours) enter: the masked first bar of each session is ignored.
    counted = np.array([False, True, True, True, False, True, True, True, False, True])
    assert relative_volume(vol, sid, counted) == pytest.approx(20 / ((20 + 30) / 2))
    assert relative_volume(vol, sid, sessions=1) == pytest.approx(80 / 50)
    assert relative_volume(vol[-2:], sid[-2:]) is None            # nothing earlier to compare with
    assert relative_volume(np.zeros(4), np.array([1, 1, 2, 2])) is None


def test_liquidity_rank_is_a_log_scale_of_median_dollar_volume() -> None:
    assert [liquidity_rank(v) for v in (1e5, 1e6, 1e8, 10 ** 8.5, 1e9, 1e11, 1e13)] == [0, 0, 40, 50, 60, 100, 100]
    assert liquidity_rank(None) is None and liquidity_rank(0.0) is None
    close, volume = np.array([10.0, 20.0, 30.0, 1.0]), np.array([1e6, 1e6, 1e6, 5.0])
    assert median_dollar_volume(close, volume) == pytest.approx(2e7)   # the in-progress last bar left out


async def _scan(c, **filters):  # type: ignore[no-untyped-def]
    r = await c.post("/gpt/scan", json={"universe": UNIVERSE, "limit": 100, "interval": "5m",
                                        **({"filters": filters} if filters else {})})
    assert r.status_code == 200, r.text
    return r.json()


async def test_scan_applies_min_rvol_and_min_liquidity_rank(api: Api) -> None:
    async with api.client() as c:
        base = await _scan(c)
        cands = base["candidates"]
        assert cands, "the replay feed has setups in play"
        for c_ in cands:
            assert "rvol" in c_ and "liquidity_rank" in c_
        measured = {c_["symbol"]: (c_["rvol"], c_["liquidity_rank"]) for c_ in cands}
        assert any(v[0] is not None for v in measured.values())
        assert any(v[1] is not None for v in measured.values())
        # The figures are the module's, on the feed's own bars.
        spy = next(iter(s for s in measured if measured[s][1] is not None))
        daily = await api.kernel.market.bars(spy, "1D", limit=21)
        assert measured[spy][1] == liquidity_rank(median_dollar_volume(daily.close, daily.volume))

        for key, field in ((0, "min_rvol"), (1, "min_liquidity_rank")):
            values = sorted({v[key] for v in measured.values() if v[key] is not None})
            top = values[-1]
            above = await _scan(c, **{field: (top + 1) if key else top * 1.5 + 0.01})
            assert above["candidates"] == [] and above["total"] == 0, field
            floor = await _scan(c, **{field: values[0]})
            assert floor["candidates"] and all(x[field[4:]] is not None and x[field[4:]] >= values[0]
                                               for x in floor["candidates"])
            if len(values) > 1:       # a floor between symbols keeps exactly those at or above it
                mid = values[len(values) // 2]
                got = await _scan(c, **{field: mid})
                assert got["candidates"]
                assert all(x[field[4:]] >= mid for x in got["candidates"])
                below = {s for s, v in measured.items() if v[key] is not None and v[key] < mid}
                assert below and not below & {x["symbol"] for x in got["candidates"]}
        r = await c.post("/gpt/scan", json={"universe": UNIVERSE, "filters": {"min_rvol": -1}})
        assert r.status_code in (400, 422) and "min_rvol" in r.text
