"""The feed manager: one place that owns the feeds, answers history and pumps live streams
into the bus as typed events, reference-counting subscriptions so two charts on the same
(symbol, interval) share one stream.

With vendor providers attached (see `from_settings`) it also chooses a source per capability and
falls back in order when one fails:

    bars        Polygon REST -> Yahoo chart -> last good cached answer -> replay
    live        Polygon WebSocket -> replay stream while the socket is down (a SeriesReset tells
                charts to reload; "live" health DEGRADED with the reason), back to the socket
                when it reconnects (another SeriesReset: charts reload, the vendor's history
                fills the gap)
    chains      Polygon options snapshot -> Tradier -> Yahoo options
    quotes      Polygon snapshot -> Tradier -> Yahoo quote
    enrichment  Finnhub (news sentiment, earnings, economic events)

Every capability has a health state (live / degraded with the reason and the data age / replay /
error) published as FeedHealthChanged(capability, FeedStatus) whenever it changes. With no
providers it behaves exactly as the replay-only manager it replaces.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

import numpy as np

from core.bus import Bus
from core.errors import FeedError, InputError
from core.events import BarClosed, BarUpdated, FeedHealthChanged, FeedState, FeedStatus, SeriesReset, Tick
from core.feeds.base import BarUpdate, Feed
from core.feeds.cache import TTL_CHAIN_S, TTL_QUOTE_S, TTLCache, bars_ttl
from core.feeds.http import AUTH, UNSUPPORTED, MarketStatus, ProviderError, Quote
from core.feeds.providers import Providers, build_providers
from core.market.bars import Bars
from core.market.intervals import Interval, parse_interval
from core.tasks import spawn

log = logging.getLogger(__name__)
NY = ZoneInfo("America/New_York")
T = TypeVar("T")

STATUS_POLL_S = 1.0
LIVE_GRACE_S = 10.0   # a live vendor not streaming for this long -> replay stands in
LIVE_PROBE_S = 0.25   # how often the live vendor's state is checked
STREAM_FAILED = "stream_failed"
BARS, LIVE, CHAINS, QUOTES, ENRICHMENT = "bars", "live", "chains", "quotes", "enrichment"


@dataclass
class _Pump:
    symbol: str
    interval: Interval
    handles: list[StreamHandle] = field(default_factory=list)
    task: asyncio.Task[None] | None = None
    last_ts: int = -1
    updates: int = 0
    extra: dict[str, int] = field(default_factory=dict)
    source: str = ""

    @property
    def refs(self) -> int:
        return len(self.handles)


class StreamHandle:
    """One owner's claim on the live stream of (symbol, interval), returned by
    `FeedManager.subscribe`. `release()` gives it back (idempotent); the stream stops when the
    last handle is released. Also a context manager:

        with manager.subscribe("SPY", "1m"):
            ...   # BarUpdated / BarClosed / Tick events for SPY 1m arrive on the bus
    """

    __slots__ = ("_manager", "interval", "released", "symbol")

    def __init__(self, manager: FeedManager, symbol: str, interval: Interval) -> None:
        self._manager = manager
        self.symbol = symbol
        self.interval = interval
        self.released = False

    def release(self) -> None:
        if not self.released:
            self.released = True
            self._manager._release(self)

    def __enter__(self) -> StreamHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"StreamHandle({self.symbol} {self.interval.name}{', released' if self.released else ''})"


class FeedManager:
    def __init__(self, bus: Bus, bars_feed: Feed, *, providers: Providers | None = None,
                 store: Any | None = None, cache_entries: int = 1024, iv_check_s: float = 3600.0,
                 live_grace_s: float = LIVE_GRACE_S, live_probe_s: float = LIVE_PROBE_S) -> None:
        self._bus = bus
        self._feed = bars_feed          # the replay feed: default source and last resort
        self._providers = providers or Providers()
        self._store = store
        self._pumps: dict[tuple[str, str], _Pump] = {}
        self._last_status: FeedStatus | None = None
        self._status_task: asyncio.Task[None] | None = None
        self._iv_task: asyncio.Task[None] | None = None
        self._iv_check_s = iv_check_s
        self._iv_done: dict[str, date] = {}
        self.cache: TTLCache[Any] = TTLCache(cache_entries)
        self._health: dict[str, FeedStatus] = {}
        self._published: dict[str, tuple[str, str, str]] = {}
        self._bars_source = bars_feed.name
        self._live_grace_s = live_grace_s
        self._live_probe_s = live_probe_s

    # -- construction from settings -------------------------------------------------------------
    @classmethod
    def from_settings(cls, bus: Bus, replay: Feed, settings: Any, store: Any | None = None, *,
                      live_grace_s: float = LIVE_GRACE_S, **kw: Any) -> FeedManager:
        """Providers chosen from the keys present; no keys (and feed=replay) -> replay only."""
        return cls(bus, replay, providers=build_providers(settings, **kw), store=store, live_grace_s=live_grace_s)

    @property
    def feed(self) -> Feed:
        return self._feed

    def attach_store(self, store: Any) -> None:
        """The kernel opens the store in start(); hand it over before `start()` for IV history."""
        self._store = store

    @property
    def providers(self) -> Providers:
        return self._providers

    @property
    def vendor_mode(self) -> bool:
        return self._providers.any

    def _bars_chain(self) -> list[Feed]:
        return [f for f in (self._providers.polygon, self._providers.yahoo) if f is not None]

    # -- lifecycle --------------------------------------------------------------------------------
    async def start(self) -> None:
        await self._feed.start()
        for f in self._bars_chain():
            await f.start()
        self.refresh_status()
        self._status_task = spawn(self._watch_status(), name="feed-status", logger=log)
        if self._store is not None and self._providers.iv_symbols and self._chain_sources():
            self._iv_task = spawn(self._record_iv_daily(), name="iv-recorder", logger=log)

    async def stop(self) -> None:
        tasks = [p.task for p in self._pumps.values() if p.task is not None]
        tasks += [t for t in (self._status_task, self._iv_task) if t is not None]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._pumps.clear()
        await self._feed.stop()
        p = self._providers
        for f in self._bars_chain():
            await f.stop()
        for c in (p.tradier, p.finnhub):
            if c is not None:
                await c.aclose()

    # -- health -----------------------------------------------------------------------------------
    def status(self) -> FeedStatus:
        """The state shown in the status bar: the bars source (replay status when replaying)."""
        if not self.vendor_mode:
            return self._feed.status()
        return self._health.get(LIVE) if self._pumps and LIVE in self._health else self._health.get(
            BARS, self._feed.status())

    def health(self, capability: str) -> FeedStatus | None:
        return self._health.get(capability)

    def health_all(self) -> dict[str, FeedStatus]:
        return dict(self._health)

    def _set_health(self, capability: str, st: FeedStatus) -> None:
        self._health[capability] = st
        sig = (st.source, st.state.value, st.detail)
        if self._published.get(capability) != sig:
            self._published[capability] = sig
            self._bus.publish(FeedHealthChanged(capability, st))

    def _served(self, capability: str, source: str, primary: str, errors: Sequence[ProviderError],
                status: FeedStatus | None = None, age_s: float | None = None) -> None:
        why = "; ".join(e.summary for e in errors)
        if source == primary and status is not None:
            st = status
        elif source == self._feed.name:
            rs = self._feed.status()
            st = replace(rs, detail=f"{why} → replay: {rs.detail}" if why else rs.detail)
        else:
            st = FeedStatus(source, FeedState.DEGRADED, f"{why} → using {source}" if why else f"using {source}",
                            data_age_s=age_s, extra={"reason": errors[0].reason if errors else ""})
        self._set_health(capability, st)

    def _failed(self, capability: str, errors: Sequence[ProviderError]) -> None:
        why = "; ".join(e.summary for e in errors) or "no source configured"
        self._set_health(capability, FeedStatus(errors[0].provider if errors else "none", FeedState.ERROR, why,
                                                extra={"reason": errors[0].reason if errors else ""}))

    def symbols(self) -> list[str]:
        return self._feed.symbols()

    # -- bars ---------------------------------------------------------------------------------------
    async def history(self, symbol: str, interval: Interval | str, *, limit: int | None = None,
                      start_ns: int | None = None, end_ns: int | None = None) -> Bars:
        iv = parse_interval(interval)
        sym = symbol.upper()
        chain = self._bars_chain()
        if not chain:
            return await self._feed.history(sym, iv, start_ns=start_ns, end_ns=end_ns, limit=limit)
        key = ("bars", sym, iv.name, start_ns, end_ns, limit)
        hit = self.cache.get(key)
        if hit is not None:
            return hit[0]
        errors: list[ProviderError] = []
        for f in chain:
            try:
                bars = await f.history(sym, iv, start_ns=start_ns, end_ns=end_ns, limit=limit)
            except ProviderError as err:
                _note(f, err)
                errors.append(err)
                continue
            except InputError as err:  # the vendor cannot name this symbol (e.g. futures on Yahoo)
                errors.append(ProviderError(f.name, UNSUPPORTED, str(err)))
                continue
            self.cache.set(key, (bars, f.name), bars_ttl(iv))
            self._bars_source = f.name
            self._served(BARS, f.name, chain[0].name, errors, f.status())
            return bars
        stale = self.cache.get_stale(key)
        if stale is not None:
            (bars, src), age = stale
            self._bars_source = src
            self._served(BARS, f"{src} (cached)", chain[0].name, errors, age_s=age)
            return bars
        try:
            bars = await self._feed.history(sym, iv, start_ns=start_ns, end_ns=end_ns, limit=limit)
        except (InputError, FeedError) as exc:
            self._failed(BARS, errors)
            raise FeedError(f"no source has {iv} bars for {sym}: "
                            + "; ".join([*(e.summary for e in errors), str(exc)])) from exc
        self._bars_source = self._feed.name
        self._served(BARS, self._feed.name, chain[0].name, errors)
        return bars

    # -- live ---------------------------------------------------------------------------------------
    def subscribe(self, symbol: str, interval: Interval | str) -> StreamHandle:
        """Start (or share) the live stream of (symbol, interval) into the bus.

        Returns the caller's handle: `handle.release()` (or leaving its `with` block) gives the
        subscription back; the stream stops when the last handle is released."""
        iv = parse_interval(interval)
        key = (symbol.upper(), iv.name)
        pump = self._pumps.get(key)
        if pump is None:
            pump = self._pumps[key] = _Pump(symbol.upper(), iv)
        handle = StreamHandle(self, pump.symbol, iv)
        pump.handles.append(handle)
        self._announce()
        if pump.task is None or pump.task.done():
            pump.task = spawn(self._run(pump), name=f"pump:{pump.symbol}/{iv.name}", logger=log,
                              on_error=lambda exc, p=pump: self._pump_failed(p, exc))
        return handle

    def streaming(self) -> list[tuple[str, str]]:
        """(symbol, interval name) of every stream some handle still holds, sorted."""
        return sorted(key for key, pump in self._pumps.items() if pump.handles)

    def unsubscribe(self, symbol: str, interval: Interval | str) -> None:
        """Deprecated (kept for one release): release one handle of (symbol, interval)."""
        key = (symbol.upper(), parse_interval(interval).name)
        pump = self._pumps.get(key)
        if pump is not None and pump.handles:
            pump.handles[0].release()

    def _release(self, handle: StreamHandle) -> None:
        key = (handle.symbol, handle.interval.name)
        pump = self._pumps.get(key)
        if pump is None or handle not in pump.handles:
            return
        pump.handles.remove(handle)
        if not pump.handles:
            if pump.task is not None:
                pump.task.cancel()
            del self._pumps[key]
            self._announce()

    def _announce(self) -> None:
        """Tell the replay feed what is subscribed: its status describes exactly that."""
        self._feed.set_subscribed(sorted({p.symbol for p in self._pumps.values()}))

    def subscriptions(self) -> dict[tuple[str, str], int]:
        """(symbol, interval name) -> number of live handles: what is streamed now."""
        return {k: p.refs for k, p in self._pumps.items()}

    def _pump_failed(self, pump: _Pump, exc: BaseException) -> None:
        """A pump died: the live capability is degraded, and says which stream and why."""
        reason = exc.reason if isinstance(exc, ProviderError) else STREAM_FAILED
        self._set_health(LIVE, FeedStatus(pump.source or self._feed.name, FeedState.DEGRADED,
                                          f"live {pump.symbol} {pump.interval.name} stopped: "
                                          f"{type(exc).__name__}: {exc}",
                                          extra={"reason": reason, "symbol": pump.symbol,
                                                 "interval": pump.interval.name}))

    def reset_all(self, reason: str) -> None:
        """Tell consumers every subscribed series must be reloaded (replay clock jump, backfill)."""
        for p in self._pumps.values():
            self._bus.publish(SeriesReset(p.symbol, p.interval, reason))
        self.refresh_status()

    def reset_symbol(self, symbol: str, reason: str) -> None:
        """Tell consumers the subscribed series of one symbol must be reloaded (a replay session
        chosen for that symbol: the clock and the other symbols are unchanged)."""
        sym = symbol.upper()
        for p in self._pumps.values():
            if p.symbol == sym:
                self._bus.publish(SeriesReset(p.symbol, p.interval, reason))
        self.refresh_status()

    def _live_chain(self) -> list[Feed]:
        pg = self._providers.polygon
        return ([pg] if pg is not None and getattr(pg, "ws", None) is not None else []) + [self._feed]

    async def _run(self, pump: _Pump) -> None:
        chain = self._live_chain()
        if len(chain) == 1:
            pump.source = self._feed.name
            await self._pump_from(self._feed, pump)  # an error ends the pump: spawn logs it
            return
        await self._run_with_fallback(pump, chain[0], self._feed)

    async def _run_with_fallback(self, pump: _Pump, primary: Feed, fallback: Feed) -> None:
        """Stream from `primary`; while it is down (not LIVE for `live_grace_s`, or failed) the
        fallback streams instead, labelled DEGRADED; when the primary is LIVE again the series
        is reset so consumers reload history from the vendor (filling the gap) and follow the
        primary again. The primary's stream keeps running throughout: it is what reconnects."""
        inbox: asyncio.Queue[BarUpdate | BaseException] = asyncio.Queue()
        name = f"{pump.symbol}/{pump.interval.name}"

        async def read_primary() -> None:
            try:
                async for upd in primary.stream(pump.symbol, pump.interval):
                    inbox.put_nowait(upd)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.exception("live %s from %s failed", name, primary.name)
                inbox.put_nowait(exc)  # the pump loop falls back and reports it in the health

        reader = spawn(read_primary(), name=f"live:{primary.name}:{name}", logger=log)
        standby: asyncio.Task[None] | None = None
        failure: ProviderError | None = None
        down_since: float | None = None
        pump.source = primary.name
        self._set_health(LIVE, primary.status())
        try:
            while True:
                try:
                    item = await asyncio.wait_for(inbox.get(), self._live_probe_s)
                except TimeoutError:
                    item = None
                if isinstance(item, BaseException):
                    failure = _as_provider_error(primary.name, item)
                    _note(primary, failure)
                    log.warning("live %s from %s failed: %s", name, primary.name, failure)
                elif item is not None and standby is None:
                    self._publish(pump, item, primary.name)
                if standby is not None and standby.done():
                    standby.result()  # the stand-in failed too: the pump ends with its error
                st = primary.status()
                healthy = failure is None and st.state is FeedState.LIVE
                if standby is None:
                    if healthy:
                        down_since = None
                        self._set_health(LIVE, st)
                        continue
                    down_since = down_since if down_since is not None else time.monotonic()
                    if failure is None and time.monotonic() - down_since < self._live_grace_s:
                        continue
                    why = failure or ProviderError(primary.name, _reason_of(st), st.detail)
                    standby = self._stand_in(pump, fallback, why)
                elif healthy:
                    standby.cancel()
                    await asyncio.gather(standby, return_exceptions=True)
                    standby, down_since = None, None
                    self._back_live(pump, primary, st)
                elif failure is None:
                    why = ProviderError(primary.name, _reason_of(st), st.detail)
                    self._set_health(LIVE, self._replay_health(why.summary, why.reason))
        finally:
            for t in (reader, standby):
                if t is not None:
                    t.cancel()

    def _stand_in(self, pump: _Pump, fallback: Feed, why: ProviderError) -> asyncio.Task[None]:
        """Start streaming `pump` from the fallback feed, clearly labelled."""
        log.warning("live %s %s: %s; streaming %s until it is back", pump.symbol, pump.interval.name,
                    why.summary, fallback.name)
        pump.source = fallback.name
        self.cache.invalidate()
        self._bus.publish(SeriesReset(pump.symbol, pump.interval, f"live source changed to {fallback.name}"))
        self._set_health(LIVE, self._replay_health(why.summary, why.reason))
        return spawn(self._pump_from(fallback, pump), name=f"standby:{fallback.name}:{pump.symbol}/"
                     f"{pump.interval.name}", logger=log)

    def _back_live(self, pump: _Pump, primary: Feed, st: FeedStatus) -> None:
        log.info("live %s %s: %s is back; reloading the series from it", pump.symbol, pump.interval.name,
                 primary.name)
        pump.source = primary.name
        self.cache.invalidate()  # the reload must ask the vendor, not a stale or replayed answer
        self._bus.publish(SeriesReset(pump.symbol, pump.interval,
                                      f"live source back: {primary.name} (reload to fill the gap)"))
        self._set_health(LIVE, st)

    def _replay_health(self, why: str, reason: str) -> FeedStatus:
        """The replay standing in for a failed source: DEGRADED, with the failure and the
        replay's own text (real day, "not live data")."""
        rs = self._feed.status()
        return FeedStatus(rs.source, FeedState.DEGRADED, f"{why} → replay: {rs.detail}", replayed=True,
                          speed=rs.speed, extra={**rs.extra, "reason": reason, "why": why,
                                                 "replay_state": rs.state.value})

    async def _pump_from(self, feed: Feed, pump: _Pump) -> None:
        src = feed.name
        async for upd in feed.stream(pump.symbol, pump.interval):
            self._publish(pump, upd, src)

    def _publish(self, pump: _Pump, upd: BarUpdate, src: str) -> None:
        pump.updates += 1
        pump.last_ts = upd.bar.ts
        if upd.tick_price is not None:
            self._bus.publish(Tick(upd.symbol, upd.bar.ts, upd.tick_price, upd.tick_size, src))
        event = BarClosed if upd.closed else BarUpdated
        self._bus.publish(event(upd.symbol, upd.interval, upd.bar, src))

    async def _watch_status(self) -> None:
        while True:
            await asyncio.sleep(STATUS_POLL_S)
            self.refresh_status()

    def refresh_status(self) -> None:
        if not self.vendor_mode:
            st = self._feed.status()
            last = self._last_status
            # Published when what the status bar says changes (not for the ticking clock in extra).
            if last is None or (st.source, st.state, st.detail) != (last.source, last.state, last.detail):
                self._last_status = st
                self._bus.publish(FeedHealthChanged(BARS, st))
            return
        # Replay-served capabilities follow the replay clock (paused, finished...).
        for cap in (BARS, LIVE):
            cur = self._health.get(cap)
            if cur is not None and cur.replayed:
                if cur.state is FeedState.DEGRADED and "why" in cur.extra:
                    self._set_health(cap, self._replay_health(cur.extra["why"], cur.extra.get("reason", "")))
                    continue
                rs = self._feed.status()
                why = cur.detail.split(" → replay: ")[0] if " → replay: " in cur.detail else ""
                self._set_health(cap, replace(rs, detail=f"{why} → replay: {rs.detail}" if why else rs.detail))
        if BARS not in self._health:
            first = self._bars_chain()[0] if self._bars_chain() else self._feed
            self._set_health(BARS, first.status())

    # -- quotes, chains, enrichment --------------------------------------------------------------
    async def _first(self, capability: str, sources: Sequence[tuple[str, Callable[[], Awaitable[T]], Any]],
                     key: tuple[Any, ...], ttl_s: float) -> T:
        """Try sources in order, caching the first answer; publish the capability's health."""
        hit = self.cache.get(key)
        if hit is not None:
            return hit  # type: ignore[no-any-return]
        if not sources:
            raise FeedError(f"no {capability} source configured (add a Polygon, Tradier or Yahoo source)")
        errors: list[ProviderError] = []
        for name, call, client in sources:
            try:
                value = await call()
            except ProviderError as err:
                _note(client, err)
                errors.append(err)
                continue
            except InputError as err:
                errors.append(ProviderError(name, UNSUPPORTED, str(err)))
                continue
            self.cache.set(key, value, ttl_s)
            st = client.status() if hasattr(client, "status") else FeedStatus(name, FeedState.LIVE, name)
            self._served(capability, name, sources[0][0], errors, st, age_s=0.0)
            return value
        stale = self.cache.get_stale(key)
        if stale is not None:
            self._served(capability, f"{sources[0][0]} (cached)", sources[0][0], errors, age_s=stale[1])
            return stale[0]  # type: ignore[no-any-return]
        self._failed(capability, errors)
        raise FeedError(f"no {capability} source could answer: " + "; ".join(e.summary for e in errors))

    def _chain_sources(self, symbol: str = "") -> list[tuple[str, Callable[[], Awaitable[Any]], Any]]:
        p = self._providers
        out: list[tuple[str, Callable[[], Awaitable[Any]], Any]] = []
        if p.polygon is not None:
            out.append(("polygon", lambda: p.polygon.rest.options_chain(symbol), p.polygon))
        if p.tradier is not None:
            out.append(("tradier", lambda: p.tradier.chain(symbol), p.tradier))
        if p.yahoo is not None:
            out.append(("yahoo", lambda: p.yahoo.client.options(symbol), p.yahoo))
        return out

    async def chain(self, symbol: str) -> Any:
        """The option chain (core.options.chain.OptionChain): Polygon -> Tradier -> Yahoo."""
        sym = symbol.upper()
        return await self._first(CHAINS, self._chain_sources(sym), ("chain", sym), TTL_CHAIN_S)

    async def quote(self, symbol: str) -> Quote:
        sym = symbol.upper()
        p = self._providers
        src: list[tuple[str, Callable[[], Awaitable[Quote]], Any]] = []
        if p.polygon is not None:
            src.append(("polygon", lambda: p.polygon.rest.quote(sym), p.polygon))
        if p.tradier is not None:
            src.append(("tradier", lambda: p.tradier.quote(sym), p.tradier))
        if p.yahoo is not None:
            src.append(("yahoo", lambda: p.yahoo.client.quote(sym), p.yahoo))
        return await self._first(QUOTES, src, ("quote", sym), TTL_QUOTE_S)

    async def market_status(self) -> MarketStatus:
        pg = self._providers.polygon
        if pg is None:
            raise FeedError("market status needs a Polygon key")
        return await self.cache.get_or_load(("market_status",), pg.rest.market_status, 60.0)

    def _finnhub(self) -> Any:
        if self._providers.finnhub is None:
            raise FeedError("enrichment needs a Finnhub key (FINNHUB_API_KEY)")
        return self._providers.finnhub

    async def _enrich(self, call: Callable[[], Awaitable[T]], default: T) -> T:
        """Enrichment is optional: a failure gives `default` and an ERROR/DEGRADED health that
        says why, never an exception in the caller (the scanner keeps ranking without it)."""
        fh = self._finnhub()
        try:
            value = await call()
        except ProviderError as err:
            _note(fh, err)
            self._set_health(ENRICHMENT, replace(fh.status(), extra={"reason": err.reason}))
            return default
        self._set_health(ENRICHMENT, fh.status())
        return value

    async def news_sentiment(self, symbol: str) -> Any | None:
        """core.feeds.finnhub.NewsSentiment, or None when Finnhub cannot answer."""
        return await self._enrich(lambda: self._finnhub().news_sentiment(symbol), None)

    async def earnings_calendar(self, start: date, end: date, symbol: str | None = None) -> list[Any]:
        return await self._enrich(lambda: self._finnhub().earnings_calendar(start, end, symbol), [])

    async def economic_calendar(self, start: date, end: date) -> list[Any]:
        return await self._enrich(lambda: self._finnhub().economic_calendar(start, end), [])

    # -- IV history ---------------------------------------------------------------------------------
    async def record_atm_iv(self, symbols: Sequence[str], day: date | None = None) -> dict[str, float]:
        """Fetch each chain, compute the 30-day ATM IV and upsert it into iv_history for `day`
        (default: today in New York). Symbols whose chain or IV is unavailable are skipped
        (logged); returns what was recorded."""
        from core.options.vol import atm_iv_30d
        from core.store.iv_history import IVHistoryRepo

        if self._store is None:
            raise FeedError("recording IV needs the store")
        day = day or datetime.now(NY).date()
        repo = IVHistoryRepo(self._store)
        loop = asyncio.get_running_loop()
        out: dict[str, float] = {}
        for sym in symbols:
            try:
                chain = await self.chain(sym)
            except FeedError as err:
                log.warning("iv history %s: no chain (%s)", sym, err)
                continue
            iv = await loop.run_in_executor(None, atm_iv_30d, chain)
            if not np.isfinite(iv.value) or iv.value <= 0:
                log.warning("iv history %s: no ATM IV in 15-60 DTE from %s", sym, chain.source)
                continue
            await loop.run_in_executor(None, repo.upsert, sym, day, float(iv.value), chain.source)
            out[sym.upper()] = float(iv.value)
        return out

    async def _record_iv_daily(self) -> None:
        while True:
            today = datetime.now(NY).date()
            todo = [s for s in self._providers.iv_symbols if self._iv_done.get(s) != today]
            if todo and today.weekday() < 5:
                try:
                    done = await self.record_atm_iv(todo, today)
                except FeedError as err:
                    log.warning("iv history: %s", err)
                    done = {}
                for s in todo:
                    if s.upper() in done:
                        self._iv_done[s] = today
            await asyncio.sleep(self._iv_check_s)


def _as_provider_error(provider: str, exc: BaseException) -> ProviderError:
    if isinstance(exc, ProviderError):
        return exc
    return ProviderError(provider, STREAM_FAILED, f"{type(exc).__name__}: {exc}")


def _reason_of(st: FeedStatus) -> str:
    """A machine reason for a vendor that is not LIVE (connecting, reconnecting, key rejected)."""
    if st.state is FeedState.ERROR and "key rejected" in st.detail:
        return AUTH
    return st.extra.get("reason") or ("connecting" if st.state is FeedState.CONNECTING else "disconnected")


def _note(provider: Any, err: ProviderError) -> None:
    """Errors found after a good HTTP answer (empty or unusable payload) count against the
    provider's health too, so its status says why it was skipped."""
    h = getattr(provider, "health", None)
    if h is not None and h.error is not err:
        h.record_error(err)
