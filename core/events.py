"""Typed events carried by the bus. Each subsystem adds its own event dataclasses here or in its
package, always as subclasses of Event, never as strings."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from core.market.bars import Bar
from core.market.intervals import Interval


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every bus event."""


@dataclass(frozen=True, slots=True)
class BarUpdated(Event):
    """The in-progress bar of (symbol, interval) changed (intra-bar update)."""

    symbol: str
    interval: Interval
    bar: Bar
    source: str


@dataclass(frozen=True, slots=True)
class BarClosed(Event):
    """A bar of (symbol, interval) is final."""

    symbol: str
    interval: Interval
    bar: Bar
    source: str


@dataclass(frozen=True, slots=True)
class Tick(Event):
    """A trade price (or replayed intra-bar price) at ts (UTC ns)."""

    symbol: str
    ts: int
    price: float
    size: float
    source: str


class FeedState(StrEnum):
    CONNECTING = "connecting"
    LIVE = "live"          # real-time data from a vendor
    REPLAY = "replay"      # bundled real data replayed as if live
    PAUSED = "paused"      # replay paused by the user
    DEGRADED = "degraded"  # data late or from a fallback source
    FINISHED = "finished"  # replay reached the end of its data
    STOPPED = "stopped"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class FeedStatus:
    """What a feed says about itself; `detail` is shown verbatim in the status bar and API."""

    source: str
    state: FeedState
    detail: str
    replayed: bool = False
    data_age_s: float | None = None
    speed: float = 1.0
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FeedHealthChanged(Event):
    capability: str  # "bars", "live", "chains", "enrichment"
    status: FeedStatus


@dataclass(frozen=True, slots=True)
class JobProgress(Event):
    """Progress of a long job (training, evaluation, collection): see core.jobs for the life cycle.
    `status` is queued/running/succeeded/failed/cancelled; `done` is true for the last three."""

    job_id: str
    kind: str
    fraction: float
    message: str
    done: bool = False
    error: str | None = None
    status: str = "running"


@dataclass(frozen=True, slots=True)
class SeriesReset(Event):
    """The history of (symbol, interval) changed as a whole (replay jump, vendor backfill):
    consumers reload it with `history()` instead of applying updates."""

    symbol: str
    interval: Interval
    reason: str
