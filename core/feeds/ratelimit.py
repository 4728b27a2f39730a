"""Client-side rate limiting: a sliding-window limiter that queues callers instead of letting
them hammer a vendor (Polygon's free tier allows 5 calls a minute), plus a "blocked until"
deadline set from a vendor's Retry-After so nobody calls before the vendor allows it."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable

from core.errors import FeedError


class RateLimited(FeedError):
    """The call would have to wait longer than the caller accepts (queue full or Retry-After)."""

    def __init__(self, provider: str, wait_s: float, why: str) -> None:
        super().__init__(f"{provider}: rate limited ({why}), next call allowed in {wait_s:.1f} s")
        self.provider = provider
        self.wait_s = wait_s
        self.why = why


class RateLimiter:
    """At most `calls` grants in any `per_s` window; grants are served in arrival order.

    `clock` and `sleep` are injectable so tests can run minutes of vendor time instantly.
    """

    def __init__(self, provider: str, calls: int, per_s: float, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        if calls < 1 or per_s <= 0:
            raise ValueError("rate limit: calls must be >= 1 and per_s > 0")
        self.provider = provider
        self.calls = calls
        self.per_s = per_s
        self._clock = clock
        self._sleep = sleep
        self._grants: deque[float] = deque()
        self._blocked_until = 0.0
        self._block_why = ""
        self._lock = asyncio.Lock()
        self.granted: list[float] = []  # grant times, kept short: the last 1000 (health/debug)

    def block_for(self, seconds: float, why: str = "Retry-After") -> None:
        """No grant before now + seconds (a vendor's Retry-After)."""
        until = self._clock() + max(0.0, seconds)
        if until > self._blocked_until:
            self._blocked_until, self._block_why = until, why

    def wait_needed(self) -> float:
        """Seconds until the next grant would be possible (0 = now)."""
        now = self._clock()
        while self._grants and now - self._grants[0] >= self.per_s:
            self._grants.popleft()
        window_wait = 0.0
        if len(self._grants) >= self.calls:
            window_wait = self._grants[0] + self.per_s - now
        return max(window_wait, self._blocked_until - now, 0.0)

    @property
    def blocked_s(self) -> float:
        return max(0.0, self._blocked_until - self._clock())

    async def acquire(self, max_wait_s: float | None = None) -> None:
        """Wait for a grant. Raise RateLimited at once when the wait would exceed max_wait_s."""
        async with self._lock:  # FIFO: one waiter at a time takes the next slot
            while True:
                wait = self.wait_needed()
                if wait <= 0:
                    break
                if max_wait_s is not None and wait > max_wait_s:
                    why = self._block_why if self.blocked_s >= wait else f"{self.calls} calls per {self.per_s:g} s"
                    raise RateLimited(self.provider, wait, why)
                await self._sleep(wait)
            now = self._clock()
            self._grants.append(now)
            self.granted.append(now)
            del self.granted[:-1000]
