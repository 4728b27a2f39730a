"""What a panel controller needs from the window: the kernel, a way to await kernel coroutines on the
kernel's loop, and a way to run a GUI coroutine whose failure reaches the trader."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar
from zoneinfo import ZoneInfo

from core.workstation import Workstation

T = TypeVar("T")
NY = ZoneInfo("America/New_York")


class PanelHost(Protocol):
    kernel: Workstation

    async def call(self, coro: Coroutine[Any, Any, T]) -> T: ...

    def _spawn(self, coro: Coroutine[Any, Any, object], what: str = "action") -> None: ...


def et_time(ts_ns: int | None, fmt: str = "%H:%M:%S") -> str:
    """A UTC-ns timestamp shown in exchange time (America/New_York)."""
    if not ts_ns:
        return "—"
    return datetime.fromtimestamp(ts_ns / 1e9, UTC).astimezone(NY).strftime(fmt)


def et_datetime(when: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if when is None:
        return "—"
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.astimezone(NY).strftime(fmt)


async def value(fn: Callable[[], T]) -> T:
    """Read a plain (non-async) kernel attribute on the kernel's thread: `await host.call(value(fn))`."""
    return fn()
