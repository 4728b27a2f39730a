"""What the trader gets back when asking "which contract expresses this plan?": the ranking,
and — in index mode — the proxy it was executed through, with the plan's levels translated."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.market.calendar import futures_root
from core.options.index_proxy import PROXIES, ProxyFit
from core.options.ranker import RankResult

# Index futures trade like their cash index: their options proxy is the same ETF.
FUTURES_PROXIES = {"ES": "SPY", "MES": "SPY", "NQ": "QQQ", "MNQ": "QQQ", "RTY": "IWM", "M2K": "IWM"}


def proxy_for(symbol: str) -> str | None:
    """The ETF whose options stand in for an index or index future (SPX → SPY, MNQ1! → QQQ)."""
    sym = symbol.strip().upper()
    root = futures_root(sym)
    return PROXIES.get(sym) or (FUTURES_PROXIES.get(root) if root else None)


@dataclass(frozen=True)
class ContractIdea:
    symbol: str                      # what the trader asked about
    chain_symbol: str                # whose contracts were ranked
    result: RankResult
    proxy: ProxyFit | None = None    # set in index mode
    levels: dict[str, Any] | None = None   # the plan's levels translated to the proxy
    reason: str = ""                 # why index mode was used

    @property
    def index_mode(self) -> bool:
        return self.proxy is not None


def same_session_problem(index: str, proxy: str, index_day: object, proxy_day: object,
                         common_days: list[object]) -> str | None:
    """A beta needs both series from the same real session. On the replay feed each symbol may replay
    a different real day: say so, and which days both have, instead of fitting nonsense."""
    if index_day == proxy_day:
        return None
    hint = (f"replay both on one of {', '.join(map(str, common_days))} (Session box)" if common_days
            else "no bundled session has both")
    return (f"replay: {index.upper()} replays {index_day} and {proxy} replays {proxy_day}; a beta needs "
            f"the same real session — {hint}")


def proxy_needed(symbol: str, via_proxy: bool | None, chain_error: Exception | None) -> bool:
    """Index mode when asked for, or when the index's own chain failed and the symbol has a proxy.
    Asked *not* to (`via_proxy=False`), a chain error stands."""
    if via_proxy is True:
        return True
    if chain_error is None or via_proxy is False:
        return False
    return proxy_for(symbol) is not None
