"""The kernel: one object that owns settings, clock, bus, store and feeds, and offers the
services both faces (the Qt window and the HTTP server) call. Neither face re-implements logic."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from core.bus import Bus
from core.clock import Clock, LiveClock, ReplayClock
from core.config import Settings
from core.errors import DataError, FeedError, InputError
from core.events import FeedStatus
from core.feeds.manager import FeedManager
from core.feeds.replay import ReplayFeed
from core.indicators import warm_up
from core.market.bars import Bars
from core.market.bundle import BarLibrary
from core.market.importer import ImportedBars, read_bars_file
from core.market.intervals import Interval, parse_interval
from core.options.chain import OptionChain
from core.options.contract_idea import ContractIdea, proxy_for
from core.options.index_proxy import ProxyFit, fit_proxy
from core.options.ranker import RankRequest, rank_contracts
from core.options.replay_chain import replay_chain
from core.paths import bundled_data_dir
from core.prediction import PredictionMade, PredictorClient
from core.scanner.cli import load_calibration
from core.scanner.events import PlanIssued
from core.scanner.plan import PlanContext, save_plan
from core.scanner.scan import ScanResult
from core.scanner.scan import scan as run_scan
from core.store.engine import Store
from core.store.plans import PlansRepo
from core.store.predictions import PredictionsRepo
from core.training_job import TrainingJobs

log = logging.getLogger(__name__)
NY = ZoneInfo("America/New_York")


class Workstation:
    def __init__(self, settings: Settings, *, today: date | None = None, data_bundle: Path | None = None) -> None:
        self.settings = settings
        self.bus = Bus()
        self.library = BarLibrary(data_bundle or bundled_data_dir())
        self.today = today or datetime.now(NY).date()
        # Replay is the default and the fallback: it needs no keys and no network.
        self.replay_clock = ReplayClock(0, speed=settings.replay_speed)
        self.clock: Clock = self.replay_clock
        self.replay = ReplayFeed(self.library, self.replay_clock, today=self.today,
                                 start_minutes_after_open=settings.replay_start_minutes)
        # Replay alone until start(): vendor providers join there when their keys are set (the key
        # lookup may ask the OS keyring, which is slow — it runs off the GUI thread).
        self.feeds = FeedManager(self.bus, self.replay)
        self.store: Store | None = None  # opened in start(); see core.store
        self.predictor = PredictorClient()
        self.training = TrainingJobs(self.bus, settings.data_dir)

    # -- lifecycle ------------------------------------------------------------------------------
    async def start(self) -> None:
        """Bind the bus, position the replay clock, open the store and start the feeds."""
        self.bus.bind()
        sym = self.settings.default_symbol
        loop = asyncio.get_running_loop()
        # Calendar and bundle loads take ~1 s: keep them off the GUI thread.
        # Compiling/loading the indicator kernels holds the GIL: do it now, before any window paints.
        warm = loop.run_in_executor(None, warm_up)
        start_ns = await loop.run_in_executor(None, self._prepare_replay, sym)
        self.replay_clock.jump(start_ns)
        self.store = await loop.run_in_executor(None, self.open_store)
        self.feeds = await loop.run_in_executor(
            None, lambda: FeedManager.from_settings(self.bus, self.replay, self.settings))
        if self.feeds.vendor_mode:
            # Vendor data is live: the kernel's clock is the wall clock. The replay feed keeps its
            # own ReplayClock for the moments it stands in as the last fallback.
            self.clock = LiveClock()
        await warm
        self.feeds.attach_store(self.store)
        await self.feeds.start()
        log.info("workstation started: %s", self.feeds.status().detail)

    def _prepare_replay(self, symbol: str) -> int:
        if self.settings.replay_session is not None:
            self.replay.choose_session(symbol, self.settings.replay_session)
        self.replay.set_primary(symbol)
        self.replay.prepare()
        return self.replay.start_time_ns(symbol)

    def open_store(self) -> Store:
        from core.store import open_store

        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        store = open_store(self.settings.database_url)
        store.migrate()
        return store

    async def stop(self) -> None:
        self.predictor.close()
        await self.feeds.stop()
        await self.bus.close()
        if self.store is not None:
            self.store.close()

    # -- market data services -------------------------------------------------------------------
    def symbols(self) -> list[str]:
        return self.feeds.symbols()

    def feed_status(self) -> FeedStatus:
        return self.feeds.status()

    async def bars(self, symbol: str, interval: Interval | str, limit: int | None = None) -> Bars:
        return await self.feeds.history(symbol, parse_interval(interval), limit=limit)

    def subscribe(self, symbol: str, interval: Interval | str) -> None:
        self.feeds.subscribe(symbol, interval)

    def unsubscribe(self, symbol: str, interval: Interval | str) -> None:
        self.feeds.unsubscribe(symbol, interval)

    # -- scanner ---------------------------------------------------------------------------------
    @property
    def calibration_path(self) -> Path:
        """Where `eval-scanner --save-calibration` output is read from for live confidence."""
        return self.settings.data_dir / "scanner_calibration.json"

    async def scan(self, symbols: list[str] | None = None, interval: Interval | str = "5m",
                   style: str = "intraday", playbooks: list[str] | None = None) -> ScanResult:
        """Run every playbook on the latest bar of each symbol; store and announce the plans.

        Confidence is calibrated when a calibration file exists (see calibration_path), else each
        plan is labelled heuristic."""
        iv = parse_interval(interval)
        names = [s.upper() for s in (symbols or self.symbols())]
        series = {}
        for sym in names:
            bars = await self.bars(sym, iv, limit=2000)
            if len(bars):
                series[sym] = bars
        if not series:
            raise InputError("symbols", f"no bars for {', '.join(names)}")
        loop = asyncio.get_running_loop()
        calibration = await loop.run_in_executor(None, load_calibration, self.calibration_path)
        ctx = PlanContext.with_caches(style, calibration)
        result = await loop.run_in_executor(
            None, lambda: run_scan(series, iv, style=style, playbooks=playbooks, ctx=ctx))
        if self.store is not None:
            repo = PlansRepo(self.store)
            saved = await loop.run_in_executor(None, lambda: [save_plan(repo, p) for p in result.plans])
            result = ScanResult(tuple(saved), result.rejected, result.symbols)
        for plan in result.plans:
            self.bus.publish(PlanIssued(plan, "scan"))
        return result

    # -- predictor -------------------------------------------------------------------------------
    async def predict(self, image: bytes, symbol: str, *, level: float | None = None,
                      price: float | None = None, image_path: str | None = None) -> tuple[Any, int | None]:
        """Screenshot (+ the feed's recent bars) → forecast; stored in `predictions`.

        The price anchor is `price` when given, else the feed's price for the symbol now."""
        from models.forecast import record

        symbol = symbol.strip().upper()
        if not symbol:
            raise InputError("symbol", "is required")
        if not image:
            raise InputError("file", "the image is empty")
        bars = await self.bars(symbol, "5m", limit=200)
        source = "given"
        if price is None:
            # The feed's price at the screenshot time: the latest trade, not the last closed bar.
            last = await self.bars(symbol, "1m", limit=1)
            if not len(last):
                raise InputError("price", f"the feed has no price for {symbol}; type one")
            price, source = float(last.close[-1]), f"feed ({self.feed_status().source})"
        forecast = await self.predictor.predict(image, symbol, at=self.clock.now(), price=price, level=level,
                                                bars=bars if len(bars) else None, price_source=source)
        prediction_id = None
        if self.store is not None:
            loop = asyncio.get_running_loop()
            row = await loop.run_in_executor(
                None, lambda: record(forecast, PredictionsRepo(self.store), image_path=image_path))
            prediction_id = row.prediction_id
        self.bus.publish(PredictionMade(prediction_id, forecast))
        return forecast, prediction_id

    # -- options ---------------------------------------------------------------------------------
    async def option_chain(self, symbol: str) -> OptionChain:
        """The chain for `symbol`: from the vendors (Polygon → Tradier → Yahoo) when keys are set,
        else, on the replay feed, a modelled chain labelled as such."""
        symbol = symbol.upper()
        if self.feeds.vendor_mode:
            return await self.feeds.chain(symbol)
        minute = await self.bars(symbol, "1m", limit=1)
        daily = await self.bars(symbol, "1D")
        if not len(minute):
            raise InputError("symbol", f"no price for {symbol} yet")
        now = self.clock.now()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, replay_chain, symbol, float(minute.close[-1]), daily, now)

    async def index_proxy(self, index: str, proxy: str | None = None) -> ProxyFit:
        """Rolling beta of the proxy ETF on the index (or index future) from the feed's 1-minute bars."""
        proxy = (proxy or proxy_for(index) or "").upper()
        if not proxy:
            raise InputError("symbol", f"{index} has no options proxy (SPX/NDX/RUT or ES/NQ/RTY futures)")
        if not self.feeds.vendor_mode:
            # Replayed symbols line up in time only when they replay the same real day.
            a, b = self.replay.window(index).live_real_day, self.replay.window(proxy).live_real_day
            if a != b:
                common = sorted(set(self.replay.sessions(index)) & set(self.replay.sessions(proxy)))
                hint = (f"replay both on one of {', '.join(map(str, common))} (Session box)" if common
                        else "no bundled session has both")
                raise DataError(f"replay: {index.upper()} replays {a} and {proxy} replays {b}; a beta needs "
                                f"the same real session — {hint}")
        idx = await self.bars(index, "1m", limit=600)
        prx = await self.bars(proxy, "1m", limit=600)
        return fit_proxy(index.upper(), idx.ts, idx.close, prx.ts, prx.close, proxy=proxy)

    async def rank_options(self, symbol: str, direction: str, style: str = "intraday", *,
                           plan_levels: tuple[float, float, tuple[float, ...]] | None = None,
                           via_proxy: bool | None = None, **overrides: float | int | None) -> ContractIdea:
        """Best 3 + alternatives + a rejection code per discarded contract for a trade idea.

        Index mode (SPX/NDX/RUT, or index futures): when the index's own chain cannot be had, or
        when `via_proxy` asks for it, the proxy ETF's contracts are ranked and the plan's levels
        (entry, stop, targets) are translated with the rolling beta; the idea carries the proxy,
        ratio, beta and the American-exercise banner."""
        symbol = symbol.upper()
        request = RankRequest(direction=direction, style=style, now=self.clock.now(), **overrides)
        request.base_criteria()  # validate before any work
        loop = asyncio.get_running_loop()
        reason = ""
        if via_proxy is not True:
            try:
                chain = await self.option_chain(symbol)
            except FeedError as exc:
                if via_proxy is False or proxy_for(symbol) is None:
                    raise
                reason = f"{symbol} chain unavailable: {exc}"
            else:
                result = await loop.run_in_executor(None, rank_contracts, chain, request)
                return ContractIdea(symbol, symbol, result)
        fit = await self.index_proxy(symbol)
        chain = await self.option_chain(fit.proxy)
        result = await loop.run_in_executor(None, rank_contracts, chain, request)
        levels = fit.translate_plan(*plan_levels) if plan_levels is not None else None
        return ContractIdea(symbol, fit.proxy, result, fit, levels, reason or "requested")

    # -- replay controls ------------------------------------------------------------------------
    def replay_pause(self) -> None:
        self.replay_clock.pause()
        self.feeds.refresh_status()

    def replay_resume(self) -> None:
        self.replay_clock.resume()
        self.feeds.refresh_status()

    def replay_set_speed(self, speed: float) -> None:
        self.replay_clock.set_speed(speed)
        self.feeds.refresh_status()

    def replay_step(self, symbol: str) -> None:
        if not self.replay_clock.paused:
            raise InputError("replay", "pause the replay before stepping")
        self.replay.step(symbol)

    def replay_sessions(self, symbol: str) -> list[date]:
        return self.replay.sessions(symbol)

    def replay_jump(self, symbol: str, real_day: date) -> None:
        self.replay.jump_to_session(symbol, real_day)
        self.feeds.reset_all(f"replay jumped to {real_day}")

    def set_primary_symbol(self, symbol: str) -> None:
        self.replay.set_primary(symbol)

    # -- import -----------------------------------------------------------------------------------
    async def import_bars(self, path: Path, symbol: str, tz: str | None = None,
                          allow_missing_volume: bool = False) -> ImportedBars:
        loop = asyncio.get_running_loop()
        imported = await loop.run_in_executor(
            None, lambda: read_bars_file(path, symbol, tz=tz, allow_missing_volume=allow_missing_volume))
        if self.store is not None:
            await loop.run_in_executor(None, self._save_imported, imported)
        return imported

    def _save_imported(self, imported: ImportedBars) -> None:
        from core.store import ImportedBarsRepo

        ImportedBarsRepo(self.store).upsert(imported.symbol, imported.interval, imported.bars, source=imported.source)
