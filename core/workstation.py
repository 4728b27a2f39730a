"""The kernel: owns settings, clock, bus, store, feeds and jobs, composes the services both faces
call (the Qt window and the HTTP server), and owns the life cycle — nothing else.

    kernel = Workstation(settings)
    kernel.runtime.start()                          # its own loop thread (the window) …
    kernel.runtime.call(kernel.start())
    bars = kernel.runtime.call(kernel.market.bars("SPY", "5m"))

    async with Workstation.session(settings) as kernel:   # … or the caller's loop (CLI, serve, tests)
        await kernel.plans.scan(["SPY"])

Services: market · plans · context · options · predictor · notes · drawings · collection · settings · jobs
(core.jobs).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from core.bus import Bus
from core.clock import Clock, LiveClock, ReplayClock
from core.config import Settings
from core.feeds.manager import FeedManager
from core.feeds.replay import ReplayFeed
from core.jobs import JobContext, JobInfo, JobManager
from core.market.bundle import BarLibrary
from core.paths import bundled_data_dir
from core.runtime import KernelRuntime
from core.services.collection import CollectionService
from core.services.context import ContextService
from core.services.drawings import DrawingsService
from core.services.market import MarketService
from core.services.notes import NotesService
from core.services.options import OptionsService
from core.services.plans import PlansService
from core.services.predictor import PredictorService
from core.services.settings import SettingsService
from core.store.engine import Store
from core.store.imported_bars import ImportResult
from core.tasks import cancel_all

log = logging.getLogger(__name__)
NY = ZoneInfo("America/New_York")
STOP_TIMEOUT_S = 2.0


class KernelNotStarted(RuntimeError):
    pass


class Workstation:
    def __init__(self, settings: Settings, *, today: date | None = None, data_bundle: Path | None = None,
                 runtime: KernelRuntime | None = None) -> None:
        self.settings = settings
        self.runtime = runtime or KernelRuntime()
        self.bus = Bus()
        self.library = BarLibrary(data_bundle or bundled_data_dir())
        self.today = today or datetime.now(NY).date()
        # Replay is the default and the fallback: it needs no keys and no network.
        self.replay_clock = ReplayClock(0, speed=settings.replay_speed)
        self.clock: Clock = self.replay_clock
        self.bus.set_clock(lambda: self.clock.now_ns())
        self.replay = ReplayFeed(self.library, self.replay_clock, today=self.today,
                                 start_minutes_after_open=settings.replay_start_minutes)
        self.jobs = JobManager(self.bus, self.runtime)
        self.settings_service = SettingsService(settings, self.runtime)
        self.store: Store | None = None
        self._feeds: FeedManager | None = None  # built in start(): vendor set-up reads the keyring
        self._services: dict[str, object] = {}
        self._started = False

    # -- services (available after start) -----------------------------------------------------------
    def _service(self, name: str) -> object:
        try:
            return self._services[name]
        except KeyError:
            raise KernelNotStarted(f"kernel.{name} is available after start()") from None

    @property
    def feeds(self) -> FeedManager:
        if self._feeds is None:
            raise KernelNotStarted("kernel.feeds is available after start()")
        return self._feeds

    @property
    def market(self) -> MarketService:
        return self._service("market")  # type: ignore[return-value]

    @property
    def plans(self) -> PlansService:
        return self._service("plans")  # type: ignore[return-value]

    @property
    def context(self) -> ContextService:
        return self._service("context")  # type: ignore[return-value]

    @property
    def options(self) -> OptionsService:
        return self._service("options")  # type: ignore[return-value]

    @property
    def predictor(self) -> PredictorService:
        return self._service("predictor")  # type: ignore[return-value]

    @property
    def notes(self) -> NotesService:
        return self._service("notes")  # type: ignore[return-value]

    @property
    def drawings(self) -> DrawingsService:
        return self._service("drawings")  # type: ignore[return-value]

    @property
    def collection(self) -> CollectionService:
        return self._service("collection")  # type: ignore[return-value]

    # -- lifecycle ---------------------------------------------------------------------------------
    @classmethod
    @asynccontextmanager
    async def session(cls, settings: Settings, **kw: object) -> AsyncIterator[Workstation]:
        """Run a kernel on the caller's loop (CLI, headless serve, tests) and stop it afterwards."""
        kernel = cls(settings, **kw)  # type: ignore[arg-type]
        kernel.runtime.adopt_running_loop()
        await kernel.start()
        try:
            yield kernel
        finally:
            await kernel.stop()
            kernel.runtime.stop()

    async def start(self, *, feeds: bool = True) -> None:
        """Bind the bus, position the replay clock, open the store, start feeds and jobs.
        With `feeds=False` (imports, offline CLI commands) only the store and services start."""
        if self.runtime.loop is None:
            self.runtime.adopt_running_loop()
        self.bus.bind()
        rt = self.runtime
        sym = self.settings.default_symbol
        # No indicator warm-up here: charts and scans compute in worker processes that load the
        # compiled kernels as they start (the window pre-starts them, app/gui.py); loading them
        # in this process held the GIL for ~2.7 s, and the few in-process users load on first call.
        start_ns = await rt.run_io(self._prepare_replay, sym)
        self.replay_clock.jump(start_ns)
        self.store = await rt.run_io(self.open_store)
        self.jobs.attach_store(self.store)
        await self.jobs.start()
        if feeds:
            self._feeds = await rt.run_io(
                lambda: FeedManager.from_settings(self.bus, self.replay, self.settings))
        else:
            self._feeds = FeedManager(self.bus, self.replay)
        if self._feeds.vendor_mode:
            # Vendor data is live: the kernel's clock is the wall clock. The replay feed keeps its
            # own ReplayClock for the moments it stands in as the last fallback.
            self.clock = LiveClock()
        self._feeds.attach_store(self.store)
        self._build_services()
        if feeds:
            await self._feeds.start()
            await self.drawings.start()  # price alerts watch the live stream
        self._started = True
        log.info("workstation started: %s", self._feeds.status().detail)

    def _build_services(self) -> None:
        assert self._feeds is not None
        data_dir = self.settings.data_dir
        market = MarketService(self._feeds, self.replay, self.replay_clock, self.clock)
        options = OptionsService(market, self._feeds, self.replay, self.runtime)
        self._services = {
            "market": market,
            "options": options,
            "plans": PlansService(market, self.store, self.bus, self.runtime, data_dir, self.jobs),
            "context": ContextService(market, options, self.store, self.runtime),
            "predictor": PredictorService(market, self.store, self.bus, self.runtime, self.jobs, data_dir),
            "notes": NotesService(self.store, self.bus, self.runtime),
            "drawings": DrawingsService(market, self.store, self.bus, self.runtime),
        }
        if self.store is not None:
            self._services["collection"] = CollectionService(market, self.store, self.runtime, self.jobs, data_dir)

    def _prepare_replay(self, symbol: str) -> int:
        if self.settings.replay_session is not None:
            self.replay.choose_session(symbol, self.settings.replay_session)
        self.replay.prepare()
        return self.replay.start_time_ns(symbol)

    def open_store(self) -> Store:
        from core.store.engine import open_ready_store

        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        return open_ready_store(self.settings.database_url)

    async def stop(self) -> None:
        """Ordered, bounded shutdown: jobs, then the feeds' tasks, the predictor worker, the bus, the
        store. Every task the kernel started has ended when this returns."""
        await self.jobs.stop(timeout=STOP_TIMEOUT_S)
        if "plans" in self._services:
            await self.plans.close()
        if "drawings" in self._services:
            await self.drawings.close()
        if "predictor" in self._services:
            self.predictor.close()
        if self._feeds is not None:
            try:
                await asyncio.wait_for(self._feeds.stop(), STOP_TIMEOUT_S)
            except TimeoutError:
                log.error("kernel stop: the feeds did not stop within %.1f s", STOP_TIMEOUT_S)
        await self.bus.close()
        if self.store is not None:
            await self.runtime.run_io(self.store.close)
            self.store = None
        self.runtime.shutdown_processes()
        current = asyncio.current_task()
        leftover = [t for t in asyncio.all_tasks() if t is not current and t.get_name().startswith(
            ("pump:", "feed-", "bus:", "job", "iv-"))]
        await cancel_all(leftover, timeout=STOP_TIMEOUT_S)
        self._started = False

    # -- import ------------------------------------------------------------------------------------
    async def import_bars(self, path: Path, symbol: str, *, tz: str | None = None,
                          allow_missing_volume: bool = False, drop_invalid: bool = False,
                          progress: Callable[[float, str], None] | None = None) -> ImportResult:
        """Stream a bar file into the store in bounded chunks; a re-import replaces the file's range."""
        from core.store.imported_bars import import_bars_file

        if self.store is None:
            raise KernelNotStarted("import_bars needs the store: start() the kernel first")
        store = self.store
        return await self.runtime.run_io(lambda: import_bars_file(
            store, path, symbol, tz=tz, allow_missing_volume=allow_missing_volume, drop_invalid=drop_invalid,
            progress=progress))

    async def import_bars_job(self, path: Path, symbol: str, *, owner: str = "local", tz: str | None = None,
                              allow_missing_volume: bool = False, drop_invalid: bool = False) -> JobInfo:
        """The same import as a job (progress, cancel between chunks is not supported: the import is
        one transaction, so a cancel leaves the store as it was)."""
        async def runner(ctx: JobContext) -> dict[str, object]:
            res = await self.import_bars(path, symbol, tz=tz, allow_missing_volume=allow_missing_volume,
                                         drop_invalid=drop_invalid, progress=ctx.progress)
            return res.to_dict()

        return await self.jobs.submit("import", runner, owner=owner,
                                      params={"file": str(path), "symbol": symbol.upper()})
