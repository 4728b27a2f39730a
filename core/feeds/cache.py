"""The one TTL cache of the feed layer: bounded (least recently used entries go first), with
per-entry TTLs, stale reads for degraded answers, and single-flight loading so ten charts asking
for the same chain cause one vendor call.

TTLs follow the seed backend: multi-context 30 s, IV metrics 120 s, chains and quotes 15 s,
indicators 60 s, bars 60-300 s by interval.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from core.market.intervals import Interval

V = TypeVar("V")

TTL_MULTI_CONTEXT_S = 30.0
TTL_IV_METRICS_S = 120.0
TTL_CHAIN_S = 15.0
TTL_QUOTE_S = 15.0
TTL_INDICATORS_S = 60.0
TTL_NEWS_S = 600.0
TTL_CALENDAR_S = 3600.0
TTL_MARKET_STATUS_S = 60.0


def bars_ttl(interval: Interval) -> float:
    """Short bars change every minute; daily history barely changes: 60 s (1m) ... 300 s (>= 1h)."""
    if interval.seconds <= 60:
        return 60.0
    if interval.seconds <= 300:
        return 120.0
    if interval.seconds < 3600:
        return 180.0
    return 300.0


@dataclass(slots=True)
class _Entry(Generic[V]):
    value: V
    stored: float
    expires: float


class TTLCache(Generic[V]):
    def __init__(self, max_entries: int = 512, default_ttl_s: float = 60.0, *,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be >= 1")
        self.max_entries = max_entries
        self.default_ttl_s = default_ttl_s
        self._clock = clock
        self._data: OrderedDict[Hashable, _Entry[V]] = OrderedDict()
        self._inflight: dict[Hashable, asyncio.Future[V]] = {}
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._data)

    def get(self, key: Hashable) -> V | None:
        """The fresh value, or None when absent or expired."""
        e = self._data.get(key)
        if e is None or e.expires <= self._clock():
            self.misses += 1
            return None
        self._data.move_to_end(key)
        self.hits += 1
        return e.value

    def get_stale(self, key: Hashable) -> tuple[V, float] | None:
        """(value, age in seconds) even when expired: a degraded answer beats none."""
        e = self._data.get(key)
        if e is None:
            return None
        return e.value, self._clock() - e.stored

    def set(self, key: Hashable, value: V, ttl_s: float | None = None) -> None:
        now = self._clock()
        self._data[key] = _Entry(value, now, now + (self.default_ttl_s if ttl_s is None else ttl_s))
        self._data.move_to_end(key)
        while len(self._data) > self.max_entries:
            self._data.popitem(last=False)

    def invalidate(self, key: Hashable | None = None) -> None:
        if key is None:
            self._data.clear()
        else:
            self._data.pop(key, None)

    async def get_or_load(self, key: Hashable, loader: Callable[[], Awaitable[V]],
                          ttl_s: float | None = None) -> V:
        """Cached value, or one shared call of `loader` for all concurrent askers."""
        hit = self.get(key)
        if hit is not None:
            return hit
        fut = self._inflight.get(key)
        if fut is not None:
            return await asyncio.shield(fut)
        fut = asyncio.get_running_loop().create_future()
        self._inflight[key] = fut
        try:
            value = await loader()
        except asyncio.CancelledError:
            fut.cancel()
            raise
        except Exception as exc:
            fut.set_exception(exc)
            fut.exception()  # mark retrieved: waiters re-raise it, no "never retrieved" noise
            raise
        else:
            self.set(key, value, ttl_s)
            fut.set_result(value)
            return value
        finally:
            self._inflight.pop(key, None)
