"""The feed manager with providers: replay-only behaviour unchanged, providers chosen from keys,
Retry-After honoured, the rate-limit queue, the live fallback, ATM IV recorded into iv_history,
and the shared cache."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core.bus import Bus
from core.config import load_settings
from core.events import BarClosed, FeedHealthChanged, SeriesReset
from core.feeds.cache import TTLCache, bars_ttl
from core.feeds.http import VendorHttp
from core.feeds.manager import BARS, LIVE, FeedManager, Providers, build_providers
from core.feeds.polygon import PolygonFeed, PolygonRest
from core.feeds.polygon_ws import PolygonStream, WsConfig
from core.feeds.ratelimit import RateLimiter
from core.feeds.replay import ReplayFeed
from core.feeds.tradier import PRODUCTION_URL, SANDBOX_URL
from core.feeds.yahoo import YahooClient, YahooFeed
from core.market.intervals import D1, H1, M1
from core.options.chain import build_chain
from core.options.vol import atm_iv_30d
from core.store import open_store
from core.store.iv_history import IVHistoryRepo
from tests.conftest import shared_data_dir
from tests.feeds.conftest import FAST, polygon_server, session_window_ns
from tests.feeds.servers import FixtureServer


async def test_replay_only_manager_is_unchanged(replay: ReplayFeed) -> None:
    bus = Bus()
    bus.bind()
    events: list[FeedHealthChanged] = []
    bus.subscribe(FeedHealthChanged, events.append)
    mgr = FeedManager(bus, replay)
    assert not mgr.vendor_mode and mgr.feed is replay
    bars = await mgr.history("spy", "5m", limit=20)
    assert bars.equals(await replay.history("SPY", bars_interval("5m"), limit=20))
    mgr.refresh_status()
    await bus.drain()
    assert mgr.status() == replay.status() and [e.capability for e in events] == [BARS]
    assert events[0].status == replay.status()
    await mgr.stop()
    await bus.close()


def bars_interval(name: str):  # type: ignore[no-untyped-def]
    from core.market.intervals import parse_interval

    return parse_interval(name)


def test_providers_follow_the_keys(isolated_dirs: Path) -> None:
    assert not build_providers(load_settings()).any                      # no keys: replay only
    assert build_providers(load_settings(feed="auto")).yahoo is not None   # free fallback on request
    p = build_providers(load_settings(polygon_api_key="pk", tradier_token="prod", finnhub_api_key="fk",
                                      enable_polygon_websocket=False))
    assert p.polygon is not None and p.polygon.ws is None and p.yahoo is not None and p.finnhub is not None
    assert p.tradier is not None and p.tradier.http.base_url == PRODUCTION_URL
    p2 = build_providers(load_settings(tradier_sandbox_token="sb"))
    assert p2.tradier is not None and p2.tradier.http.base_url == SANDBOX_URL and p2.polygon is None
    p3 = build_providers(load_settings(polygon_api_key="pk", polygon_base_url="http://127.0.0.1:9"))
    assert p3.polygon is not None and p3.polygon.rest.http.base_url == "http://127.0.0.1:9"
    assert p3.polygon.rest.http.limiter is not None and p3.polygon.rest.http.limiter.calls == 5


async def test_retry_after_is_honoured(polygon_srv: FixtureServer, yahoo_srv: FixtureServer,
                                       replay: ReplayFeed) -> None:
    bus = Bus()
    bus.bind()
    pg = PolygonFeed(PolygonRest("k", polygon_srv.url, config=FAST))
    mgr = FeedManager(bus, replay, providers=Providers(polygon=pg, yahoo=YahooFeed(YahooClient(yahoo_srv.url,
                                                                                               config=FAST))))
    polygon_srv.fault, polygon_srv.fault_once = "429", True   # one 429, Retry-After: 30
    s, e = session_window_ns("2013-10-08")
    await mgr.history("SPY", "1m", start_ns=s, end_ns=e)
    asked = len(polygon_srv.requests)
    assert asked == 1  # a long Retry-After is not waited out inline: Yahoo answered
    s2, e2 = session_window_ns("2013-10-09")
    await mgr.history("SPY", "1m", start_ns=s2, end_ns=e2)
    assert len(polygon_srv.requests) == asked  # within Retry-After Polygon is not called at all
    st = mgr.health(BARS)
    assert st is not None and st.source == "yahoo" and "rate limited" in st.detail
    await mgr.stop()
    await bus.close()


async def test_short_retry_after_is_waited_out_on_the_same_vendor(polygon_srv: FixtureServer) -> None:
    rest = PolygonRest("k", polygon_srv.url, config=FAST)
    polygon_srv.fault, polygon_srv.fault_once, polygon_srv.retry_after = "429", True, "0.2"
    st = await rest.market_status()
    assert st.market == "extended-hours" and len(polygon_srv.requests) == 2
    await rest.aclose()


async def test_rate_limit_queues_instead_of_hammering(polygon_srv: FixtureServer) -> None:
    """Polygon free tier: 5 calls a minute. Fifteen calls all succeed, none fails, and no
    60-second window of (virtual) time holds more than five."""
    now = [0.0]

    async def sleep(s: float) -> None:
        now[0] += s
        await asyncio.sleep(0)

    lim = RateLimiter("polygon", 5, 60.0, clock=lambda: now[0], sleep=sleep)
    http = VendorHttp("polygon", polygon_srv.url, config=FAST, limiter=lim)
    results = await asyncio.gather(*(http.get_json("/v1/marketstatus/now", max_wait_s=None) for _ in range(15)))
    assert len(results) == 15 and len(polygon_srv.requests) == 15
    g = np.array(lim.granted)
    assert max(int(((g >= t) & (g < t + 60.0)).sum()) for t in g) == 5 and g[-1] >= 120.0
    with pytest.raises(Exception, match="rate limited"):
        await http.get_json("/v1/marketstatus/now")  # interactive: refuses to queue a minute
    await http.aclose()


async def test_live_falls_back_to_replay_when_the_key_is_rejected(replay: ReplayFeed) -> None:
    from websockets.asyncio.server import serve

    async def reject(ws):  # type: ignore[no-untyped-def]
        await ws.send('[{"ev":"status","status":"connected","message":"Connected Successfully"}]')
        await ws.recv()
        await ws.send('[{"ev":"status","status":"auth_failed","message":"authentication failed"}]')

    server = await serve(reject, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    rest = PolygonRest("bad", "http://127.0.0.1:9", config=FAST)
    pg = PolygonFeed(rest, PolygonStream("bad", rest, config=WsConfig(url=f"ws://127.0.0.1:{port}")))
    bus = Bus()
    bus.bind()
    resets: list[SeriesReset] = []
    closed: list[BarClosed] = []
    bus.subscribe(SeriesReset, resets.append)
    bus.subscribe(BarClosed, closed.append)
    replay._clock.resume()  # the fixture pauses it
    replay._clock.set_speed(1000)
    mgr = FeedManager(bus, replay, providers=Providers(polygon=pg))
    mgr.subscribe("SPY", "1m")
    for _ in range(100):
        await asyncio.sleep(0.05)
        if closed:
            break
    await bus.drain()
    assert resets and resets[0].reason == "live source changed to replay"
    assert closed and closed[0].source == "replay"
    st = mgr.health(LIVE)
    assert st is not None and st.replayed and "key rejected" in st.detail
    await mgr.stop()
    await bus.close()
    server.close()
    await server.wait_closed()


async def test_atm_iv_recorded_daily_into_iv_history(tmp_path: Path, replay: ReplayFeed) -> None:
    srv = await polygon_server().start()
    store = open_store(f"sqlite+pysqlite:///{tmp_path / 'iv.db'}")
    store.migrate()
    as_of = datetime(2015, 12, 24, 17, 0, tzinfo=UTC)  # noon ET, when the Lean GOOG universe was taken
    pg = PolygonFeed(PolygonRest("k", srv.url, config=FAST, now=lambda: as_of))
    bus = Bus()
    bus.bind()
    mgr = FeedManager(bus, replay, providers=Providers(polygon=pg), store=store)
    try:
        got = await mgr.record_atm_iv(["GOOG"], date(2015, 12, 24))
        # Independent path: the same real universe read straight from the CSV.
        df = pd.read_csv(shared_data_dir() / "options" / "GOOG_option_universe_20151224_lean.csv")
        df.columns = [c.lstrip("#") for c in df.columns]
        rows = [{"expiry": f"{str(int(r.expiry))[:4]}-{str(int(r.expiry))[4:6]}-{str(int(r.expiry))[6:]}",
                 "is_call": r.right == "C", "strike": r.strike, "iv": r.implied_volatility}
                for r in df.iloc[1:].itertuples()]
        direct = atm_iv_30d(build_chain(rows, underlying="GOOG", underlying_price=float(df.iloc[0]["close"]),
                                        as_of=as_of, source="lean")).value
        assert got["GOOG"] == pytest.approx(direct) and 0.1 < direct < 0.6
        series = IVHistoryRepo(store).series("GOOG")
        assert [(p.date, p.source) for p in series] == [(date(2015, 12, 24), "polygon")]
        assert series[0].atm_iv == pytest.approx(direct)
    finally:
        await mgr.stop()
        await bus.close()
        store.close()
        await srv.stop()


async def test_cache_is_bounded_expires_and_loads_once() -> None:
    now = [0.0]
    c: TTLCache[int] = TTLCache(3, clock=lambda: now[0])
    for i in range(5):
        c.set(i, i, ttl_s=10)
    assert len(c) == 3 and c.get(0) is None and c.get(4) == 4
    now[0] = 11.0
    assert c.get(4) is None and c.get_stale(4) == (4, 11.0)
    calls = 0

    async def load() -> int:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.01)
        return 42

    assert await asyncio.gather(*(c.get_or_load("k", load, 5) for _ in range(10))) == [42] * 10 and calls == 1
    assert bars_ttl(M1) == 60 and bars_ttl(H1) == bars_ttl(D1) == 300
