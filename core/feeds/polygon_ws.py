"""Polygon WebSocket client: one connection per cluster (stocks, indices, options, futures),
auth, subscribe, heartbeat (WebSocket ping), reconnect with exponential backoff and jitter, and
gap backfill through REST after every reconnect, so the closed minute-bar series a subscriber
sees has no bar lost and none duplicated.

Ordering that makes the backfill exact: connect -> auth -> subscribe -> wait for the subscribe
acknowledgement -> REST backfill from the last delivered bar -> stream. Every bar published
before the acknowledgement is in the REST answer, every bar after it arrives on the socket, and
bars in both are dropped by timestamp. A gap seen later on the socket (a bar more than one minute
after the last one) is backfilled the same way unless REST already covered that span.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import websockets
from websockets.asyncio.client import ClientConnection

from core.events import FeedState, FeedStatus
from core.feeds.http import AUTH, ProviderError
from core.feeds.polygon import MS, PolygonRest
from core.feeds.symbols import polygon_cluster
from core.market.bars import Bar
from core.tasks import spawn

log = logging.getLogger(__name__)
NAME = "polygon-ws"
DEFAULT_WS_URL = "wss://socket.polygon.io"
MIN_MS = 60_000
_BAR_EVENTS = frozenset({"AM", "XA", "CA"})  # closed per-minute aggregates


@dataclass(frozen=True, slots=True)
class WsConfig:
    url: str = DEFAULT_WS_URL        # cluster path (/stocks, /indices, ...) is appended
    backoff_s: float = 0.5
    backoff_max_s: float = 30.0
    heartbeat_s: float = 20.0        # WebSocket ping interval; no pong within it = dead link
    auth_timeout_s: float = 10.0
    open_timeout_s: float = 10.0
    seed: int | None = None


class _Sub:
    """One ticker's delivery state shared by its subscribers."""

    def __init__(self) -> None:
        self.queues: list[asyncio.Queue[Bar | BaseException]] = []
        self.last_ms: int | None = None      # start of the last delivered closed bar
        self.covered_ms: int = 0             # REST backfill already asked up to here
        self.delivered = 0
        self.duplicates = 0
        self.backfilled = 0


class _Cluster:
    def __init__(self, name: str) -> None:
        self.name = name
        self.subs: dict[str, _Sub] = {}
        self.task: asyncio.Task[None] | None = None
        self.ws: ClientConnection | None = None
        self.connects = 0
        self.attempt = 0
        self.state = FeedState.CONNECTING
        self.detail = "connecting"
        self.last_msg_at: float | None = None


class PolygonStream:
    def __init__(self, api_key: str, rest: PolygonRest, *, config: WsConfig | None = None,
                 now_ms: Callable[[], int] | None = None) -> None:
        self._key = api_key
        self.rest = rest
        self.config = config or WsConfig()
        self._now_ms = now_ms or (lambda: time.time_ns() // MS)
        self._rng = random.Random(self.config.seed)
        self._clusters: dict[str, _Cluster] = {}
        self.malformed = 0

    # -- public ------------------------------------------------------------------------------------
    async def stream(self, ticker: str, *, since_ms: int | None = None) -> AsyncIterator[Bar]:
        """Closed minute bars of `ticker` in order. since_ms: also deliver (via REST) every bar
        starting after it that closed before the socket took over."""
        cl = self._cluster(polygon_cluster(ticker))
        sub = cl.subs.get(ticker)
        new = sub is None
        if sub is None:
            sub = cl.subs[ticker] = _Sub()
            if since_ms is not None:
                sub.last_ms = since_ms
        q: asyncio.Queue[Bar | BaseException] = asyncio.Queue()
        sub.queues.append(q)
        if cl.task is None or cl.task.done():
            # A crash of the connection loop is logged and handed to every subscriber (no silent hang).
            cl.task = spawn(self._run(cl), name=f"polygon-ws:{cl.name}", logger=log,
                            on_error=lambda exc, cl=cl: self._crashed(cl, exc))
        elif new and cl.ws is not None:
            await self._send_subscribe(cl, [ticker])
            await self._backfill(cl, ticker, sub)
        try:
            while True:
                item = await q.get()
                if isinstance(item, BaseException):
                    raise item
                yield item
        finally:
            sub.queues.remove(q)
            if not sub.queues:
                cl.subs.pop(ticker, None)
                if cl.ws is not None and cl.subs:
                    with contextlib.suppress(websockets.ConnectionClosed, OSError):
                        await cl.ws.send(json.dumps({"action": "unsubscribe", "params": f"AM.{ticker}"}))
            if not cl.subs and cl.task is not None:
                cl.task.cancel()

    async def stop(self) -> None:
        tasks = [c.task for c in self._clusters.values() if c.task is not None]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def stats(self, ticker: str) -> dict[str, int]:
        for cl in self._clusters.values():
            s = cl.subs.get(ticker)
            if s is not None:
                return {"delivered": s.delivered, "duplicates": s.duplicates, "backfilled": s.backfilled,
                        "connects": cl.connects}
        return {}

    @property
    def connects(self) -> int:
        return sum(c.connects for c in self._clusters.values())

    def status(self) -> FeedStatus:
        active = [c for c in self._clusters.values() if c.subs or c.state is FeedState.ERROR]
        if not active:
            return FeedStatus(NAME, FeedState.STOPPED, "no live subscriptions")
        worst = max(active, key=lambda c: _SEVERITY[c.state])
        ages = [time.time() - c.last_msg_at for c in active if c.last_msg_at is not None]
        age = max(ages) if ages else None
        return FeedStatus(NAME, worst.state, f"Polygon WebSocket {worst.name}: {worst.detail}", data_age_s=age,
                          extra={"connects": str(sum(c.connects for c in active))})

    # -- connection loop ---------------------------------------------------------------------------
    def _cluster(self, name: str) -> _Cluster:
        cl = self._clusters.get(name)
        if cl is None:
            cl = self._clusters[name] = _Cluster(name)
        return cl

    def _backoff(self, attempt: int) -> float:
        base = min(self.config.backoff_max_s, self.config.backoff_s * (2 ** min(attempt, 30)))
        return base * (0.5 + self._rng.random())  # jitter: reconnecting clients do not stampede

    async def _run(self, cl: _Cluster) -> None:
        url = f"{self.config.url.rstrip('/')}/{cl.name}"
        while cl.subs:
            try:
                await self._session(cl, url)
                reason = "server closed the connection"
            except asyncio.CancelledError:
                raise
            except ProviderError as err:
                if err.reason == AUTH:
                    cl.state, cl.detail = FeedState.ERROR, f"key rejected: {err.detail}"
                    log.error("polygon ws %s: %s", cl.name, err)
                    self._fail_all(cl, err)
                    return
                reason = err.detail
            except (websockets.ConnectionClosed, websockets.InvalidHandshake, OSError, TimeoutError,
                    ValueError) as exc:
                reason = f"{type(exc).__name__}: {exc}"
            finally:
                cl.ws = None
            cl.attempt += 1
            delay = self._backoff(cl.attempt - 1)
            cl.state = FeedState.DEGRADED
            cl.detail = f"reconnecting (attempt {cl.attempt}) after {reason}"
            log.info("polygon ws %s: %s; next try in %.2f s", cl.name, reason, delay)
            await asyncio.sleep(delay)

    def _crashed(self, cl: _Cluster, exc: BaseException) -> None:
        cl.state, cl.detail = FeedState.ERROR, f"connection loop failed: {type(exc).__name__}: {exc}"
        self._fail_all(cl, exc)

    def _fail_all(self, cl: _Cluster, err: BaseException) -> None:
        for sub in cl.subs.values():
            for q in sub.queues:
                q.put_nowait(err)

    async def _session(self, cl: _Cluster, url: str) -> None:
        c = self.config
        async with websockets.connect(url, open_timeout=c.open_timeout_s, ping_interval=c.heartbeat_s,
                                      ping_timeout=c.heartbeat_s, close_timeout=1.0,
                                      max_size=2**24) as ws:
            cl.ws = ws
            cl.connects += 1
            await ws.send(json.dumps({"action": "auth", "params": self._key}))
            await self._expect_status(ws, cl, {"auth_success"})
            tickers = list(cl.subs)
            await self._send_subscribe(cl, tickers)
            await self._expect_status(ws, cl, {"success"}, contains="subscribed")
            for tk in tickers:
                sub = cl.subs.get(tk)
                if sub is not None:
                    await self._backfill(cl, tk, sub)
            cl.attempt = 0  # a full, backfilled session: the next drop starts the backoff afresh
            cl.state, cl.detail = FeedState.LIVE, f"streaming {len(cl.subs)} symbol(s)"
            async for raw in ws:
                cl.last_msg_at = time.time()
                for ev in self._decode(raw):
                    await self._on_event(cl, ev)

    async def _send_subscribe(self, cl: _Cluster, tickers: list[str]) -> None:
        if cl.ws is None or not tickers:
            return
        await cl.ws.send(json.dumps({"action": "subscribe", "params": ",".join(f"AM.{t}" for t in tickers)}))

    async def _expect_status(self, ws: ClientConnection, cl: _Cluster, ok: set[str], contains: str = "") -> None:
        """Read until a status message in `ok` (auth_failed -> AUTH error); bars that arrive in
        between are handled normally."""
        deadline = time.monotonic() + self.config.auth_timeout_s
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no {'/'.join(sorted(ok))} within {self.config.auth_timeout_s:g} s")
            raw = await asyncio.wait_for(ws.recv(), left)
            cl.last_msg_at = time.time()
            for ev in self._decode(raw):
                if ev.get("ev") == "status":
                    st = str(ev.get("status", ""))
                    if st in ("auth_failed", "auth_timeout"):
                        raise ProviderError(NAME, AUTH, str(ev.get("message") or st))
                    if st in ok and contains in str(ev.get("message", "")):
                        return
                else:
                    await self._on_event(cl, ev)

    def _decode(self, raw: str | bytes) -> list[dict[str, Any]]:
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            self.malformed += 1
            log.warning("polygon ws: malformed message skipped (%d so far)", self.malformed)
            return []
        items = data if isinstance(data, list) else [data]
        return [e for e in items if isinstance(e, dict)]

    async def _on_event(self, cl: _Cluster, ev: dict[str, Any]) -> None:
        if ev.get("ev") not in _BAR_EVENTS:
            return
        tk = str(ev.get("sym") or ev.get("pair") or "")
        sub = cl.subs.get(tk)
        if sub is None:
            return
        try:
            bar = Bar(int(ev["s"]) * MS, float(ev["o"]), float(ev["h"]), float(ev["l"]), float(ev["c"]),
                      float(ev.get("v") or 0.0))
        except (KeyError, TypeError, ValueError):
            self.malformed += 1
            log.warning("polygon ws: aggregate without OHLC skipped: %s", ev)
            return
        start_ms = bar.ts // MS
        if sub.last_ms is not None and start_ms > sub.last_ms + MIN_MS and sub.last_ms + MIN_MS > sub.covered_ms:
            await self._backfill(cl, tk, sub, until_ms=start_ms - 1)
        self._deliver(sub, bar)

    def _deliver(self, sub: _Sub, bar: Bar) -> None:
        start_ms = bar.ts // MS
        if sub.last_ms is not None and start_ms <= sub.last_ms:
            sub.duplicates += 1
            return
        sub.last_ms = start_ms
        sub.delivered += 1
        for q in sub.queues:
            q.put_nowait(bar)

    async def _backfill(self, cl: _Cluster, ticker: str, sub: _Sub, until_ms: int | None = None) -> None:
        """Closed bars after the last delivered one, from REST (queued, not failed over: a live
        series must not have holes)."""
        if sub.last_ms is None:
            return
        now = self._now_ms()
        end = min(until_ms, now) if until_ms is not None else now
        start = sub.last_ms + MIN_MS
        if end < start:
            return
        try:
            bars = await self.rest.aggregates(ticker, 1, "minute", start * MS, end * MS, max_wait_s=None)
        except ProviderError as err:
            if err.reason == AUTH:
                raise
            # The socket keeps the stream going; the hole stays visible in the status.
            log.warning("polygon ws %s: backfill %s failed: %s", cl.name, ticker, err)
            cl.detail = f"backfill failed ({err.reason}); bars after {start} may be missing"
            return
        sub.covered_ms = max(sub.covered_ms, end)
        for i in range(len(bars)):
            b = bars.bar(i)
            if b.ts // MS + MIN_MS <= now:  # only closed minutes; the open one comes on the socket
                before = sub.delivered
                self._deliver(sub, b)
                sub.backfilled += sub.delivered - before


_SEVERITY = {FeedState.LIVE: 0, FeedState.CONNECTING: 1, FeedState.DEGRADED: 2, FeedState.ERROR: 3,
             FeedState.STOPPED: 0, FeedState.REPLAY: 0, FeedState.PAUSED: 0, FeedState.FINISHED: 0}
