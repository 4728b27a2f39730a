"""Vendor ticker mapping. The workstation speaks the trader's symbols (SPY, SPX, ES, MNQ1!, ESZ25);
each vendor wants its own: Polygon `I:SPX` for indices and real contract tickers (`ESZ5`) for
futures (never the `C:` forex prefix), Yahoo `^GSPC` / `ES=F`, Tradier plain roots.

Continuous notation `ES1!` (TradingView) means the front month, `ES2!` the next one. The front
month is computed from the CME calendar rule for equity-index futures: quarterly H/M/U/Z
contracts expire on the third Friday, and volume rolls to the next one on the Thursday eight days
before expiry. For monthly contracts (CL, NG, ...) the rule is approximate (roll mid-month).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from core.errors import InputError
from core.market.calendar import futures_root

MONTH_CODES = "FGHJKMNQUVXZ"
QUARTERLY_ROOTS = frozenset({"ES", "MES", "NQ", "MNQ", "YM", "MYM", "RTY", "M2K", "6E", "6J",
                             "ZB", "ZN", "ZF", "ZT"})
INDICES = frozenset({"SPX", "NDX", "RUT", "DJI", "VIX", "XSP", "OEX", "COMP"})
_YAHOO_INDEX = {"SPX": "^GSPC", "NDX": "^NDX", "RUT": "^RUT", "DJI": "^DJI", "VIX": "^VIX",
                "XSP": "^XSP", "OEX": "^OEX", "COMP": "^IXIC"}
_YAHOO_INDEX_OPTIONS = {"SPX": "^SPX", "NDX": "^NDX", "RUT": "^RUT", "VIX": "^VIX", "XSP": "^XSP"}
_CONT_RE = re.compile(r"^/?([A-Z0-9]{1,4}?)([1-9])!$")
_CONTRACT_RE = re.compile(r"^/?([A-Z0-9]{1,4}?)([FGHJKMNQUVXZ])(\d{1,2})$")
_TICKER_RE = re.compile(r"^[A-Z0-9.\-^=:/!]{1,24}$")


class AssetClass(StrEnum):
    EQUITY = "equity"
    INDEX = "index"
    FUTURE = "future"
    OPTION = "option"


@dataclass(frozen=True, slots=True)
class FuturesContract:
    root: str
    month: int     # 1..12
    year: int      # four digits

    @property
    def code(self) -> str:
        return MONTH_CODES[self.month - 1]

    def ticker(self, year_digits: int = 1) -> str:
        return f"{self.root}{self.code}{self.year % (10 ** year_digits):0{year_digits}d}"


def clean(symbol: str) -> str:
    s = (symbol or "").strip().upper()
    if not s or not _TICKER_RE.match(s):
        raise InputError("symbol", f"{symbol!r} is not a ticker")
    return s


def asset_class(symbol: str) -> AssetClass:
    s = clean(symbol)
    if s.startswith("O:") or re.match(r"^[A-Z]{1,6}\d{6}[CP]\d{8}$", s):
        return AssetClass.OPTION
    if s.startswith("I:") or s.startswith("^") or s in INDICES:
        return AssetClass.INDEX
    if futures_root(s.split(":")[-1]) is not None:
        return AssetClass.FUTURE
    return AssetClass.EQUITY


def third_friday(year: int, month: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(4 - first.weekday()) % 7 + 14)


def _next_months(root: str) -> list[int]:
    return [3, 6, 9, 12] if root in QUARTERLY_ROOTS else list(range(1, 13))


def front_month(root: str, day: date, n: int = 1) -> FuturesContract:
    """The n-th nearest contract of `root` that is still the active one on `day` (n=1: front)."""
    if n < 1:
        raise InputError("symbol", "continuous contract number must be >= 1")
    months = _next_months(root)
    found: list[FuturesContract] = []
    y, m = day.year, day.month
    while len(found) < n:
        if m in months:
            if root in QUARTERLY_ROOTS:
                roll = third_friday(y, m) - timedelta(days=8)
            else:  # monthly energy/metal contracts stop trading in the month before delivery
                prev = date(y, m, 1) - timedelta(days=1)
                roll = date(prev.year, prev.month, 15)
            if day < roll:
                found.append(FuturesContract(root, m, y))
        m += 1
        if m > 12:
            y, m = y + 1, 1
    return found[-1]


def futures_contract(symbol: str, day: date) -> FuturesContract:
    """ES, /ES, ES1!, MNQ2!, ESZ25, ESZ5 -> the concrete contract."""
    s = clean(symbol).lstrip("/")
    m = _CONTRACT_RE.match(s)
    if m and futures_root(m.group(1)) == m.group(1):
        yy = int(m.group(3))
        decade = day.year - day.year % (10 if len(m.group(3)) == 1 else 100)
        year = decade + yy
        if year < day.year - 1:  # ESZ5 in 2029 means 2035, not 2025
            year += 10 if len(m.group(3)) == 1 else 100
        return FuturesContract(m.group(1), MONTH_CODES.index(m.group(2)) + 1, year)
    c = _CONT_RE.match(s)
    if c and futures_root(c.group(1)) == c.group(1):
        return front_month(c.group(1), day, int(c.group(2)))
    root = futures_root(s)
    if root == s:
        return front_month(root, day)
    raise InputError("symbol", f"{symbol!r} is not a futures symbol (use ES, ES1!, ESZ25)")


def polygon_ticker(symbol: str, day: date) -> str:
    """Polygon REST/WS ticker: I:SPX, ESZ5, O:SPY251219P00450000, SPY."""
    s = clean(symbol)
    ac = asset_class(s)
    if ac is AssetClass.INDEX:
        return s if s.startswith("I:") else "I:" + s.lstrip("^")
    if ac is AssetClass.FUTURE:
        return futures_contract(s, day).ticker(1)
    if ac is AssetClass.OPTION:
        return s if s.startswith("O:") else "O:" + s
    return s


def polygon_cluster(symbol: str) -> str:
    """The Polygon WebSocket cluster (URL path) that carries this symbol."""
    return {AssetClass.EQUITY: "stocks", AssetClass.INDEX: "indices", AssetClass.FUTURE: "futures",
            AssetClass.OPTION: "options"}[asset_class(symbol)]


def yahoo_ticker(symbol: str, day: date, *, options: bool = False) -> str:
    s = clean(symbol)
    ac = asset_class(s)
    if ac is AssetClass.INDEX:
        bare = s.split(":")[-1].lstrip("^")
        table = _YAHOO_INDEX_OPTIONS if options else _YAHOO_INDEX
        return table.get(bare, "^" + bare)
    if ac is AssetClass.FUTURE:
        bare = s.lstrip("/")
        if _CONT_RE.match(bare) or futures_root(bare) == bare:
            return f"{futures_root(bare)}=F"  # Yahoo's own continuous front month
        c = futures_contract(bare, day)
        return f"{c.root}{c.code}{c.year % 100:02d}.CME"
    return s


def tradier_symbol(symbol: str) -> str | None:
    """Tradier covers equities, ETFs, indices and their options; no futures."""
    s = clean(symbol)
    ac = asset_class(s)
    if ac is AssetClass.FUTURE:
        return None
    if ac is AssetClass.INDEX:
        return s.split(":")[-1].lstrip("^")
    return s.removeprefix("O:")
