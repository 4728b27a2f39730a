"""Finnhub enrichment, in process (the seed ran it as a sidecar): news sentiment, earnings
calendar and economic events, each behind its own TTL cache so the scanner's many symbols do not
burn the free tier (60 calls/min)."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from core.events import FeedState, FeedStatus
from core.feeds.cache import TTL_CALENDAR_S, TTL_NEWS_S, TTLCache
from core.feeds.http import AUTH, EMPTY, MALFORMED, HttpConfig, VendorHttp, require
from core.feeds.ratelimit import RateLimiter

log = logging.getLogger(__name__)
NAME = "finnhub"
DEFAULT_BASE_URL = "https://finnhub.io/api/v1"
CALLS_PER_MIN = 60


@dataclass(frozen=True, slots=True)
class NewsSentiment:
    symbol: str
    bullish_pct: float | None       # share of bullish articles, 0-1
    bearish_pct: float | None
    company_news_score: float | None
    articles_in_last_week: float | None
    buzz: float | None              # articles this week / weekly average


@dataclass(frozen=True, slots=True)
class EarningsEvent:
    symbol: str
    date: date
    hour: str                       # "bmo" before open, "amc" after close, "dmh" during, "" unknown
    eps_estimate: float | None
    eps_actual: float | None
    revenue_estimate: float | None
    revenue_actual: float | None


@dataclass(frozen=True, slots=True)
class EconomicEvent:
    time: str                       # as sent ("2024-07-05 12:30:00", UTC)
    country: str
    event: str
    impact: str
    actual: float | None
    estimate: float | None
    prev: float | None
    unit: str


def _f(v: Any) -> float | None:
    try:
        return None if v is None or v == "" else float(v)
    except (TypeError, ValueError):
        return None


class FinnhubClient:
    def __init__(self, api_key: str, base_url: str = DEFAULT_BASE_URL, *, config: HttpConfig | None = None,
                 limiter: RateLimiter | None = None, cache_entries: int = 512) -> None:
        self.http = VendorHttp(NAME, base_url, config=config,
                               limiter=limiter or RateLimiter(NAME, CALLS_PER_MIN, 60.0),
                               headers={"X-Finnhub-Token": api_key})
        self.cache: TTLCache[Any] = TTLCache(cache_entries)

    @property
    def health(self):  # type: ignore[no-untyped-def]
        return self.http.health

    async def aclose(self) -> None:
        await self.http.aclose()

    async def news_sentiment(self, symbol: str) -> NewsSentiment:
        sym = symbol.upper()

        async def load() -> NewsSentiment:
            d = await self.http.get_json("/news-sentiment", {"symbol": sym})
            require(isinstance(d, Mapping), NAME, MALFORMED, "news sentiment is not an object")
            sent = d.get("sentiment") or {}
            buzz = d.get("buzz") or {}
            require(bool(sent) or bool(buzz), NAME, EMPTY, f"no news sentiment for {sym}")
            return NewsSentiment(sym, _f(sent.get("bullishPercent")), _f(sent.get("bearishPercent")),
                                 _f(d.get("companyNewsScore")), _f(buzz.get("articlesInLastWeek")),
                                 _f(buzz.get("buzz")))

        return await self.cache.get_or_load(("news", sym), load, TTL_NEWS_S)

    async def earnings_calendar(self, start: date, end: date, symbol: str | None = None) -> list[EarningsEvent]:
        key = ("earnings", start, end, symbol)

        async def load() -> list[EarningsEvent]:
            params: dict[str, Any] = {"from": start.isoformat(), "to": end.isoformat()}
            if symbol:
                params["symbol"] = symbol.upper()
            d = await self.http.get_json("/calendar/earnings", params)
            rows = d.get("earningsCalendar") if isinstance(d, Mapping) else None
            require(isinstance(rows, list), NAME, MALFORMED, "earnings calendar without earningsCalendar")
            assert isinstance(rows, list)
            out = []
            for r in rows:
                try:
                    out.append(EarningsEvent(str(r["symbol"]), date.fromisoformat(r["date"]), str(r.get("hour") or ""),
                                             _f(r.get("epsEstimate")), _f(r.get("epsActual")),
                                             _f(r.get("revenueEstimate")), _f(r.get("revenueActual"))))
                except (KeyError, TypeError, ValueError) as exc:
                    log.warning("finnhub: earnings row skipped (%s): %s", exc, r)
            return out  # an empty list is an answer: no earnings in the window

        return await self.cache.get_or_load(key, load, TTL_CALENDAR_S)

    async def economic_calendar(self, start: date, end: date) -> list[EconomicEvent]:
        async def load() -> list[EconomicEvent]:
            d = await self.http.get_json("/calendar/economic", {"from": start.isoformat(), "to": end.isoformat()})
            cal = d.get("economicCalendar") if isinstance(d, Mapping) else None
            rows = cal.get("economicCalendar") if isinstance(cal, Mapping) else cal
            require(isinstance(rows, list), NAME, MALFORMED, "economic calendar without economicCalendar")
            assert isinstance(rows, list)
            return [EconomicEvent(str(r.get("time", "")), str(r.get("country", "")), str(r.get("event", "")),
                                  str(r.get("impact", "")), _f(r.get("actual")), _f(r.get("estimate")),
                                  _f(r.get("prev")), str(r.get("unit", ""))) for r in rows]

        return await self.cache.get_or_load(("economic", start, end), load, TTL_CALENDAR_S)

    def status(self) -> FeedStatus:
        h = self.health
        if h.error is not None:
            state = FeedState.ERROR if h.error.reason == AUTH else FeedState.DEGRADED
            return FeedStatus(NAME, state, h.error.summary, data_age_s=h.age_s)
        return FeedStatus(NAME, FeedState.LIVE if h.ok_at else FeedState.CONNECTING, "Finnhub enrichment",
                          data_age_s=h.age_s)
