"""Typed async publish/subscribe on the asyncio loop.

Each subscriber has its own bounded queue and consumer task, so a slow consumer (the chart at
60 fps, a disk writer) never stalls the feed or other subscribers. When a queue is full the
oldest event is dropped and counted: live market data values freshness over completeness, and
consumers that need every bar (storage) subscribe with a large bound and read history to heal.
`publish` is safe from any thread.

Every delivered event is stamped on the kernel loop with a bus-wide, strictly increasing sequence
number and the kernel clock's time (`Envelope`). A subscriber may take several event types in
one ordered stream, and one that asks for envelopes learns how many of its events were dropped
before each delivery (`missed`) — what a WebSocket client needs to detect a gap and resync.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from core.events import Event

log = logging.getLogger(__name__)

E = TypeVar("E", bound=Event)
Handler = Callable[[Any], Awaitable[None] | None]
EventTypes = type[Event] | tuple[type[Event], ...]


@dataclass(frozen=True, slots=True)
class Envelope:
    """An event as the bus delivered it: `seq` strictly increases across the whole bus, `ts_ns` is
    the kernel clock at publish time, `missed` counts this subscriber's events dropped just before."""

    seq: int
    ts_ns: int
    event: Event
    missed: int = 0


@dataclass(eq=False)
class Subscription:
    event_type: EventTypes
    handler: Handler
    name: str
    maxsize: int
    envelope: bool = False
    queue: asyncio.Queue[Envelope] | None = None
    task: asyncio.Task[None] | None = None
    delivered: int = 0
    dropped: int = 0
    errors: int = 0
    _missed: int = 0  # dropped since the last delivery
    _bus: Bus | None = field(default=None, repr=False)

    def cancel(self) -> None:
        bus = self._bus
        if bus is not None:
            bus.unsubscribe(self)


class Bus:
    """One bus per kernel. Events are delivered in publish order to each subscriber."""

    def __init__(self, default_maxsize: int = 10_000, clock_ns: Callable[[], int] | None = None) -> None:
        self._subs: list[Subscription] = []
        self._seq = 0
        self._clock_ns: Callable[[], int] = clock_ns or time.time_ns
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_thread: int | None = None
        self._default_maxsize = default_maxsize
        self._closed = False

    # -- lifecycle ---------------------------------------------------------------------------
    def set_clock(self, clock_ns: Callable[[], int]) -> None:
        """Stamp events with this clock (the kernel's replay or live clock)."""
        self._clock_ns = clock_ns

    @property
    def last_seq(self) -> int:
        return self._seq

    def bind(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Attach to the loop that will run consumers (the running loop by default)."""
        self._loop = loop or asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        for sub in self._subs:
            self._start(sub)

    async def close(self) -> None:
        self._closed = True
        tasks = [s.task for s in self._subs if s.task is not None]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._subs.clear()

    # -- subscription ------------------------------------------------------------------------
    def subscribe(
        self, event_type: type[E] | tuple[type[Event], ...], handler: Callable[[Any], Awaitable[None] | None], *,
        name: str | None = None, maxsize: int | None = None, envelope: bool = False,
    ) -> Subscription:
        """Deliver events of `event_type` (a class or a tuple of classes, one ordered stream) to
        `handler`; with `envelope=True` the handler receives `Envelope`s instead of bare events."""
        sub = Subscription(
            event_type=event_type, handler=handler,
            name=name or getattr(handler, "__qualname__", repr(handler)),
            maxsize=maxsize or self._default_maxsize, envelope=envelope, _bus=self,
        )
        if self._loop is not None and threading.get_ident() != self._loop_thread:
            # From another thread (the GUI): join on the bus's own loop, never mutate from here.
            self._loop.call_soon_threadsafe(self._add, sub)
            return sub
        self._subs.append(sub)
        if self._loop is None:
            try:
                self.bind()
            except RuntimeError:
                return sub  # started by bind() once a loop runs
        else:
            self._start(sub)
        return sub

    def _add(self, sub: Subscription) -> None:
        if not self._closed and sub._bus is self:
            self._subs.append(sub)
            self._start(sub)

    def unsubscribe(self, sub: Subscription) -> None:
        if self._loop is not None and threading.get_ident() != self._loop_thread and not self._loop.is_closed():
            sub._bus = None  # a pending _add of this subscription becomes a no-op
            self._loop.call_soon_threadsafe(self._remove, sub)
            return
        self._remove(sub)

    def _remove(self, sub: Subscription) -> None:
        sub._bus = None
        if sub in self._subs:
            self._subs.remove(sub)
        if sub.task is not None:
            sub.task.cancel()

    def _start(self, sub: Subscription) -> None:
        if sub.task is not None or self._loop is None:
            return
        sub.queue = asyncio.Queue(maxsize=sub.maxsize)
        sub.task = self._loop.create_task(self._consume(sub), name=f"bus:{sub.name}")

    # -- publishing --------------------------------------------------------------------------
    def publish(self, event: Event) -> None:
        if self._closed:
            return
        if self._loop is None:
            raise RuntimeError("Bus.publish before bind(): no event loop to deliver on")
        if threading.get_ident() == self._loop_thread:
            self._deliver(event)
        else:
            self._loop.call_soon_threadsafe(self._deliver, event)

    def _deliver(self, event: Event) -> None:
        self._seq += 1
        env = Envelope(self._seq, self._clock_ns(), event)
        for sub in self._subs:
            if sub.queue is None or not isinstance(event, sub.event_type):
                continue
            if sub.queue.full():
                sub.queue.get_nowait()
                sub.queue.task_done()
                sub.dropped += 1
                sub._missed += 1
                if sub.dropped in (1, 10, 100) or sub.dropped % 1000 == 0:
                    log.warning("bus: subscriber %s is slow, %d events dropped", sub.name, sub.dropped)
            sub.queue.put_nowait(env)

    async def _consume(self, sub: Subscription) -> None:
        assert sub.queue is not None
        while True:
            env = await sub.queue.get()
            try:
                if sub.envelope:
                    missed, sub._missed = sub._missed, 0
                    result = sub.handler(Envelope(env.seq, env.ts_ns, env.event, missed))
                else:
                    result = sub.handler(env.event)
                if inspect.isawaitable(result):
                    await result
                sub.delivered += 1
            except asyncio.CancelledError:
                raise
            except Exception:
                sub.errors += 1
                log.exception("bus: handler %s failed on %s", sub.name, type(env.event).__name__)
            finally:
                sub.queue.task_done()

    async def drain(self) -> None:
        """Wait until every subscriber has handled everything published so far (tests, shutdown)."""
        await asyncio.sleep(0)
        for sub in list(self._subs):
            if sub.queue is not None:
                await sub.queue.join()

    def stats(self) -> dict[str, dict[str, int]]:
        return {s.name: {"delivered": s.delivered, "dropped": s.dropped, "errors": s.errors,
                         "queued": s.queue.qsize() if s.queue else 0} for s in self._subs}
