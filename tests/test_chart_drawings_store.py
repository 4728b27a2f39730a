"""Drawings and price alerts: repository validation, per-symbol storage, alerts that fire once."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

import pytest

from core.config import load_settings
from core.errors import InputError
from core.events import BarUpdated
from core.market.bars import Bar
from core.market.intervals import M1
from core.services.drawings import AlertTriggered, DrawingsService, crossed
from core.store.validation import RecordNotFound
from core.workstation import Workstation

T0 = 1_700_000_000_000_000_000
MIN = 60_000_000_000


def test_crossed_from_either_side_and_touch() -> None:
    assert crossed(99.0, 100.5, 100.0) and crossed(101.0, 99.0, 100.0)
    assert crossed(99.0, 100.0, 100.0)                       # a touch from below counts
    assert not crossed(100.0, 100.0, 100.0) and not crossed(98.0, 99.0, 100.0)


@pytest.mark.slow   # a real kernel (replay feed, store)
async def test_drawings_alerts_fire_once(isolated_dirs: Path) -> None:
    k = Workstation(load_settings(), today=date(2026, 11, 22))
    await k.start()
    svc = DrawingsService(k.market, k.store, k.bus, k.runtime)
    fired: list[AlertTriggered] = []
    k.bus.subscribe(AlertTriggered, fired.append)
    try:
        await svc.start()
        line = await svc.create_drawing("zz", "hline", [(T0, 100.0)])
        trend = await svc.create_drawing("ZZ", "trend", [(T0, 90.0), (T0 + 10 * MIN, 100.0)])
        await svc.create_drawing("ZZ", "text", [(T0, 95.0)], text="earnings gap")
        assert [d.kind for d in await svc.drawings("ZZ")] == ["hline", "trend", "text"]
        assert await svc.drawings("QQQ") == []
        with pytest.raises(InputError) as e:
            await svc.create_drawing("ZZ", "trend", [(T0, 90.0)])
        assert e.value.field == "points"
        with pytest.raises(InputError) as e:
            await svc.create_drawing("ZZ", "hline", [(T0, -1.0)])
        assert e.value.field == "points[0].price"
        with pytest.raises(InputError) as e:
            await svc.create_drawing("ZZ", "text", [(T0, 95.0)])
        assert e.value.field == "text"
        with pytest.raises(RecordNotFound):
            await svc.create_alert("ZZ", drawing_id=9999)

        on_line = await svc.create_alert("ZZ", drawing_id=line.id)
        on_trend = await svc.create_alert("ZZ", drawing_id=trend.id, label="trend support")
        on_level = await svc.create_alert("ZZ", price=110.0, label="PDH")
        assert on_line.price == 100.0 and on_trend.price == 100.0

        def bar(i: int, close: float) -> BarUpdated:
            ts = T0 + i * MIN
            return BarUpdated("ZZ", M1, Bar(ts, close, close, close, close, 0.0), "test")

        # t=5 min: the trend line is at 95. 97 → 96 stays above it; 96 → 94 crosses it.
        for i, px in ((5, 97.0), (5, 96.0), (5, 94.0)):
            k.bus.publish(bar(i, px))
        await k.bus.drain()
        for _ in range(50):
            if fired:
                break
            await asyncio.sleep(0.02)
        assert [(a.alert_id, round(a.level, 6)) for a in fired] == [(on_trend.id, 95.0)]
        # 94 → 101 crosses the 100 line; back down and up again must not fire it twice.
        for px in (101.0, 99.0, 101.0, 111.0):
            k.bus.publish(bar(6, px))
        await k.bus.drain()
        for _ in range(50):
            if len(fired) >= 3:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.1)
        assert [a.alert_id for a in fired] == [on_trend.id, on_line.id, on_level.id]
        assert fired[-1].label == "PDH" and fired[-1].price == 111.0
        states = {a.id: a.status for a in await svc.alerts("ZZ")}
        assert set(states.values()) == {"triggered"}
        assert await svc.alerts("ZZ", active_only=True) == []
        await svc.delete_drawing(line.id)            # its alert goes with it
        assert on_line.id not in {a.id for a in await svc.alerts("ZZ")}
    finally:
        await svc.close()
        await k.stop()
