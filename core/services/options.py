"""Options: the chain, contract ranking for a trade idea (with index mode through a proxy ETF),
scenario P/L and the index→proxy beta."""

from __future__ import annotations

import logging

from core.errors import DataError, FeedError, InputError, TradeCoachError
from core.feeds.manager import FeedManager
from core.feeds.replay import ReplayFeed
from core.options.chain import OptionChain
from core.options.contract_idea import ContractIdea, proxy_for, proxy_needed, same_session_problem
from core.options.index_proxy import ProxyFit, fit_proxy
from core.options.ranker import RankedContract, RankRequest, rank_contracts
from core.options.replay_chain import replay_chain
from core.options.scenarios import ContractQuote, ScenarioPlan, ScenarioResult, scenario_pnl
from core.runtime import KernelRuntime
from core.services.market import MarketService

log = logging.getLogger(__name__)


class OptionsService:
    def __init__(self, market: MarketService, feeds: FeedManager, replay: ReplayFeed, runtime: KernelRuntime) -> None:
        self._market, self._feeds, self._replay, self._rt = market, feeds, replay, runtime

    async def chain(self, symbol: str) -> OptionChain:
        """From the vendors (Polygon → Tradier → Yahoo) when keys are set, else on the replay feed a
        modelled chain labelled as such."""
        symbol = symbol.strip().upper()
        if self._feeds.vendor_mode:
            return await self._feeds.chain(symbol)
        last = await self._market.last_price(symbol)
        daily = await self._market.bars(symbol, "1D")
        now = self._market.clock.now()
        return await self._rt.run_cpu(replay_chain, symbol, last.price, daily, now)

    async def index_proxy(self, index: str, proxy: str | None = None) -> ProxyFit:
        """Rolling beta of the proxy ETF on the index (or index future) from 1-minute bars."""
        proxy = (proxy or proxy_for(index) or "").upper()
        if not proxy:
            raise InputError("symbol", f"{index} has no options proxy (SPX/NDX/RUT or ES/NQ/RTY futures)")
        if not self._feeds.vendor_mode:
            a, b = self._replay.window(index).live_real_day, self._replay.window(proxy).live_real_day
            common = sorted(set(self._replay.sessions(index)) & set(self._replay.sessions(proxy)))
            problem = same_session_problem(index, proxy, a, b, common)
            if problem:
                raise DataError(problem)
        idx = await self._market.bars(index, "1m", limit=600)
        prx = await self._market.bars(proxy, "1m", limit=600)
        return await self._rt.run_cpu(fit_proxy, index.upper(), idx.ts, idx.close, prx.ts, prx.close, proxy=proxy)

    async def rank(self, symbol: str, direction: str, style: str = "intraday", *,
                   plan_levels: tuple[float, float, tuple[float, ...]] | None = None,
                   via_proxy: bool | None = None, **overrides: float | int | None) -> ContractIdea:
        """Best 3 + alternatives + a rejection code per discarded contract for a trade idea; in index
        mode the proxy's contracts, with the plan's levels translated by the rolling beta."""
        symbol = symbol.strip().upper()
        request = RankRequest(direction=direction, style=style, now=self._market.clock.now(), **overrides)
        request.base_criteria()  # validate before any work
        error: FeedError | None = None
        if via_proxy is not True:
            try:
                chain = await self.chain(symbol)
            except FeedError as exc:
                error = exc
            else:
                result = await self._rt.run_cpu(rank_contracts, chain, request)
                return ContractIdea(symbol, symbol, result)
        if not proxy_needed(symbol, via_proxy, error):
            assert error is not None
            raise error
        fit = await self.index_proxy(symbol)
        chain = await self.chain(fit.proxy)
        result = await self._rt.run_cpu(rank_contracts, chain, request)
        levels = fit.translate_plan(*plan_levels) if plan_levels is not None else None
        reason = f"{symbol} chain unavailable: {error}" if error is not None else "requested"
        return ContractIdea(symbol, fit.proxy, result, fit, levels, reason)

    async def scenarios(self, idea: ContractIdea, direction: str, entry: float, stop: float,
                        targets: tuple[float, ...]) -> list[tuple[RankedContract, ScenarioResult]]:
        """P/L of each best contract at the stop and every target (full reprice), with the plan's
        levels translated to the proxy in index mode. The window's Contracts panel and
        /gpt/contracts both call this; a contract without IV or mid is left out (logged)."""
        if idea.levels is not None:
            entry = float(idea.levels.get("entry", entry))  # type: ignore[arg-type]
            stop = float(idea.levels.get("stop", stop))  # type: ignore[arg-type]
            targets = tuple(float(t) for t in idea.levels.get("targets", targets))  # type: ignore[union-attr]
        spot = (await self._market.last_price(idea.chain_symbol)).price
        plan = ScenarioPlan(direction=direction, entry=entry, stop=stop, targets=tuple(targets))
        plan.validate()  # bad plan geometry is the caller's error, not a contract's
        out: list[tuple[RankedContract, ScenarioResult]] = []
        for c in idea.result.best:
            quote = ContractQuote(strike=c.strike, is_call=c.right.upper().startswith("C"),
                                  years_to_expiry=max(c.dte, 0.25) / 365.0, iv=c.iv, mid=c.mid, spot=spot)
            try:
                out.append((c, scenario_pnl(plan, quote)))
            except TradeCoachError as exc:
                log.info("no scenario for %s (%s)", c.contract, exc)
        return out
