"""Issue 16, vendor outage: with a Polygon key and the vendor unreachable, the live stream falls
back to replay (clearly labelled, "live" health DEGRADED with the reason) instead of waiting on a
reconnect loop forever; when the vendor comes back on the same ports, the series is reset (charts
reload history from the vendor, which has the gap) and live bars come from the vendor again."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from websockets.asyncio.server import serve

from core.bus import Bus
from core.events import BarClosed, FeedHealthChanged, FeedState, SeriesReset
from core.feeds.manager import BARS, LIVE, FeedManager, Providers
from core.feeds.polygon import PolygonFeed, PolygonRest
from core.feeds.polygon_ws import PolygonStream, WsConfig
from core.feeds.replay import ReplayFeed
from tests.feeds.conftest import FAST, PolygonData, polygon_server, real_minutes, session_window_ns
from tests.feeds.servers import free_port
from tests.feeds.test_polygon_ws import ReplaySession


async def wait_for(cond: Callable[[], bool], timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        assert loop.time() < end, "timed out"
        await asyncio.sleep(0.02)


async def test_live_falls_back_while_the_vendor_is_down_and_returns_when_it_is_back(replay: ReplayFeed) -> None:
    rest_port, ws_port = free_port(), free_port()
    rest = PolygonRest("k", f"http://127.0.0.1:{rest_port}", config=FAST)
    ws = PolygonStream("k", rest, config=WsConfig(url=f"ws://127.0.0.1:{ws_port}", backoff_s=0.05,
                                                  backoff_max_s=0.2, auth_timeout_s=2, open_timeout_s=1))
    bus = Bus()
    bus.bind()
    health: list[FeedHealthChanged] = []
    resets: list[SeriesReset] = []
    closed: list[BarClosed] = []
    bus.subscribe(FeedHealthChanged, health.append)
    bus.subscribe(SeriesReset, resets.append)
    bus.subscribe(BarClosed, closed.append)
    replay._clock.resume()  # the fixture pauses it
    replay._clock.set_speed(1000)
    mgr = FeedManager(bus, replay, providers=Providers(polygon=PolygonFeed(rest, ws)), live_grace_s=0.5)
    handle = mgr.subscribe("SPY", "1m")
    rest_srv = ws_srv = publisher = None
    try:
        # 1. Vendor unreachable: replay stands in, and the banner says so.
        await wait_for(lambda: any(e.source == "replay" for e in closed), 10)
        await bus.drain()
        assert resets[0].reason == "live source changed to replay"
        down = [e.status for e in health if e.capability == LIVE and e.status.state is FeedState.DEGRADED]
        assert down and down[-1].replayed and down[-1].extra["reason"] == "disconnected"
        assert "reconnecting" in down[-1].detail and "→ replay:" in down[-1].detail
        assert "not live data" in down[-1].detail
        st = mgr.health(LIVE)
        assert st is not None and st.state is FeedState.DEGRADED and st.source == "replay"

        # 2. The vendor comes back on the same ports.
        start, end = session_window_ns("2013-10-09")
        bars = real_minutes("SPY").between(start, end)[:60]
        data = PolygonData()
        session = ReplaySession(bars, data, "SPY", drops=0, seed=1, key="k", step_s=0.02)
        rest_srv = await polygon_server(data).start(rest_port)
        ws_srv = await serve(session.handler, "127.0.0.1", ws_port)
        await wait_for(lambda: any("live source back: polygon" in r.reason for r in resets), 10)
        publisher = asyncio.create_task(session.publish_all())
        await wait_for(lambda: any(e.source == "polygon" for e in closed), 10)
        await bus.drain()
        st = mgr.health(LIVE)
        assert st is not None and st.state is FeedState.LIVE and st.source == "polygon-ws"
        # After the switch back only the vendor's bars are published.
        back_at = max(i for i, e in enumerate(closed) if e.source == "replay")
        first_pg = min(i for i, e in enumerate(closed) if e.source == "polygon")
        assert back_at < first_pg
        # The reload the reset asks for comes from the vendor (real 2013 bars, not the replay's
        # 2026-dated ones) and holds every bar published so far.
        await wait_for(lambda: session.published >= 20, 10)
        hist = await mgr.history("SPY", "1m", start_ns=start, end_ns=end)
        assert mgr.health(BARS) is not None and mgr.health(BARS).state is FeedState.LIVE
        assert len(hist) >= 20 and hist.equals(bars[:len(hist)])
    finally:
        handle.release()
        if publisher is not None:
            publisher.cancel()
        await mgr.stop()
        await bus.close()
        if ws_srv is not None:
            ws_srv.close()
            await ws_srv.wait_closed()
        if rest_srv is not None:
            await rest_srv.stop()
