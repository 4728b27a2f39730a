"""The feed interface every data source implements (replay, Polygon, Yahoo, Tradier, Finnhub).

A feed answers `history` and produces a `stream` of bar updates; the feed manager pumps streams
into the bus as BarUpdated / BarClosed / Tick events, so consumers never talk to a feed directly.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from core.events import FeedStatus
from core.market.bars import Bar, Bars
from core.market.intervals import Interval


@dataclass(frozen=True, slots=True)
class BarUpdate:
    """One message of a live stream: the current state of a bar, final when `closed`."""

    symbol: str
    interval: Interval
    bar: Bar
    closed: bool
    tick_price: float | None = None  # the trade/price that caused the update, when known
    tick_size: float = 0.0


class Feed(ABC):
    """A source of bars. Implementations must be safe to call from the asyncio loop only."""

    name: str = "feed"

    async def start(self) -> None:  # noqa: B027 - optional hook
        """Open connections / load data. Called once by the manager."""

    async def stop(self) -> None:  # noqa: B027 - optional hook
        """Close connections and end all streams."""

    def set_subscribed(self, symbols: Sequence[str]) -> None:  # noqa: B027 - optional hook
        """The symbols the manager streams from this feed now (called on every change); a feed
        whose status describes its subscriptions (the replay) keeps them."""

    @abstractmethod
    def symbols(self) -> list[str]:
        """Symbols this feed can serve now (for a vendor: the watchlist it was asked about)."""

    @abstractmethod
    async def history(
        self, symbol: str, interval: Interval, *, start_ns: int | None = None,
        end_ns: int | None = None, limit: int | None = None,
    ) -> Bars:
        """Closed (and, at the end, the in-progress) bars in [start_ns, end_ns), newest last,
        at most `limit` of the newest. Raises FeedError when the source cannot answer."""

    @abstractmethod
    def stream(self, symbol: str, interval: Interval) -> AsyncIterator[BarUpdate]:
        """Live updates for (symbol, interval) until the consumer stops iterating."""

    @abstractmethod
    def status(self) -> FeedStatus:
        """Current state, shown to the user as is."""
