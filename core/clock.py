"""One clock drives time for the whole kernel, so replay and live run the same code.

Everything that schedules (the replay feed, the collector, session phases, the follower) reads
`clock.now_ns()` and waits with `await clock.sleep_until(ts)`; nothing reads the wall clock.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from datetime import UTC, datetime

from core.errors import InputError
from core.tasks import spawn

NS = 1_000_000_000
MAX_SPEED = 1000.0


class Clock(ABC):
    @abstractmethod
    def now_ns(self) -> int:
        """Current time in UTC nanoseconds since the epoch."""

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.now_ns() / NS, tz=UTC)

    @property
    def speed(self) -> float:
        return 1.0

    @property
    def paused(self) -> bool:
        return False

    @abstractmethod
    async def sleep_until(self, ts_ns: int) -> None:
        """Return once now_ns() >= ts_ns."""

    async def sleep(self, seconds: float) -> None:
        await self.sleep_until(self.now_ns() + int(seconds * NS))

    def call_at(self, ts_ns: int, callback: Callable[[], object], *, name: str = "clock-timer"
                ) -> asyncio.Task[None]:
        """Run callback at clock time ts_ns; cancel the returned task to call it off.

        An exception raised by the callback is logged with its traceback under `name` (see
        core.tasks.spawn), never dropped."""

        async def _run() -> None:
            await self.sleep_until(ts_ns)
            callback()

        return spawn(_run(), name=name)


class LiveClock(Clock):
    """Wall-clock time. Sleeps in slices so a suspended laptop or NTP step is noticed."""

    def now_ns(self) -> int:
        return time.time_ns()

    async def sleep_until(self, ts_ns: int) -> None:
        while (left := ts_ns - self.now_ns()) > 0:
            await asyncio.sleep(min(left / NS, 30.0))


class ReplayClock(Clock):
    """Simulated time: advances at `speed` x real time from an anchor; can pause, step and jump."""

    def __init__(self, start_ns: int, speed: float = 1.0, paused: bool = False) -> None:
        self._check_speed(speed)
        self._sim_anchor = int(start_ns)
        self._real_anchor = time.monotonic_ns()
        self._speed = float(speed)
        self._paused = paused
        self._changed = asyncio.Event()

    @staticmethod
    def _check_speed(speed: float) -> None:
        if not (0 < speed <= MAX_SPEED):
            raise InputError("speed", f"must be in (0, {MAX_SPEED:g}], got {speed}")

    def now_ns(self) -> int:
        if self._paused:
            return self._sim_anchor
        return self._sim_anchor + int((time.monotonic_ns() - self._real_anchor) * self._speed)

    @property
    def speed(self) -> float:
        return self._speed

    @property
    def paused(self) -> bool:
        return self._paused

    def _reanchor(self, sim_ns: int) -> None:
        self._sim_anchor = int(sim_ns)
        self._real_anchor = time.monotonic_ns()
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()  # wake sleepers so they recompute their real-time delay

    def set_speed(self, speed: float) -> None:
        self._check_speed(speed)
        now = self.now_ns()
        self._speed = float(speed)
        self._reanchor(now)

    def pause(self) -> None:
        if not self._paused:
            now = self.now_ns()
            self._paused = True
            self._reanchor(now)

    def resume(self) -> None:
        if self._paused:
            self._paused = False
            self._reanchor(self._sim_anchor)

    def jump(self, ts_ns: int) -> None:
        """Set simulated time (forwards or backwards). Sleepers re-evaluate their deadlines."""
        self._reanchor(ts_ns)

    async def sleep_until(self, ts_ns: int) -> None:
        while True:
            changed = self._changed
            now = self.now_ns()
            if now >= ts_ns:
                return
            if self._paused:
                await changed.wait()
                continue
            delay = (ts_ns - now) / self._speed / NS
            try:
                await asyncio.wait_for(changed.wait(), timeout=delay)
            except TimeoutError:
                pass
