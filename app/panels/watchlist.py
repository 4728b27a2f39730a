"""Watchlist controller: named lists in the watchlists table, prices and change from the market
service, session phase and best setup state from the scanner's report."""

from __future__ import annotations

import logging
from collections.abc import Callable

from app.panels.host import PanelHost
from core.errors import TradeCoachError
from core.scanner.setups import ScanReport
from core.services.market import MarketService
from core.store.watchlists import WatchlistsRepo
from widgets.panels.watchlist import WatchlistPanel, WatchRow

log = logging.getLogger(__name__)

DEFAULT_LIST = "Default"
STATE_RANK = {"triggered": 0, "armed": 1, "forming": 2}


async def quotes(market: MarketService, symbols: list[str]) -> dict[str, tuple[float, float | None]]:
    """Last price and change % against the previous daily close, per symbol (kernel loop)."""
    out: dict[str, tuple[float, float | None]] = {}
    for sym in symbols:
        try:
            last = await market.last_price(sym)
            daily = await market.bars(sym, "1D", limit=2)
        except TradeCoachError as exc:
            log.info("watchlist: no quote for %s (%s)", sym, exc)
            continue
        prev = float(daily.close[-2]) if len(daily) >= 2 else None
        out[sym] = (last.price, (last.price / prev - 1.0) * 100.0 if prev else None)
    return out


class WatchlistController:
    def __init__(self, host: PanelHost, panel: WatchlistPanel, on_symbols: Callable[[list[str]], None],
                 on_activate: Callable[[str], None]) -> None:
        self._host, self._panel = host, panel
        self._on_symbols, self._on_activate = on_symbols, on_activate
        self.name = DEFAULT_LIST
        self.symbols: list[str] = []
        self._quotes: dict[str, tuple[float, float | None]] = {}
        self._phase: dict[str, str] = {}
        self._best: dict[str, str] = {}
        panel.list_selected.connect(lambda n: host._spawn(self.select(n), "watchlist"))
        panel.list_created.connect(lambda n: host._spawn(self.create(n), "watchlist"))
        panel.symbol_added.connect(lambda s: host._spawn(self._edit([*self.symbols, s]), "watchlist"))
        panel.symbol_removed.connect(lambda s: host._spawn(self._edit([x for x in self.symbols if x != s]),
                                                           "watchlist"))
        panel.symbol_moved.connect(lambda s, step: host._spawn(self._edit(_moved(self.symbols, s, step)),
                                                               "watchlist"))
        panel.symbol_activated.connect(on_activate)

    def _repo(self) -> WatchlistsRepo:
        store = self._host.kernel.store
        if store is None:
            from core.errors import InputError

            raise InputError("store", "the database is not open")
        return WatchlistsRepo(store)

    async def load(self, remembered: str | None = None) -> None:
        """Lists from the store; on first run a Default list of the configured symbols."""
        repo, rt = self._repo(), self._host.kernel.runtime
        names = await self._host.call(rt.run_io(repo.names))
        if not names:
            await self._host.call(rt.run_io(repo.save, DEFAULT_LIST, self._host.kernel.settings.symbols))
            names = [DEFAULT_LIST]
        await self.select(remembered if remembered in names else names[0], names)

    async def select(self, name: str, names: list[str] | None = None) -> None:
        repo, rt = self._repo(), self._host.kernel.runtime
        names = names or await self._host.call(rt.run_io(repo.names))
        symbols = await self._host.call(rt.run_io(repo.get, name)) or []
        self.name, self.symbols = name, symbols  # together: an edit never mixes two lists
        self._panel.set_lists(names, name)
        self._render()
        self._on_symbols(list(self.symbols))
        await self.refresh_quotes()

    async def create(self, name: str) -> None:
        repo, rt = self._repo(), self._host.kernel.runtime
        await self._host.call(rt.run_io(repo.save, name, []))
        await self.select(name)

    async def _edit(self, symbols: list[str]) -> None:
        repo, rt = self._repo(), self._host.kernel.runtime
        self.symbols = await self._host.call(rt.run_io(repo.save, self.name, symbols))
        self._render()
        self._on_symbols(list(self.symbols))
        await self.refresh_quotes()

    async def refresh_quotes(self) -> None:
        self._quotes = await self._host.call(quotes(self._host.kernel.market, list(self.symbols)))
        self._render()

    def on_report(self, report: ScanReport) -> None:
        self._phase = {r.symbol: r.session_phase for r in report.symbols}
        best: dict[str, str] = {}
        for c in report.candidates:
            label = f"{c.state.value} {c.playbook}"
            old = best.get(c.symbol)
            if old is None or STATE_RANK.get(c.state.value, 9) < STATE_RANK.get(old.split(" ")[0], 9):
                best[c.symbol] = label
        self._best = best
        self._render()

    def _render(self) -> None:
        self._panel.set_rows([WatchRow(s, *(self._quotes.get(s) or (None, None)), self._phase.get(s, ""),
                                       self._best.get(s, "")) for s in self.symbols])


def _moved(symbols: list[str], symbol: str, step: int) -> list[str]:
    out = list(symbols)
    i = out.index(symbol)
    j = min(max(i + step, 0), len(out) - 1)
    out[i], out[j] = out[j], out[i]
    return out
