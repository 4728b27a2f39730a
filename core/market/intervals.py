"""Bar intervals: the canonical set and the aliases the seed backends and GPT actions use."""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import InputError

NS_PER_SECOND = 1_000_000_000


@dataclass(frozen=True, slots=True)
class Interval:
    """A bar interval. Intraday intervals are anchored at the session open; 1D is one bar per session."""

    name: str
    seconds: int

    @property
    def ns(self) -> int:
        return self.seconds * NS_PER_SECOND

    @property
    def minutes(self) -> int:
        return self.seconds // 60

    @property
    def is_daily(self) -> bool:
        return self.seconds >= 86_400

    def __str__(self) -> str:
        return self.name


M1 = Interval("1m", 60)
M5 = Interval("5m", 300)
M15 = Interval("15m", 900)
M30 = Interval("30m", 1800)
H1 = Interval("1h", 3600)
H4 = Interval("4h", 14_400)
D1 = Interval("1D", 86_400)

ALL: tuple[Interval, ...] = (M1, M5, M15, M30, H1, H4, D1)

_ALIASES: dict[str, Interval] = {}
for _iv in ALL:
    _ALIASES[_iv.name.lower()] = _iv
    _ALIASES[str(_iv.minutes)] = _iv  # the seed's numeric minutes: 1, 5, 15, 60, 240, 1440
    if not _iv.is_daily:
        _ALIASES[f"{_iv.minutes}min"] = _iv
        _ALIASES[f"{_iv.minutes}m"] = _iv
_ALIASES.update(
    {
        "1hr": H1, "h": H1, "1h": H1, "60m": H1, "60min": H1, "hour": H1,
        "4hr": H4, "240m": H4,
        "d": D1, "1d": D1, "day": D1, "daily": D1, "1day": D1,
    }
)


def parse_interval(value: str | int | Interval, field: str = "interval") -> Interval:
    """Return the Interval for a name or alias; raise InputError naming the field otherwise."""
    if isinstance(value, Interval):
        return value
    key = str(value).strip().lower()
    try:
        return _ALIASES[key]
    except KeyError:
        allowed = ", ".join(iv.name for iv in ALL)
        raise InputError(field, f"unknown interval {value!r}; use one of {allowed}") from None
