"""The Polygon WebSocket client against a real local WebSocket server that replays a real SPY
session as AM bars and drops the connection at 100 seeded random points; the REST side (same
bars, only those already published) serves the gap backfill. The client's series must equal the
server's exactly: no bar lost, none duplicated."""

from __future__ import annotations

import asyncio
import json
import random

import pytest
from websockets.asyncio.server import ServerConnection, serve

from core.events import FeedState
from core.feeds.polygon import PolygonRest
from core.feeds.polygon_ws import PolygonStream, WsConfig
from core.market.bars import Bar, Bars
from tests.feeds.conftest import FAST, PolygonData, polygon_server, real_minutes, session_window_ns

DROPS = 100
MS = 1_000_000


class ReplaySession:
    """Publishes one bar every `step_s`; each connection may be dropped after a seeded number of
    messages (abort, no close frame), also during auth/subscribe."""

    def __init__(self, bars: Bars, data: PolygonData, ticker: str, *, drops: int, seed: int,
                 step_s: float = 0.004, key: str = "k") -> None:
        self.bars, self.data, self.ticker, self.key = bars, data, ticker, key
        self.rng = random.Random(seed)
        self.drops_left = drops
        self.step_s = step_s
        self.published = 0
        self.clients: set[ServerConnection] = set()
        self.subscribed: set[ServerConnection] = set()
        self.drop_after: dict[ServerConnection, int] = {}
        self.connections = 0
        data.visible[ticker] = 0
        data.minutes[ticker] = bars

    def _am(self, i: int) -> str:
        b = self.bars.bar(i)
        return json.dumps([{"ev": "AM", "sym": self.ticker, "v": b.volume, "o": b.open, "c": b.close, "h": b.high,
                            "l": b.low, "s": b.ts // MS, "e": b.ts // MS + 60_000}])

    def _maybe_drop(self, ws: ServerConnection) -> bool:
        left = self.drop_after.get(ws)
        if left is None:
            return False
        if left <= 0:
            self.drop_after.pop(ws, None)
            ws.transport.abort()
            return True
        self.drop_after[ws] = left - 1
        return False

    async def handler(self, ws: ServerConnection) -> None:
        self.connections += 1
        if self.drops_left > 0:
            self.drops_left -= 1
            # Mostly mid-stream, sometimes right after connect/auth (before the subscription).
            self.drop_after[ws] = self.rng.choice([0, 1, 2]) if self.rng.random() < 0.15 else self.rng.randint(1, 6)
        self.clients.add(ws)
        try:
            await ws.send(json.dumps([{"ev": "status", "status": "connected", "message": "Connected Successfully"}]))
            if self._maybe_drop(ws):
                return
            async for raw in ws:
                msg = json.loads(raw)
                if msg.get("action") == "auth":
                    ok = msg.get("params") == self.key
                    await ws.send(json.dumps([{"ev": "status", "status": "auth_success" if ok else "auth_failed",
                                               "message": "authenticated" if ok else "authentication failed"}]))
                    if not ok:
                        return
                elif msg.get("action") == "subscribe":
                    self.subscribed.add(ws)
                    await ws.send(json.dumps([{"ev": "status", "status": "success",
                                               "message": f"subscribed to: {msg['params']}"}]))
                if self._maybe_drop(ws):
                    return
        except Exception:  # noqa: BLE001 - a dropped client is the point of this server
            return
        finally:
            self.clients.discard(ws)
            self.subscribed.discard(ws)

    async def publish_all(self) -> None:
        for i in range(len(self.bars)):
            await asyncio.sleep(self.step_s)
            self.published = i + 1
            self.data.visible[self.ticker] = i + 1  # REST now knows the bar too
            msg = self._am(i)
            for ws in list(self.subscribed):
                if self._maybe_drop(ws):
                    continue
                try:
                    await ws.send(msg)
                except Exception:  # noqa: BLE001 - client gone: it will backfill
                    self.subscribed.discard(ws)


@pytest.mark.parametrize("seed", [11, 2024])
async def test_series_survives_100_random_drops(seed: int) -> None:
    start, end = session_window_ns("2013-10-09")
    bars = real_minutes("SPY").between(start, end)
    assert len(bars) > 380
    data = PolygonData()
    rest_srv = await polygon_server(data).start()
    session = ReplaySession(bars, data, "SPY", drops=DROPS, seed=seed)
    ws_server = await serve(session.handler, "127.0.0.1", 0)
    port = ws_server.sockets[0].getsockname()[1]
    rest = PolygonRest("k", rest_srv.url, config=FAST)
    client = PolygonStream("k", rest, config=WsConfig(url=f"ws://127.0.0.1:{port}", backoff_s=0.002,
                                                      backoff_max_s=0.01, heartbeat_s=5, auth_timeout_s=2,
                                                      seed=seed))
    got: list[Bar] = []
    stats: dict[str, int] = {}

    async def consume() -> None:
        async for b in client.stream("SPY", since_ms=bars.bar(0).ts // MS - 60_000):
            got.append(b)
            if len(got) == len(bars):
                stats.update(client.stats("SPY"))
                return

    publisher = asyncio.create_task(session.publish_all())
    try:
        await asyncio.wait_for(consume(), timeout=40)
        await publisher
    finally:
        publisher.cancel()
        await client.stop()
        await rest.aclose()
        ws_server.close()
        await ws_server.wait_closed()
        await rest_srv.stop()
    assert session.drops_left == 0 and session.connections >= DROPS + 1  # every planned drop happened
    series = Bars.from_bars(got)  # validates: strictly increasing, no duplicate stamps
    assert series.equals(bars)
    # The drops really cost socket bars that only the REST backfill could restore.
    assert stats["backfilled"] > 0 and stats["delivered"] == len(bars)


async def test_rejected_key_is_an_error_state_not_a_reconnect_loop() -> None:
    data = PolygonData()
    rest_srv = await polygon_server(data).start()
    bars = real_minutes("SPY")[:5]
    session = ReplaySession(bars, data, "SPY", drops=0, seed=1, key="right")
    ws_server = await serve(session.handler, "127.0.0.1", 0)
    port = ws_server.sockets[0].getsockname()[1]
    rest = PolygonRest("wrong", rest_srv.url, config=FAST)
    client = PolygonStream("wrong", rest, config=WsConfig(url=f"ws://127.0.0.1:{port}", backoff_s=0.01))
    try:
        with pytest.raises(Exception, match="authentication failed"):
            async for _ in client.stream("SPY"):
                pass
        assert session.connections == 1
        assert client.status().state is FeedState.ERROR and "key rejected" in client.status().detail
    finally:
        await client.stop()
        await rest.aclose()
        ws_server.close()
        await ws_server.wait_closed()
        await rest_srv.stop()
