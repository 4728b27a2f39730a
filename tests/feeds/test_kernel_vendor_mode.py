"""The kernel with a vendor key: live clock, bars and option chains from the vendor (a local
server replaying recorded/real data), falling back to replay when the vendor fails."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from core.clock import LiveClock
from core.config import load_settings
from core.workstation import Workstation
from tests.feeds.conftest import goog_snapshot_rows
from tests.feeds.servers import FixtureServer


async def test_vendor_mode_uses_the_vendor_chain_and_live_clock(isolated_dirs: Path, polygon_srv: FixtureServer,
                                                                yahoo_srv: FixtureServer) -> None:
    settings = load_settings(polygon_api_key="test-key", polygon_base_url=polygon_srv.url,
                             yahoo_base_url=yahoo_srv.url, polygon_calls_per_minute=1000,
                             enable_polygon_websocket=False, symbols=["GOOG"])
    k = Workstation(settings, today=date(2026, 11, 22))
    await k.start()
    try:
        assert k.feeds.vendor_mode and isinstance(k.clock, LiveClock)
        chain = await k.options.chain("GOOG")
        assert chain.source == "polygon" and not chain.modelled.any()
        assert len(chain.strike) == len(goog_snapshot_rows())
        assert any(r.path.startswith("/v3/snapshot/options/GOOG") for r in polygon_srv.requests)
    finally:
        await k.stop()
