"""Which vendor sources exist: built from the keys in the settings (keyring lookups happen here,
off the GUI thread). The feed manager routes each capability through them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class Providers:
    """Vendor sources the manager may use; any may be None. Built by `from_settings`."""

    polygon: Any | None = None        # core.feeds.polygon.PolygonFeed (its .ws streams live bars)
    yahoo: Any | None = None          # core.feeds.yahoo.YahooFeed
    tradier: Any | None = None        # core.feeds.tradier.TradierClient
    finnhub: Any | None = None        # core.feeds.finnhub.FinnhubClient
    iv_symbols: list[str] = field(default_factory=list)  # ATM IV recorded daily for these

    @property
    def any(self) -> bool:
        return any(p is not None for p in (self.polygon, self.yahoo, self.tradier, self.finnhub))



def _secret(settings: Any, name: str) -> str | None:
    try:
        return settings.secret(name)
    except (KeyError, OSError) as exc:  # keyring unavailable: treat as unset, say why
        log.warning("secret %s unavailable: %s", name, exc)
        return None


def build_providers(settings: Any, *, http_config: Any | None = None, ws_config: Any | None = None,
                    today: Callable[[], date] | None = None) -> Providers:
    """Vendor providers from the keys present in settings (core.config.Settings).

    Polygon (key) gives bars, live, chains, quotes; Tradier (token) chains and quotes; Finnhub
    (key) enrichment; Yahoo needs no key and is added as the free fallback when any vendor key is
    set or `feed = "auto"`. Base URLs come from settings (`polygon_base_url`, `tradier_base_url`,
    `polygon_ws_url`, `yahoo_base_url`, `finnhub_base_url`).
    """
    # Vendor modules (websockets, parsers) load only when a key asks for them: start-up stays fast.
    p = Providers()
    pg_key = _secret(settings, "polygon_api_key")
    tr_prod = _secret(settings, "tradier_token")
    tr_sandbox = _secret(settings, "tradier_sandbox_token")
    fh_key = _secret(settings, "finnhub_api_key")
    if pg_key:
        from core.feeds import polygon, polygon_ws
        from core.feeds.ratelimit import RateLimiter

        per_min = int(settings.polygon_calls_per_minute)
        rest = polygon.PolygonRest(pg_key, settings.polygon_base_url, config=http_config, today=today,
                                   limiter=RateLimiter("polygon", per_min, 60.0))
        ws = None
        if settings.enable_polygon_websocket:
            cfg = ws_config or polygon_ws.WsConfig(url=settings.polygon_ws_url)
            ws = polygon_ws.PolygonStream(pg_key, rest, config=cfg)
        p.polygon = polygon.PolygonFeed(rest, ws)
    if tr_prod or tr_sandbox:
        from core.feeds import tradier

        base = settings.tradier_base_url
        if tr_prod and base.rstrip("/") == tradier.SANDBOX_URL:
            base = tradier.PRODUCTION_URL  # a production token against the sandbox is always rejected
        p.tradier = tradier.TradierClient(tr_prod or tr_sandbox or "", base, config=http_config, today=today)
    if fh_key:
        from core.feeds import finnhub

        p.finnhub = finnhub.FinnhubClient(fh_key, settings.finnhub_base_url,
                                          config=http_config)
    if p.any or settings.feed == "auto":
        from core.feeds import yahoo

        p.yahoo = yahoo.YahooFeed(yahoo.YahooClient(settings.yahoo_base_url,
                                                    config=http_config, today=today))
    p.iv_symbols = [s for s in settings.symbols if s]
    if p.any:
        log.info("feed providers: %s", ", ".join(n for n, v in (("polygon", p.polygon), ("tradier", p.tradier),
                                                                 ("finnhub", p.finnhub), ("yahoo", p.yahoo)) if v))
    return p
