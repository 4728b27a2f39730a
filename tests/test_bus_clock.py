from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest

from core.bus import Bus
from core.clock import LiveClock, ReplayClock
from core.errors import InputError
from core.events import BarClosed, BarUpdated, Event, JobProgress
from core.market.bars import Bar
from core.market.intervals import M1

BAR = Bar(0, 1.0, 2.0, 0.5, 1.5, 10.0)


async def test_typed_delivery_in_order_and_by_base_class() -> None:
    bus = Bus()
    bus.bind()
    closed: list[int] = []
    everything: list[type] = []
    bus.subscribe(BarClosed, lambda e: closed.append(e.bar.ts))
    bus.subscribe(Event, lambda e: everything.append(type(e)))
    for i in range(5):
        bus.publish(BarClosed("SPY", M1, Bar(i, 1, 1, 1, 1, 1), "t"))
        bus.publish(BarUpdated("SPY", M1, BAR, "t"))
    bus.publish(JobProgress("j", "train", 0.5, "half"))
    await bus.drain()
    assert closed == [0, 1, 2, 3, 4]
    assert everything.count(BarUpdated) == 5 and everything[-1] is JobProgress
    await bus.close()


async def test_slow_subscriber_drops_oldest_without_stalling_others() -> None:
    bus = Bus()
    bus.bind()
    fast: list[int] = []
    slow: list[int] = []
    gate = asyncio.Event()

    async def slow_handler(e: BarClosed) -> None:
        await gate.wait()
        slow.append(e.bar.ts)

    bus.subscribe(BarClosed, lambda e: fast.append(e.bar.ts), name="fast")
    sub = bus.subscribe(BarClosed, slow_handler, name="slow", maxsize=10)
    await asyncio.sleep(0)
    for i in range(100):
        bus.publish(BarClosed("SPY", M1, Bar(i, 1, 1, 1, 1, 1), "t"))
    await asyncio.sleep(0.01)
    assert fast == list(range(100))
    gate.set()
    await bus.drain()
    assert sub.dropped >= 80
    assert slow[-1] == 99 and slow == sorted(slow)
    await bus.close()


async def test_handler_errors_are_logged_not_fatal(caplog: pytest.LogCaptureFixture) -> None:
    bus = Bus()
    bus.bind()
    seen: list[int] = []

    def flaky(e: BarClosed) -> None:
        if e.bar.ts == 1:
            raise RuntimeError("boom")
        seen.append(e.bar.ts)

    sub = bus.subscribe(BarClosed, flaky, name="flaky")
    with caplog.at_level(logging.ERROR):
        for i in range(3):
            bus.publish(BarClosed("SPY", M1, Bar(i, 1, 1, 1, 1, 1), "t"))
        await bus.drain()
    assert seen == [0, 2] and sub.errors == 1
    assert any("flaky" in r.getMessage() for r in caplog.records)
    await bus.close()


async def test_publish_from_worker_threads_is_delivered_on_the_loop() -> None:
    bus = Bus()
    bus.bind()
    threads_seen: set[int] = set()
    got: list[int] = []

    def handler(e: BarClosed) -> None:
        threads_seen.add(threading.get_ident())
        got.append(e.bar.ts)

    bus.subscribe(BarClosed, handler)

    def worker(base: int) -> None:
        for i in range(50):
            bus.publish(BarClosed("SPY", M1, Bar(base + i, 1, 1, 1, 1, 1), "t"))

    ts = [threading.Thread(target=worker, args=(k * 1000,)) for k in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    await asyncio.sleep(0.05)
    await bus.drain()
    assert sorted(got) == sorted(k * 1000 + i for k in range(4) for i in range(50))
    assert threads_seen == {threading.get_ident()}
    await bus.close()


async def test_replay_clock_speed_pause_jump() -> None:
    clock = ReplayClock(1_000_000_000_000, speed=100.0)
    t0 = clock.now_ns()
    await asyncio.sleep(0.05)
    elapsed_sim = (clock.now_ns() - t0) / 1e9
    assert 4.0 <= elapsed_sim <= 10.0          # ~0.05 s real × 100
    clock.pause()
    frozen = clock.now_ns()
    await asyncio.sleep(0.02)
    assert clock.now_ns() == frozen and clock.paused
    woke = asyncio.Event()

    async def sleeper() -> None:
        await clock.sleep_until(frozen + 3_600 * 1_000_000_000)
        woke.set()

    task = asyncio.create_task(sleeper())
    await asyncio.sleep(0.02)
    assert not woke.is_set()                    # paused: time does not pass
    clock.jump(frozen + 3_600 * 1_000_000_000)  # a jump wakes the sleeper at once
    await asyncio.wait_for(task, 1.0)
    clock.resume()
    clock.set_speed(1000)
    start = time.monotonic()
    await clock.sleep(30)                       # 30 simulated seconds at 1000× ≈ 30 ms
    assert time.monotonic() - start < 0.5
    with pytest.raises(InputError, match="speed"):
        clock.set_speed(0)
    with pytest.raises(InputError, match="speed"):
        clock.set_speed(5000)


async def test_speed_change_reschedules_a_sleeper() -> None:
    clock = ReplayClock(0, speed=1.0)
    target = clock.now_ns() + 60 * 1_000_000_000   # a minute at 1× …
    task = asyncio.create_task(clock.sleep_until(target))
    await asyncio.sleep(0.01)
    clock.set_speed(1000)                           # … becomes 60 ms
    await asyncio.wait_for(task, 1.0)


async def test_live_clock_follows_wall_time() -> None:
    clock = LiveClock()
    assert abs(clock.now_ns() - time.time_ns()) < 50_000_000
    start = time.monotonic()
    await clock.sleep(0.05)
    assert time.monotonic() - start >= 0.045


async def test_clock_timer_errors_are_logged(caplog: pytest.LogCaptureFixture) -> None:
    clock = ReplayClock(0, speed=1000.0)

    def fail() -> None:
        raise RuntimeError("phase change failed")

    with caplog.at_level(logging.ERROR, logger="core.tasks"):
        task = clock.call_at(clock.now_ns() + 1_000_000_000, fail, name="phase-timer")
        await asyncio.gather(task, return_exceptions=True)
        await asyncio.sleep(0)
    rec = [r for r in caplog.records if "phase-timer" in r.getMessage()]
    assert rec and rec[0].exc_info is not None and "phase change failed" in rec[0].getMessage()
